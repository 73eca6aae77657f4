"""Complaint and repair cases, followed up with the standards' deadlines.

A complaint or repair call opens a case (:func:`on_call_stored`, in the transaction that
stores the call's results). Deadlines (working days from :mod:`qa.workcal`):

* complaints: the responsible department answers within 3 working days (3.4.2.2); complaints
  of other kinds are closed within a week (3.4.5);
* repairs: a site survey within 1 working day; the repair within 3 working days for one trade,
  7 for several (3.4.5);
* once resolved, the customer is called back within 1 working day (3.5.4).

A later call from the same caller number, or about the same room, while the case is open,
attaches to it. What the agent promised (明天上午给您回电, 三个工作日内) becomes a dated
promise; a promise is *kept* when a call-back is recorded (an outbound call attached to the
case, or 已回访 marked by a supervisor) before it is due, and *broken* when its time passes
without one (the standards' 言而无信). Overdue and broken are read from the times, never
stored, so they are right whenever they are looked at.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Any, Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Call, Case, CaseCall, CasePromise, Holiday, Utterance
from qa import assessment_store as store
from qa.numbers import address_parts, cn_to_int
from qa.settings import Settings
from qa.workcal import Calendar, end_of_day

__all__ = ["CASE_KINDS", "Promise", "calendar", "case_view", "deadlines", "on_call_stored",
           "promises_in", "room_of", "trade_of"]

CASE_KINDS = ("complaint", "repair")
ATTACH_DAYS = 30
SAME_PROMISE = timedelta(hours=3)  # promises of one call this close are one (a read-back)
CALLBACK_DIRECTIONS = {"outbound", "callback", "out", "呼出", "回访"}
DEADLINE_NAMES = {"reply": "部门答复", "survey": "上门查看", "fix": "维修完成", "close": "处理完毕",
                  "callback": "回访客户"}

# trades a repair may need (a repair naming two or more is multi-trade: 7 working days)
_TRADES = {
    "plumbing": ("水管", "漏水", "渗水", "滴水", "下水", "堵", "水龙头", "马桶", "水表"),
    "electrical": ("电路", "跳闸", "插座", "停电", "灯", "电表", "开关", "线路"),
    "carpentry": ("门", "柜", "窗", "木"),
    "masonry": ("墙", "瓷砖", "防水", "地面", "裂缝", "墙皮"),
    "painting": ("油漆", "刷漆", "发霉"),
    "lift": ("电梯",),
    "gas": ("燃气", "煤气"),
}

_NUM = "0-9零〇一二两三四五六七八九十"
_COMMIT = re.compile(r"回电|回复|答复|回话|联系您|给您(打|回|答|反馈|消息)|上门|过去|到您|处理|安排|"
                     r"修好|通知您|反馈给您|告诉您")
_WHEN = re.compile(
    rf"(?P<day>今天|今晚|明天|明早|明晚|后天)(?P<part>上午|中午|下午|晚上|早上)?"
    rf"(?:(?P<hour>[{_NUM}]{{1,3}})点(?P<half>半)?)?"
    rf"|(?P<n>[{_NUM}]{{1,3}})个?(?P<unit>工作日|小时|钟头|分钟|天)(?:之内|以内|内)")
_PART_END = {"上午": 12, "早上": 10, "中午": 14, "下午": 18, "晚上": 22, None: None}


@dataclass(frozen=True)
class Promise:
    """A dated promise found in an agent's utterance."""

    text: str
    due_at: datetime
    said_at: datetime


def calendar(s: Session) -> Calendar:
    """The working calendar: the shipped days with the admins' days over them."""
    return Calendar.with_overrides((h.day, h.working) for h in s.scalars(select(Holiday)))


def _due(m: re.Match, said_at: datetime, cal: Calendar) -> datetime | None:
    if m.group("day"):
        day = said_at.date() + timedelta(days={"今天": 0, "今晚": 0, "明天": 1, "明早": 1,
                                               "明晚": 1, "后天": 2}[m.group("day")])
        part = m.group("part") or {"今晚": "晚上", "明晚": "晚上", "明早": "早上"}.get(
            m.group("day"))
        hour = cn_to_int(m.group("hour")) if m.group("hour") else None
        if hour is not None and 0 <= hour <= 24:
            if part in ("下午", "晚上") and hour < 12:
                hour += 12
            minute = 30 if m.group("half") else 0
            return datetime.combine(day, time(min(hour, 23), minute), said_at.tzinfo)
        end = _PART_END.get(part)
        if end is not None:
            return datetime.combine(day, time(end - 1, 59, 59), said_at.tzinfo)
        return end_of_day(day, said_at.tzinfo)
    n = cn_to_int(m.group("n"))
    if not n or n > 400:
        return None
    unit = m.group("unit")
    if unit == "工作日":
        return cal.add_working_days(said_at, n)
    if unit in ("小时", "钟头"):
        return said_at + timedelta(hours=n)
    if unit == "分钟":
        return said_at + timedelta(minutes=n)
    return end_of_day(said_at.date() + timedelta(days=n), said_at.tzinfo)


