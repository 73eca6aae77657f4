"""Transcript search as people see it: utterances that match a query, within the calls the
user may see and the call list's filters, newest call first, with the hits highlighted.

Visibility is the call list's own (:func:`api.services.calls.visible`): an agent's search
only ever reads the agent's calls. The query language and the tokens are ``qa.search``; the
index engines are ``models.search_index``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session, selectinload

from api.services.calls import CallFilters, _apply_filters, _fails_of, summary, visible
from api.services.errors import Invalid
from models import Call, User, Utterance
from models import search_index
from qa.search import Query, QueryError, highlight, parse_query
from qa.settings import Settings
from qa.transcript_index import is_current

SPEAKERS = ("agent", "customer")
STALE_INDEX = ("搜索索引正在重建，结果可能不全（hotline-qa search reindex）/ the search index is "
               "being rebuilt: results may be incomplete")


@dataclass
class SearchRequest:
    """What to search: the query text, sound-alike hits or not, whose words, and the call
    list's filters (agent, dates, estate, call type …; its paging is the search's)."""

    q: str
    sound: bool = False
    speaker: str | None = None
    filters: CallFilters = field(default_factory=CallFilters)


def parse(req: SearchRequest) -> Query:
    """The parsed query. Raises :class:`Invalid` with the reason for people."""
    if req.speaker not in (None, "", *SPEAKERS):
        raise Invalid("speaker 只能是 agent（客服）或 customer（来电人）/ bad speaker")
    try:
        return parse_query(req.q, sound=req.sound)
    except QueryError as exc:
        raise Invalid(str(exc)) from None


def hits_query(db: Session, user: User, req: SearchRequest, query: Query, settings: Settings):
    """``SELECT`` of the matching utterances (id, call, position, the call's start) joined
    to their calls, all filters applied; the utterances' text is read only for the page
    shown."""
    h = search_index.hits(db.get_bind().dialect.name, query.groups())
    q = select(h.c.id, h.c.call_id, h.c.idx, Call.started_at).join(Call, Call.id == h.c.call_id)
    q = _apply_filters(visible(q, user), req.filters, settings)
    if req.speaker:
        q = q.where(h.c.speaker == req.speaker)
    return q


def search(db: Session, user: User, req: SearchRequest, settings: Settings) -> dict[str, Any]:
    """One page of hits and the totals (utterances, calls).

    One statement: the matches are computed once (a materialised CTE) and both the totals and
    the page (newest call first) are read from them — counting and paging separately walked
    the index, the utterances and the calls twice (PostgreSQL: half the time of a query)."""
    f = req.filters
    if f.page < 1 or not 1 <= f.page_size <= 200:
        raise Invalid("分页参数无效（page ≥ 1，page_size 1–200）/ bad paging")
    query = parse(req)
    m = hits_query(db, user, req, query, settings).cte("m").prefix_with("MATERIALIZED")
    total_q = select(func.count()).select_from(m).scalar_subquery()
    calls_q = select(func.count(distinct(m.c.call_id))).scalar_subquery()
    page = (select(m.c.id, total_q.label("total"), calls_q.label("calls"))
            .order_by(m.c.started_at.desc().nulls_last(), m.c.call_id.desc(), m.c.idx)
            .offset((f.page - 1) * f.page_size).limit(f.page_size))
    head = db.execute(page).all()
    if head:
        total, calls = head[0].total, head[0].calls
    else:  # past the last page (or nothing found): the totals alone
        total, calls = db.execute(select(total_q, calls_q)).one()
    order = {r.id: i for i, r in enumerate(head)}
    rows = sorted(db.execute(select(Utterance.id, Utterance.call_id, Utterance.idx,
                                    Utterance.speaker, Utterance.start, Utterance.end,
                                    Utterance.text)
                             .where(Utterance.id.in_(order))).all(),
                  key=lambda r: order[r.id]) if head else []
    found = {c.id: c for c in db.scalars(
        select(Call).where(Call.id.in_({r.call_id for r in rows}))
        .options(selectinload(Call.agent)))} if rows else {}
    calls_ = list(found.values())
    summaries = {c.id: summary(db, c, fails) for c, fails in zip(calls_, _fails_of(db, calls_))}
    items = []
    for r in rows:
        h = highlight(r.text or "", query)
        items.append({
            "utterance_id": r.id, "call_id": r.call_id, "idx": r.idx, "speaker": r.speaker,
            "start": r.start, "end": r.end, "text": r.text, "fuzzy": h.fuzzy,
            "spans": [list(s) for s in h.spans],
            "segments": [{"text": t, "hit": hit} for t, hit in h.segments],
            "call": summaries.get(r.call_id),
            "url": f"/calls/{r.call_id}?t={max(0.0, float(r.start or 0)):.1f}#u{r.idx}",
        })
    warning = None if is_current(db.connection()) else STALE_INDEX
    return {"query": query.text, "sound": query.sound, "speaker": req.speaker or None,
            "items": items, "total": int(total or 0), "calls": int(calls or 0),
            "page": f.page, "page_size": f.page_size, "warning": warning}
