"""Monitors: saved transcript searches counted over time (the dashboard, the weekly report;
alerts later use the same counting).

A monitor is a query (``qa.search`` language), sound-alike or not, optionally one speaker and
a few call filters (agent, estate, scenario, call type, complaint type). What is counted is
*calls* that mention it — a call whose caller says 漏水 five times is one leak call — per local
day or ISO week, optionally broken down by estate or scenario. A week is *rising* when its
count is improbably high for the weeks before it: at least :data:`RISING_MIN` calls and a
Poisson upper tail below :data:`RISING_P` at the mean of the previous :data:`BASELINE_WEEKS`
weeks (at least 0.5 a week, so a term's first appearances need a few calls to count).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from scipy.stats import poisson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Call
from models import search_index
from qa.search import Query, QueryError, parse_query

__all__ = ["FILTERS", "HitCall", "MonitorSpec", "Series", "Trend", "matching_calls", "series",
           "trend", "weekly"]

FILTERS = ("agent_id", "estate", "scenario", "call_type", "complaint_type")
BREAKDOWNS = ("estate", "scenario")
SPEAKERS = ("agent", "customer")
BASELINE_WEEKS = 4
RISING_MIN = 3
RISING_P = 0.05


@dataclass(frozen=True)
class MonitorSpec:
    """What a monitor counts."""

    query: str
    sound: bool = False
    speaker: str | None = None
    filters: dict[str, str] = field(default_factory=dict)

    def parsed(self) -> Query:
        """The parsed query, after checking the speaker and filters.

        Raises:
            QueryError: a bad query, speaker or filter (the message says which).
        """
        if self.speaker not in (None, "", *SPEAKERS):
            raise QueryError("speaker 只能是 agent（客服）或 customer（来电人）/ bad speaker")
        unknown = set(self.filters) - set(FILTERS)
        if unknown:
            raise QueryError(f"关注词不支持这些筛选条件：{', '.join(sorted(unknown))}（可用："
                             f"{', '.join(FILTERS)}）/ unknown monitor filters")
        return parse_query(self.query, sound=self.sound)


@dataclass(frozen=True)
class HitCall:
    call_id: str
    started_at: datetime | None
    estate: str | None
    scenario: str | None
    hits: int  # matching utterances in the call


def matching_calls(s: Session, spec: MonitorSpec, start: datetime, end: datetime
                   ) -> list[HitCall]:
    """The analysed calls started in ``[start, end)`` that mention the monitor's query."""
    q = spec.parsed()
    h = search_index.hits(s.get_bind().dialect.name, q.groups())
    stmt = (select(h.c.call_id, Call.started_at, Call.estate, Call.scenario, func.count())
            .join(Call, Call.id == h.c.call_id)
            .where(Call.status == "done", Call.started_at >= start, Call.started_at < end))
    if spec.speaker:
        stmt = stmt.where(h.c.speaker == spec.speaker)
    for key, value in spec.filters.items():
        if value not in (None, ""):
            stmt = stmt.where(getattr(Call, key) == value)
    stmt = stmt.group_by(h.c.call_id, Call.started_at, Call.estate, Call.scenario)
    return [HitCall(*row) for row in s.execute(stmt)]


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def week_label(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


@dataclass(frozen=True)
class Series:
    """Counts of calls per bucket (``labels``: ``YYYY-MM-DD`` days or ``YYYY-Www`` weeks),
    and per estate / scenario when asked (``by``: key -> counts)."""

    labels: list[str]
    counts: list[int]
    by: dict[str, list[int]] = field(default_factory=dict)


def series(calls: list[HitCall], tz: tzinfo, first: date, last: date, *, bucket: str = "week",
           by: str | None = None) -> Series:
    """Bucket ``calls`` by local day or ISO week from ``first`` to ``last`` (inclusive)."""
    if bucket not in ("day", "week"):
        raise ValueError("bucket 只能是 day 或 week / bucket must be day or week")
    if by not in (None, *BREAKDOWNS):
        raise ValueError("by 只能是 estate 或 scenario / by must be estate or scenario")
    if bucket == "week":
        first, last = _monday(first), _monday(last)
        step, label = timedelta(weeks=1), week_label
    else:
        step, label = timedelta(days=1), date.isoformat
    keys, d = [], first
    while d <= last:
        keys.append(label(d))
        d += step
    totals: Counter = Counter()
    parts: dict[str, Counter] = defaultdict(Counter)
    for c in calls:
        if c.started_at is None:
            continue
        day = c.started_at.astimezone(tz).date()
        k = label(_monday(day) if bucket == "week" else day)
        totals[k] += 1
        if by:
            parts[getattr(c, by) or "未识别"][k] += 1
    return Series(keys, [totals[k] for k in keys],
                  {name: [cnt[k] for k in keys] for name, cnt in sorted(parts.items())})


@dataclass(frozen=True)
class Trend:
    current: int
    baseline: float  # mean of the previous weeks
    rising: bool
    p_value: float


def trend(counts: list[int], *, baseline_weeks: int = BASELINE_WEEKS) -> Trend:
    """Whether the last count is a rise over the ``baseline_weeks`` before it."""
    if not counts:
        return Trend(0, 0.0, False, 1.0)
    current = counts[-1]
    before = counts[-1 - baseline_weeks:-1]
    baseline = sum(before) / len(before) if before else 0.0
    p = float(poisson.sf(current - 1, max(baseline, 0.5))) if current else 1.0
    return Trend(current, round(baseline, 2), current >= RISING_MIN and p < RISING_P, p)


def weekly(s: Session, spec: MonitorSpec, tz: tzinfo, last_day: date, *, weeks: int = 12,
           by: str | None = None) -> tuple[Series, Trend]:
    """The monitor's weekly series of ``weeks`` ISO weeks ending with ``last_day``'s week,
    and the trend of the last one."""
    first = _monday(last_day) - timedelta(weeks=weeks - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=tz)
    end_day = _monday(last_day) + timedelta(weeks=1)
    end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=tz)
    ser = series(matching_calls(s, spec, start, end), tz, first, last_day, by=by)
    return ser, trend(ser.counts)


def spec_of(row: Any) -> MonitorSpec:
    """The :class:`MonitorSpec` of a stored ``models.Monitor`` row."""
    return MonitorSpec(row.query, bool(row.sound), row.speaker or None,
                       {k: v for k, v in (row.filters or {}).items() if v not in (None, "")})
