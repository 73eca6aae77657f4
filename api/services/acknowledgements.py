"""Agents sign their feedback (签收): an agent acknowledges a scored call of their own,
optionally with a comment, separately from appealing; supervisors see who has not."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services.audit import audit
from api.services.calls import get_call
from api.services.errors import Conflict, Forbidden
from models import Acknowledgement, User
from qa import assessment_store as store
from qa.settings import Settings


def public(a: Acknowledgement, names: dict[int, str] | None = None) -> dict[str, Any]:
    return {"id": a.id, "call_id": a.call_id, "agent_id": a.agent_id, "comment": a.comment,
            "at": a.at, "user": (names or {}).get(a.user_id)}


def acknowledge(db: Session, user: User, call_id: str, comment: str | None,
                ip: str | None) -> Acknowledgement:
    """Record ``user``'s signature under their call ``call_id``.

    Raises:
        Forbidden: not an agent; NotFound: not their call; Conflict: not scored yet, or
        signed already.
    """
    if user.role != "agent":
        raise Forbidden("只有客服本人可以签收自己的通话 / only the agent signs their own call")
    call = get_call(db, user, call_id)
    if call.status != "done" or call.score is None:
        raise Conflict("这通电话还没有质检结果，不能签收 / the call has no result yet")
    if db.scalar(select(Acknowledgement).where(Acknowledgement.call_id == call.id,
                                               Acknowledgement.user_id == user.id)):
        raise Conflict("已签收过这通电话 / already acknowledged")
    ack = Acknowledgement(call_id=call.id, user_id=user.id, agent_id=call.agent_id,
                          comment=(comment or "").strip() or None)
    db.add(ack)
    db.flush()
    audit(db, user, "call.acknowledge", "call", call.id, {"comment": ack.comment}, ip)
    return ack


def of_call(db: Session, call_id: str) -> list[dict[str, Any]]:
    rows = list(db.scalars(select(Acknowledgement).where(Acknowledgement.call_id == call_id)
                           .order_by(Acknowledgement.at)))
    names = {u.id: u.display_name or u.username for u in db.scalars(
        select(User).where(User.id.in_({a.user_id for a in rows})))} if rows else {}
    return [public(a, names) for a in rows]


def month_status(db: Session, settings: Settings, month: str) -> list[dict[str, Any]]:
    """Per agent, the month's scored calls, how many are acknowledged, the rest's ids."""
    return store.acknowledgements(db, month, settings)
