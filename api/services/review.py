"""Human decisions on the machine's work: supervisor review of findings, corrections of the call
and complaint type (kept as training examples), complaint follow-up, and agents' appeals.

Every change is audited, re-scores the call (``Score`` row with the reason) and recomputes the
agent's month. Nothing changes in a closed (frozen) month.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services.audit import audit
from api.services.calls import get_call, get_finding
from api.services.errors import Conflict, Forbidden, Invalid, NotFound
from models import Appeal, Call, Classification, Finding, Review, User
from qa.assessment_store import (appeal_deadline_for, is_closed, local_tz, recompute_for_call,
                                 local_month, rescore)
from qa.settings import Settings

MONTH_CLOSED = "该月考核已关账，不能再更改 / the month is closed"


def _month_closed(db: Session, call: Call, settings: Settings) -> bool:
    if not call.started_at or not call.agent_id:
        return False
    return is_closed(db, call.agent_id, local_month(call.started_at, local_tz(settings)))


def review_finding(db: Session, user: User, finding_id: int, decision: str,
                   comment: str | None, settings: Settings, ip: str | None = None) -> Finding:
    """Uphold or overturn a fail (supervisors). Raises NotFound / Conflict / Invalid."""
    if decision not in ("uphold", "overturn"):
        raise Invalid("复核结论只能是 uphold（维持）或 overturn（推翻）")
    f = get_finding(db, user, finding_id)
    if f.status != "fail":
        raise Conflict("只能复核判为不合格的质检项 / only fails can be reviewed")
    call = f.call
    if _month_closed(db, call, settings):
        raise Conflict(MONTH_CLOSED)
    if any(a.state != "open" for a in f.appeals):
        raise Conflict("该项申诉已有最终结果，不能再复核 / appeal already decided (final)")
    state = "upheld" if decision == "uphold" else "overturned"
    before = f.review_state
    f.review_state, f.reviewed_by = state, user.id
    f.reviewed_at, f.review_comment = datetime.now(timezone.utc), comment
    db.add(Review(call_id=call.id, finding_id=f.id, reviewer_id=user.id, decision=state,
                  comment=comment))
    audit(db, user, f"finding.{decision}", "finding", f.id,
          {"call_id": call.id, "code": f.code, "before": before, "after": state,
           "comment": comment}, ip)
    rescore(db, call, settings, f"review:{f.code}:{state}")
    return f


def comment_call(db: Session, user: User, call_id: str, comment: str, settings: Settings,
                 ip: str | None = None) -> Review:
    """A supervisor's note on a call (e.g. a sampled pass checked and found fine)."""
    call = get_call(db, user, call_id)
    r = Review(call_id=call.id, reviewer_id=user.id, decision="comment", comment=comment)
    db.add(r)
    audit(db, user, "call.comment", "call", call.id, {"comment": comment}, ip)
    db.flush()
    return r


def correct_classification(db: Session, user: User, call_id: str, call_type: str,
                           complaint_type: str | None, comment: str | None, settings: Settings,
                           ip: str | None = None) -> Classification:
    """Correct the call type / complaint type: stored as a ``correction`` classification that
    the classifiers use as a training example; the call shows the corrected types."""
    call = get_call(db, user, call_id)
    if call.status != "done":
        raise Conflict("通话尚未分析完成 / the call has not been analysed yet")
    if call_type != "complaint":
        complaint_type = None
    before = {"call_type": call.call_type, "complaint_type": call.complaint_type}
    c = Classification(call_id=call.id, kind="correction", call_type=call_type,
                       call_type_confidence=1.0, complaint_type=complaint_type,
                       complaint_confidence=1.0 if complaint_type else None,
                       source="supervisor", use_for_training=True, created_by=user.id,
                       comment=comment)
    db.add(c)
    call.call_type, call.complaint_type = call_type, complaint_type
    call.call_type_confidence = 1.0
    call.complaint_confidence = 1.0 if complaint_type else None
    if call_type == "complaint" and not call.follow_up_status:
        call.follow_up_status = "open"
    audit(db, user, "call.classification", "call", call.id,
          {"before": before, "after": {"call_type": call_type,
                                       "complaint_type": complaint_type}, "comment": comment}, ip)
    db.flush()
    return c


