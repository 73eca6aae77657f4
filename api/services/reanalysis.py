"""Re-analysis of a stored call: the rules, classification and scoring run again on the stored
transcript (no speech recognition) with the current scoring form and classifier.

Human work is kept where it still applies: a finding whose rule status did not change keeps
its review decision and appeals; a finding whose status changed starts over as ``pending``
(its old review and appeal go with it — the audit entry lists them). A supervisor's call-type
correction stands and is what the rules see. The call is re-scored, the agent's month
recomputed; a closed month cannot be re-analysed.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services.audit import audit
from api.services.calls import get_call
from api.services.errors import Conflict, Forbidden
from api.services.review import MONTH_CLOSED, _month_closed
from models import Call, Classification, ScoringForm, User
from qa.settings import Settings

log = logging.getLogger("hotline_qa.api.reanalysis")


def stored_transcript(call: Call) -> dict[str, Any] | None:
    """The call's transcript document (RULES.md): the one in the stored report, else rebuilt
    from the utterance rows; ``None`` when the call has none."""
    tr = (call.report or {}).get("transcript")
    if isinstance(tr, dict) and tr.get("utterances") is not None:
        return dict(tr, call_id=call.id)
    if not call.utterances:
        return None
    return {"call_id": call.id, "duration": call.duration, "metadata": call.meta or {},
            "utterances": [{"speaker": u.speaker, "start": u.start, "end": u.end,
                            "text": u.text, "words": u.words or None,
                            "confidence": u.confidence, "level_dbfs": u.level_dbfs}
                           for u in call.utterances]}


def _current_form(db: Session) -> Any:
    """The active scoring form in the database, else ``None`` (the shipped default)."""
    row = db.scalar(select(ScoringForm).where(ScoringForm.active.is_(True))
                    .order_by(ScoringForm.id.desc()).limit(1))
    if row is None:
        return None
    from qa.assessment_store import form_from_text
    return form_from_text(row.yaml_text)


def _correction(db: Session, call: Call):
    """The supervisor's latest type correction as a classifier result, else ``None``."""
    c = db.scalar(select(Classification).where(Classification.call_id == call.id,
                                               Classification.kind == "correction")
                  .order_by(Classification.id.desc()).limit(1))
    if c is None:
        return None
    from classifiers.records import Classification as Decision
    return Decision(c.call_type, 1.0, c.complaint_type, 1.0 if c.complaint_type else None)


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
    if user.role not in ("supervisor", "admin"):
        raise Forbidden("只有质检主管可以重新分析 / supervisors only")
    if call.status != "done":
        raise Conflict("通话尚未分析完成，不能重新分析 / the call has not been analysed yet")
    if _month_closed(db, call, settings):
        raise Conflict(MONTH_CLOSED)
    transcript = stored_transcript(call)
    if transcript is None:
        raise Conflict("该通话没有保存的转写文本，不能重新分析 / no stored transcript")

    from qa.engine import analyze
    from qa.worker import store_report

    t0 = time.perf_counter()
    before = {f.code: (f.status, f.review_state, len(f.appeals)) for f in call.findings}
    score_before = call.score
    correction = _correction(db, call)
    report = analyze(transcript, form=_current_form(db), classification=correction)
    if correction is not None:
        report.extra["classification_source"] = "correction"
    seconds = round(time.perf_counter() - t0, 3)
    store_report(db, call, report, dict(call.timings or {}, reanalyze=seconds),
                 keep_reviews=True, settings=settings)
    after = {f.code: f.status for f in report.rules}
    changed = sorted(c for c, st in after.items() if before.get(c, (None,))[0] != st)
    kept = sorted(c for c, (st, state, appeals) in before.items()
                  if after.get(c) == st and (state != "pending" or appeals))
    dropped = {c: {"status": before[c][0], "review_state": before[c][1],
                   "appeals": before[c][2]} for c in changed
               if c in before and (before[c][1] != "pending" or before[c][2])}
    new_score = call.score  # store_report re-scored it after the kept reviews and appeals
    audit(db, user, "call.reanalyze", "call", call.id,
          {"score_before": score_before, "score": new_score,
           "changed": {c: [before.get(c, (None,))[0], after[c]] for c in changed},
           "kept_reviews": kept, "dropped_reviews": dropped}, ip)
    db.flush()
    log.info("call %s re-analysed by %s: %s -> %s, changed %s", call.id, user.username,
             score_before, new_score, changed)
    return {"call_id": call.id, "score_before": score_before, "score": new_score,
            "red_line": bool(call.red_line), "changed": changed, "kept_reviews": kept,
            "seconds": seconds}