def promises_in(utterances: Iterable[Any], started: datetime, cal: Calendar) -> list[Promise]:
    """The agent's dated commitments in a call that started at ``started`` (local time):
    an utterance that names a time (今天下午, 明天上午十点, 三个工作日内, 两小时内) and a
    commitment (回电, 答复, 上门, 处理 …)."""
    out = []
    for u in utterances:
        speaker = u["speaker"] if isinstance(u, dict) else u.speaker
        text = (u["text"] if isinstance(u, dict) else u.text) or ""
        start = float((u["start"] if isinstance(u, dict) else u.start) or 0)
        if speaker != "agent" or not _COMMIT.search(text):
            continue
        said_at = started + timedelta(seconds=start)
        dues = [d for d in (_due(m, said_at, cal) for m in _WHEN.finditer(text)) if d]
        if dues:
            out.append(Promise(text, max(dues), said_at))
    # one commitment said twice (promised, then read back) is one promise: the most exact
    merged: list[Promise] = []
    for p in sorted(out, key=lambda p: p.due_at):
        if merged and p.due_at - merged[-1].due_at <= SAME_PROMISE:
            continue
        merged.append(p)
    return merged


def room_of(texts: Iterable[str]) -> str | None:
    """The address a call is about, as ``9栋2单元1002`` (building, unit, room as said)."""
    parts: dict[str, str] = {}
    for t in texts:
        for sp in address_parts(t or ""):
            parts.setdefault(sp.kind, sp.value)
    if "room" not in parts and "building" not in parts:
        return None
    return "".join(f"{parts[k]}{suffix}" for k, suffix in
                   (("building", "栋"), ("unit", "单元"), ("room", "")) if k in parts)


def trade_of(texts: Iterable[str]) -> str:
    """``multi`` when the caller's words name two or more trades, else ``single``."""
    joined = " ".join(t or "" for t in texts)
    n = sum(any(w in joined for w in words) for words in _TRADES.values())
    return "multi" if n >= 2 else "single"


def deadlines(kind: str, trade: str | None, opened: datetime, cal: Calendar,
              resolved: datetime | None = None) -> dict[str, str]:
    """The case's deadlines (ISO times, local) for ``kind`` opened at ``opened`` (local)."""
    out: dict[str, datetime] = {}
    if kind == "complaint":
        out["reply"] = cal.add_working_days(opened, 3)
        out["close"] = end_of_day(opened.date() + timedelta(days=7), opened.tzinfo)
    else:
        out["survey"] = cal.add_working_days(opened, 1)
        out["fix"] = cal.add_working_days(opened, 7 if trade == "multi" else 3)
    if resolved is not None:
        out["callback"] = cal.add_working_days(resolved, 1)
    return {k: v.isoformat() for k, v in out.items()}


def _utterances(s: Session, call_id: str) -> list[dict[str, Any]]:
    return [{"speaker": spk, "start": t0, "text": text} for spk, t0, text in s.execute(
        select(Utterance.speaker, Utterance.start, Utterance.text)
        .where(Utterance.call_id == call_id).order_by(Utterance.idx))]


def _find_open_case(s: Session, call: Call, room: str | None, since: datetime) -> Case | None:
    keys = []
    if call.caller_number:
        keys.append(Case.caller_number == call.caller_number)
    if room:
        keys.append(Case.room == room)
    if not keys:
        return None
    return s.scalar(select(Case).where(or_(*keys), Case.state.in_(("open", "in_progress")),
                                       Case.opened_at >= since)
                    .order_by(Case.opened_at.desc()).limit(1))


def on_call_stored(s: Session, call: Call, settings: Settings) -> Case | None:
    """Open a case for a complaint or repair call, or attach the call to the open case of the
    same caller or room; record the agent's dated promises. Safe to run again for the same
    call (re-analysis): the call stays in its case and its promises are replaced."""
    tz = store.local_tz(settings)
    started = call.started_at.astimezone(tz) if call.started_at else datetime.now(tz)
    utts = _utterances(s, call.id)
    customer = [u["text"] for u in utts if u["speaker"] == "customer"]
    room = room_of(customer) or room_of(u["text"] for u in utts)
    cal = calendar(s)
    link = s.get(CaseCall, call.id)
    case = s.get(Case, link.case_id) if link else None
    direction = str((call.meta or {}).get("direction") or "").lower()
    if case is None:
        case = _find_open_case(s, call, room, started.astimezone(timezone.utc)
                               - timedelta(days=ATTACH_DAYS))
        if case is not None and case.call_id != call.id:
            reason = ("callback" if direction in CALLBACK_DIRECTIONS
                      else "same_caller" if call.caller_number
                      and case.caller_number == call.caller_number else "same_room")
            s.add(CaseCall(call_id=call.id, case_id=case.id, reason=reason))
            if reason == "callback" and case.called_back_at is None:
                case.called_back_at = call.started_at
        elif call.call_type in CASE_KINDS:
            trade = trade_of(customer) if call.call_type == "repair" else None
            case = Case(call_id=call.id, kind=call.call_type, trade=trade,
                        caller_number=call.caller_number, room=room, estate=call.estate,
                        agent_id=call.agent_id, matter=(customer[0] if customer else "")[:500],
                        opened_at=call.started_at or datetime.now(timezone.utc),
                        deadlines=deadlines(call.call_type, trade, started, cal))
            s.add(case)
            s.flush()
            s.add(CaseCall(call_id=call.id, case_id=case.id, reason="opened"))
        else:
            return None
    s.flush()
    for p in s.scalars(select(CasePromise).where(CasePromise.call_id == call.id,
                                                 CasePromise.state == "open")):
        s.delete(p)
    for p in promises_in(utts, started, cal):
        s.add(CasePromise(case_id=case.id, call_id=call.id, text=p.text[:500],
                          due_at=p.due_at.astimezone(timezone.utc),
                          created_at=p.said_at.astimezone(timezone.utc)))
    s.flush()
    return case