def update_follow_up(db: Session, user: User, call_id: str, changes: dict[str, Any],
                     settings: Settings, ip: str | None = None) -> Call:
    """Set a complaint's follow-up status (open / in progress / resolved) and correct its
    scenario or estate."""
    call = get_call(db, user, call_id)
    fields = {k: v for k, v in changes.items()
              if k in ("follow_up_status", "scenario", "estate") and v is not None}
    if not fields:
        raise Invalid("没有要修改的内容 / nothing to change")
    before = {k: getattr(call, k) for k in fields}
    for k, v in fields.items():
        setattr(call, k, v or None)
    from qa.cases import case_of_call, set_state
    case = case_of_call(db, call.id) if fields.get("follow_up_status") else None
    if case is not None and case.call_id == call.id and case.state != fields["follow_up_status"]:
        set_state(db, case, fields["follow_up_status"], settings)  # the case follows
    audit(db, user, "call.follow_up", "call", call.id,
          {"before": before, "after": fields, "comment": changes.get("comment")}, ip)
    db.flush()
    return call


# --- appeals --------------------------------------------------------------------------------------

def file_appeal(db: Session, user: User, finding_id: int, reason: str, settings: Settings,
                ip: str | None = None) -> Appeal:
    """An agent appeals a fail of their own call, within the window and before month close."""
    if user.role != "agent":
        raise Forbidden("只有客服人员本人可以申诉 / only the agent can appeal")
    f = get_finding(db, user, finding_id)
    call = f.call
    if f.status != "fail":
        raise Conflict("只能对判为不合格的质检项申诉 / only fails can be appealed")
    if f.review_state == "overturned":
        raise Conflict("该项已被推翻，无需申诉 / already overturned")
    if f.appeals:
        raise Conflict("该项已申诉过，每项只能申诉一次 / already appealed (once per finding)")
    if _month_closed(db, call, settings):
        raise Conflict("该月考核已关账，不能再申诉 / the month is closed")
    deadline = appeal_deadline_for(db, call, settings)
    if deadline is None:
        raise Conflict("结果尚未发布，暂不能申诉 / no result yet")
    if datetime.now(timezone.utc) > deadline:
        raise Conflict(f"申诉期已过（结果发布后 {settings.appeal_window_days:g} 天内可申诉）/ "
                       "appeal window closed")
    a = Appeal(finding_id=f.id, call_id=call.id, agent_id=call.agent_id, filed_by=user.id,
               reason=reason.strip(), state="open")
    db.add(a)
    audit(db, user, "appeal.file", "finding", f.id, {"call_id": call.id, "code": f.code,
                                                     "reason": reason}, ip)
    db.flush()
    recompute_for_call(db, call, settings)
    return a


def visible_appeal(db: Session, user: User, appeal_id: int) -> Appeal:
    a = db.get(Appeal, appeal_id)
    if a is None or (user.role == "agent" and (not user.agent_id or a.agent_id != user.agent_id)):
        raise NotFound("申诉不存在或无权查看 / appeal not found")
    return a


def list_appeals(db: Session, user: User, state: str | None = None, limit: int = 200
                 ) -> list[Appeal]:
    q = select(Appeal).order_by(Appeal.created_at.desc(), Appeal.id.desc()).limit(limit)
    if state:
        q = q.where(Appeal.state == state)
    if user.role == "agent":
        q = q.where(Appeal.agent_id == user.agent_id) if user.agent_id else q.where(False)
    return list(db.scalars(q))


def decide_appeal(db: Session, user: User, appeal_id: int, decision: str, reply: str,
                  settings: Settings, ip: str | None = None) -> Appeal:
    """A supervisor accepts (the finding is overturned) or rejects (it is confirmed) an
    appeal, with a reply. Final: a decided appeal cannot be decided again."""
    if decision not in ("accept", "reject"):
        raise Invalid("申诉处理只能是 accept（成立）或 reject（驳回）")
    a = visible_appeal(db, user, appeal_id)
    if a.state != "open":
        raise Conflict("该申诉已处理，结果为最终结果 / appeal already decided (final)")
    f = a.finding
    call = f.call
    if _month_closed(db, call, settings):
        raise Conflict(MONTH_CLOSED)
    now = datetime.now(timezone.utc)
    a.state = "accepted" if decision == "accept" else "rejected"
    a.reply, a.decided_by, a.decided_at = reply, user.id, now
    state = "overturned" if decision == "accept" else "upheld"
    f.review_state, f.reviewed_by, f.reviewed_at = state, user.id, now
    f.review_comment = f"申诉{'成立' if decision == 'accept' else '驳回'}：{reply}"
    db.add(Review(call_id=call.id, finding_id=f.id, reviewer_id=user.id, decision=state,
                  comment=f.review_comment))
    audit(db, user, f"appeal.{decision}", "appeal", a.id,
          {"call_id": call.id, "finding_id": f.id, "code": f.code, "reply": reply}, ip)
    rescore(db, call, settings, f"appeal:{f.code}:{a.state}")
    return a
