"""The supervisors' re-analyse button: permission and month checks, then
:func:`qa.results.reanalyze_call` (rules, classification and scoring again on the stored
transcript, reviews kept where the status did not change, a type correction honoured), and the
audit entry listing what changed and which reviews went with it.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from api.security import is_supervisor
from api.services.audit import audit
from api.services.calls import get_call
from api.services.errors import Conflict, Forbidden
from api.services.review import MONTH_CLOSED, _month_closed
from models import User
from qa.results import reanalyze_call
from qa.settings import Settings

log = logging.getLogger("hotline_qa.api.reanalysis")


def reanalyze(db: Session, user: User, call_id: str, settings: Settings,
              ip: str | None = None) -> dict[str, Any]:
    """Re-run rules + classification + scoring on a stored call (supervisors and admins).

    Returns a summary: ``score_before``/``score``, ``changed`` (codes whose status changed),
    ``kept_reviews`` (codes whose review/appeal was kept), ``seconds``.

    Raises:
        NotFound: the call is not visible to ``user`` (an agent's guess at another's call).
        Forbidden: an agent asks for their own call.
        Conflict: the call has no result or transcript yet, or its month is closed.
    """
    call = get_call(db, user, call_id)
    if not is_supervisor(user):
        raise Forbidden("只有质检主管可以重新分析 / supervisors only")
    if call.status != "done":
        raise Conflict("通话尚未分析完成，不能重新分析 / the call has not been analysed yet")
    if _month_closed(db, call, settings):
        raise Conflict(MONTH_CLOSED)
    result = reanalyze_call(db, call, settings)
    if result is None:
        raise Conflict("该通话没有保存的转写文本，不能重新分析 / no stored transcript")
    audit(db, user, "call.reanalyze", "call", call.id,
          {"score_before": result.score_before, "score": result.score,
           "changed": result.changed, "kept_reviews": result.kept_reviews,
           "dropped_reviews": result.dropped_reviews}, ip)
    db.flush()
    log.info("call %s re-analysed by %s: %s -> %s, changed %s", call.id, user.username,
             result.score_before, result.score, sorted(result.changed))
    return {"call_id": call.id, "score_before": result.score_before, "score": result.score,
            "red_line": bool(call.red_line), "changed": sorted(result.changed),
            "kept_reviews": result.kept_reviews, "seconds": result.seconds}
