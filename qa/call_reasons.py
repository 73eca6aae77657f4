"""Why people call, from the database: the callers' stated reasons of a week, their topics
(:mod:`qa.topics`) with the supervisors' names, and the change from the week before.

Topics are computed from the stored transcripts when asked (a week of 5 000 calls takes a
few seconds), and kept in a small in-process cache keyed by everything that changes them:
the week, the estate, the calls of the two weeks (count and last update) and the names.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Call, TopicName, Utterance
from qa import assessment_store as store
from qa import topics as tp
from qa.assessment import iso_week_range
from qa.settings import Settings

__all__ = ["WeekTopics", "named_topics", "reason_docs", "save_named", "week_of", "week_topics"]

FIRST_TURNS = 12  # the reason is said early: read the first utterances of each call only
_CACHE: OrderedDict[tuple, "WeekTopics"] = OrderedDict()
_CACHE_SIZE = 32
_lock = threading.Lock()


def week_of(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def _bounds(week: str, settings: Settings) -> tuple[datetime, datetime]:
    return store.week_bounds_utc(week, settings)


def reason_docs(s: Session, start: datetime, end: datetime, settings: Settings, *,
                estate: str | None = None) -> list[tp.ReasonDoc]:
    """The stated reason of every analysed call started in ``[start, end)`` (with a reason)."""
    tz = store.local_tz(settings)
    q = select(Call.id, Call.started_at, Call.estate).where(
        Call.status == "done", Call.started_at >= start, Call.started_at < end)
    if estate:
        q = q.where(Call.estate == estate)
    calls = {cid: (started, est) for cid, started, est in s.execute(q)}
    if not calls:
        return []
    turns: dict[str, list[dict[str, Any]]] = {cid: [] for cid in calls}
    ids = list(calls)
    for i in range(0, len(ids), 900):
        for cid, speaker, t0, text in s.execute(
                select(Utterance.call_id, Utterance.speaker, Utterance.start, Utterance.text)
                .where(Utterance.call_id.in_(ids[i:i + 900]), Utterance.idx < FIRST_TURNS)
                .order_by(Utterance.call_id, Utterance.idx)):
            turns[cid].append({"speaker": speaker, "start": t0, "text": text})
    docs = []
    for cid in sorted(calls):
        reason = tp.caller_reason(turns[cid])
        if reason:
            started, est = calls[cid]
            docs.append(tp.ReasonDoc(cid, store.to_local(started, tz).date(), est, reason))
    return docs


def named_topics(s: Session) -> list[tp.NamedTopic]:
    rows = list(s.scalars(select(TopicName).order_by(TopicName.id)))
    names = {r.id: r.name for r in rows}
    return [tp.NamedTopic(r.name, {k: float(v) for k, v in (r.terms or {}).items()},
                          names.get(r.merged_into_id)) for r in rows]


def save_named(s: Session, named: list[tp.NamedTopic], user_id: int | None) -> list[TopicName]:
    """Store names (a name already stored gets the new signature); ``merged_into`` refers to
    another stored or saved name."""
    by_name = {r.name: r for r in s.scalars(select(TopicName))}
    out = []
    for nt in named:
        row = by_name.get(nt.name)
        if row is None:
            row = by_name[nt.name] = TopicName(name=nt.name, created_by=user_id)
            s.add(row)
        row.terms = {k: round(float(v), 6) for k, v in nt.terms.items()}
        out.append(row)
    s.flush()
    for nt, row in zip(named, out):
        target = by_name.get(nt.merged_into) if nt.merged_into else None
        row.merged_into_id = target.id if target is not None and target is not row else None
    s.flush()
    return out


@dataclass
class WeekTopics:
    """A week's topics (named, largest first), how each changed from the week before, the
    topics that disappeared, and the reasons counted."""

    week: str
    previous_week: str
    estate: str | None
    topics: tp.Topics
    changes: tp.TopicChanges
    n_docs: int
    previous_docs: int

    def to_dict(self) -> dict[str, Any]:
        status = {c.topic.key: c for c in self.changes}
        rem = self.topics.remainder
        return {
            "week": self.week, "previous_week": self.previous_week, "estate": self.estate,
            "reasons": self.n_docs, "previous_reasons": self.previous_docs,
            "topics": [{**t.to_dict(), "call_ids": t.call_ids[:50],
                        "status": status[t.key].status if t.key in status else "new",
                        "status_zh": status[t.key].status_zh if t.key in status
                        else tp.STATUS_ZH["new"],
                        "previous_size": status[t.key].previous_size if t.key in status
                        else None} for t in self.topics],
            "remainder": None if rem is None else {"size": rem.size, "share": rem.share,
                                                   "examples": [list(e) for e in rem.examples]},
            "disappeared": [{"title": t.title, "size": t.size} for t in self.changes.disappeared],
        }


def _state(s: Session, start: datetime, end: datetime, estate: str | None) -> tuple:
    q = select(func.count(), func.max(Call.updated_at)).where(
        Call.status == "done", Call.started_at >= start, Call.started_at < end)
    if estate:
        q = q.where(Call.estate == estate)
    n, last = s.execute(q).one()
    names = s.execute(select(func.count(), func.max(TopicName.updated_at))).one()
    return n, str(last), tuple(names)


def week_topics(s: Session, week: str, settings: Settings, *,
                estate: str | None = None) -> WeekTopics:
    """The topics of ISO week ``week`` (``YYYY-Www``) and their change from the week before.

    Raises:
        ValueError: a malformed week.
    """
    monday, _ = iso_week_range(week)
    previous = week_of(monday - timedelta(days=7))
    start, end = _bounds(week, settings)
    pstart, _ = _bounds(previous, settings)
    key = (str(s.get_bind().url), week, estate, _state(s, pstart, end, estate))
    with _lock:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    estates = tp.default_estates()
    named = named_topics(s)
    cur_docs = reason_docs(s, start, end, settings, estate=estate)
    prev_docs = reason_docs(s, pstart, start, settings, estate=estate)
    cur = tp.apply_names(tp.discover(cur_docs, estates=estates), named)
    prev = tp.apply_names(tp.discover(prev_docs, estates=estates), named)
    result = WeekTopics(week, previous, estate, cur, tp.compare(cur, prev), len(cur_docs),
                        len(prev_docs))
    with _lock:
        _CACHE[key] = result
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return result