def promise_state(p: CasePromise, case: Case, now: datetime) -> str:
    """``kept`` (a call-back before it was due), ``broken`` (due and no call-back) or
    ``open``."""
    back = case.called_back_at
    if p.kept_at is not None or (back is not None and p.created_at <= back <= p.due_at
                                 + timedelta(minutes=1)):
        return "kept"
    return "broken" if now > p.due_at else "open"


def case_view(s: Session, case: Case, settings: Settings,
              now: datetime | None = None) -> dict[str, Any]:
    """A case as people see it: deadlines with overdue flags, its calls, its promises."""
    now = now or datetime.now(timezone.utc)
    tz = store.local_tz(settings)
    done = case.state in ("resolved", "closed")
    dl = []
    for name, iso in (case.deadlines or {}).items():
        due = datetime.fromisoformat(iso)
        met = (name == "callback" and case.called_back_at is not None) or (
            name != "callback" and done)
        dl.append({"name": name, "label": DEADLINE_NAMES.get(name, name), "due_at": due,
                   "met": met, "overdue": not met and now > due})
    calls = [{"call_id": cc.call_id, "reason": cc.reason, "started_at": c.started_at}
             for cc, c in s.execute(select(CaseCall, Call).join(Call, Call.id == CaseCall.call_id)
                                    .where(CaseCall.case_id == case.id)
                                    .order_by(Call.started_at))]
    promises = [{"id": p.id, "call_id": p.call_id, "text": p.text,
                 "due_at": p.due_at.astimezone(tz), "state": promise_state(p, case, now)}
                for p in s.scalars(select(CasePromise).where(CasePromise.case_id == case.id)
                                   .order_by(CasePromise.due_at))]
    return {"id": case.id, "kind": case.kind, "trade": case.trade, "state": case.state,
            "caller_number": case.caller_number, "room": case.room, "estate": case.estate,
            "agent_id": case.agent_id, "matter": case.matter, "opened_at": case.opened_at,
            "resolved_at": case.resolved_at, "called_back_at": case.called_back_at,
            "deadlines": dl, "overdue": any(d["overdue"] for d in dl),
            "broken_promises": sum(p["state"] == "broken" for p in promises),
            "calls": calls, "promises": promises}


def resolve(s: Session, case: Case, at: datetime) -> None:
    """Mark ``case`` resolved at ``at``: the call-back deadline starts."""
    tz = at.tzinfo
    case.state, case.resolved_at = "resolved", at.astimezone(timezone.utc)
    dl = dict(case.deadlines or {})
    dl["callback"] = calendar(s).add_working_days(at.astimezone(tz), 1).isoformat()
    case.deadlines = dl


def case_of_call(s: Session, call_id: str) -> Case | None:
    link = s.get(CaseCall, call_id)
    return s.get(Case, link.case_id) if link else None


def set_state(s: Session, case: Case, state: str, settings: Settings,
              at: datetime | None = None) -> None:
    """Move ``case`` to ``state`` (resolving starts the call-back deadline); the first call's
    follow-up status (跟进状态) follows, so the complaint lists agree with the case."""
    at = at or datetime.now(timezone.utc)
    if state == "resolved" and case.state != "resolved":
        resolve(s, case, at.astimezone(store.local_tz(settings)))
    else:
        case.state = state
    origin = s.get(Call, case.call_id) if case.call_id else None
    if origin is not None:
        origin.follow_up_status = "resolved" if state == "closed" else state


def open_cases(s: Session, settings: Settings, *, overdue_only: bool = False,
               now: datetime | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Cases not closed (resolved ones while their call-back is due), newest first."""
    rows = s.scalars(select(Case).where(Case.state != "closed")
                     .order_by(Case.opened_at.desc()).limit(limit))
    views = [case_view(s, c, settings, now) for c in rows]
    views = [v for v in views if v["state"] != "resolved" or any(
        d["name"] == "callback" and not d["met"] for d in v["deadlines"])]
    return [v for v in views if v["overdue"] or v["broken_promises"]] if overdue_only else views
