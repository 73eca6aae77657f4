"""Monthly assessment of agents (月度考核): pure functions over plain records.

Standards: 禁止行为 一旦违反，当月考核C. A *confirmed* fail of a red-line rule makes the agent's
month ``C`` whatever the average score; otherwise the grade comes from the month's average call
score by the scoring form's thresholds (defaults A ≥ 90, B ≥ 75, else C).

"Confirmed" (RULES.md): a supervisor upheld the fail on review, or the review/appeal window
closed without a successful appeal. A fail that was overturned on review, or whose appeal was
accepted, no longer counts — neither for the red line nor for the score.

The records here are independent of storage: :mod:`qa.assessment_store` builds them from the
database, tests build them by hand.

Example::

    from qa.assessment import assess_month, CallOutcome, FindingOutcome
    a = assess_month("A1001", "2026-11", calls, now=datetime.now(timezone.utc))
    a.grade, a.average_score, a.red_lines
"""
from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

log = logging.getLogger("hotline_qa.assessment")


def default_red_line_codes() -> frozenset[str]:
    """Red-line rule codes when no scoring form says otherwise: the rules marked ``red_line``
    (:func:`qa.rules.red_line_codes`), the list the shipped form's
    default comes from too. Storing and re-scoring use the active form's
    (:func:`qa.assessment_store.grading`)."""
    from qa.rules import red_line_codes
    return red_line_codes()


#: Grade thresholds when no scoring form says otherwise.
DEFAULT_THRESHOLDS: dict[str, float] = {"A": 90.0, "B": 75.0}
#: Days after a call's result is first available during which an agent may appeal.
DEFAULT_APPEAL_WINDOW_DAYS = 7

REVIEW_STATES = ("pending", "upheld", "overturned")
APPEAL_STATES = ("open", "accepted", "rejected")
RED_LINE_STATES = ("pending", "confirmed", "overturned")

_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(month: str) -> tuple[datetime, datetime]:
    """Return the naive local ``[start, end)`` datetimes of a month written ``YYYY-MM``.

    Raises:
        ValueError: the month is not written ``YYYY-MM`` (message in Chinese and English).
    """
    m = _MONTH_RE.match(month or "")
    if not m:
        raise ValueError(f"月份格式应为 YYYY-MM，例如 2026-11 / month must be YYYY-MM: {month!r}")
    y, mo = int(m.group(1)), int(m.group(2))
    if not 1900 <= y <= 9998:
        raise ValueError(f"月份超出范围 / month out of range: {month!r}")
    start = datetime(y, mo, 1)
    end = datetime(y + (mo == 12), 1 if mo == 12 else mo + 1, 1)
    return start, end


def month_of(ts: datetime) -> str:
    """The ``YYYY-MM`` month of a timestamp, in the timestamp's own (local) time."""
    return f"{ts.year:04d}-{ts.month:02d}"


def local_naive(ts: datetime | None) -> datetime | None:
    """Drop the offset of an aware timestamp, keeping its wall-clock (local) time."""
    return ts.replace(tzinfo=None) if ts is not None and ts.tzinfo else ts


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


@dataclass
class Grading:
    """What the assessment needs from the scoring form.

    ``weights`` maps a rule code to the points a counted fail deducts (used for fails that were
    routed to review and so deducted nothing in the machine's score); ``thresholds`` maps a
    grade to the minimum average (``{"A": 90, "B": 75}``; below the lowest → ``C``).
    """

    red_line_codes: frozenset[str] = field(default_factory=default_red_line_codes)
    thresholds: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    weights: Mapping[str, float] = field(default_factory=dict)
    appeal_window_days: float = DEFAULT_APPEAL_WINDOW_DAYS

    @classmethod
    def from_form(cls, form: Any, appeal_window_days: float = DEFAULT_APPEAL_WINDOW_DAYS
                  ) -> "Grading":
        """Build from a scoring form object or dict (duck-typed: ``red_line_codes`` /
        ``red_lines``, ``grade_thresholds`` / ``grades``, ``weights`` / ``items``)."""
        if form is None:
            return cls(appeal_window_days=appeal_window_days)

        def pick(*names: str) -> Any:
            for n in names:
                v = form.get(n) if isinstance(form, Mapping) else getattr(form, n, None)
                if v is not None:
                    return v
            return None

        red = pick("red_line_codes", "red_lines", "red_line")
        thr = pick("grade_thresholds", "thresholds", "grades")
        if thr is None and pick("grade_a") is not None:  # qa.scoring.ScoringForm
            thr = {"A": pick("grade_a"), "B": pick("grade_b") or DEFAULT_THRESHOLDS["B"]}
        weights = pick("weights", "items")
        if isinstance(weights, Mapping):
            weights = {str(k): float(v.get("weight", v.get("deduction", 0))
                                     if isinstance(v, Mapping) else
                                     getattr(v, "weight", v)) for k, v in weights.items()}
        elif isinstance(weights, (list, tuple)):
            weights = {str(getattr(i, "code", None) or i["code"]):
                       float(getattr(i, "weight", None) or i.get("weight", 0))
                       for i in weights}
        # a form's red lines replace the default, an empty list included (no red line)
        return cls(red_line_codes=frozenset(red) if red is not None
                   else default_red_line_codes(),
                   thresholds={str(k): float(v) for k, v in dict(thr).items()}
                   if thr else dict(DEFAULT_THRESHOLDS),
                   weights=weights or {}, appeal_window_days=appeal_window_days)

    def grade(self, average: float | None) -> str | None:
        """The grade for a month's average score; ``None`` when there were no calls."""
        if average is None:
            return None
        for g, minimum in sorted(self.thresholds.items(), key=lambda kv: -kv[1]):
            if average >= minimum:
                return g
        return "C"


@dataclass
class FindingOutcome:
    """One rule's finding on one call, with what people decided about it.

    ``review_state``: ``pending`` / ``upheld`` / ``overturned`` (supervisor review);
    ``appeal_state``: ``None`` / ``open`` / ``accepted`` / ``rejected`` (agent's appeal).
    ``deduction`` is what the machine deducted (0 for a fail routed to review).
    """

    code: str
    status: str
    deduction: float = 0.0
    confidence: float = 1.0
    needs_review: bool = False
    review_state: str = "pending"
    appeal_state: str | None = None
    finding_id: int | None = None

    @property
    def overturned(self) -> bool:
        return self.review_state == "overturned" or self.appeal_state == "accepted"

    def counts_as_fail(self) -> bool:
        """A fail that counts for the score: not overturned, and either confident or upheld."""
        if self.status != "fail" or self.overturned:
            return False
        return not self.needs_review or self.review_state == "upheld"

    def effective_deduction(self, grading: Grading) -> float:
        """What the finding deducts after reviews and appeals: nothing for a pass or an
        overturned fail (review or accepted appeal), the form's weight for a low-confidence
        fail a supervisor upheld that the machine deducted nothing for, else the machine's
        deduction."""
        if self.status != "fail" or self.overturned:
            return 0.0
        if self.needs_review and self.review_state == "upheld" and not self.deduction:
            return float(grading.weights.get(self.code, 0.0))
        return float(self.deduction)

    def effective_status(self) -> str:
        """``fail`` / ``pass`` / ``n/a`` after reviews and appeals (an overturned fail is a pass;
        an unreviewed low-confidence fail stays a fail for fail rates)."""
        if self.status == "fail" and self.overturned:
            return "pass"
        return self.status


@dataclass
class CallOutcome:
    """A stored call as the assessment and reports see it."""

    call_id: str
    agent_id: str | None
    started_at: datetime | None
    score: float | None
    findings: list[FindingOutcome] = field(default_factory=list)
    result_available_at: datetime | None = None
    call_type: str | None = None
    complaint_type: str | None = None
    scenario: str | None = None
    estate: str | None = None
    follow_up_status: str | None = None
    caller_number: str | None = None
    agent_name: str | None = None
    team: str | None = None
    duration: float | None = None

    def effective_score(self, grading: Grading) -> float | None:
        """The call's score after reviews and appeals.

        Starts from the machine's score, gives back the deduction of every fail that no longer
        counts (overturned / appeal accepted) and deducts the form's weight for every
        low-confidence fail a supervisor upheld. Clamped to 0–100.
        """
        if self.score is None:
            return None
        s = float(self.score)
        for f in self.findings:
            if f.status == "fail":  # the machine's deduction given back, the one now due taken
                s += f.deduction - f.effective_deduction(grading)
        return max(0.0, min(100.0, round(s, 2)))

    def window_closes_at(self, grading: Grading) -> datetime | None:
        base = self.result_available_at
        return None if base is None else _aware(base) + timedelta(days=grading.appeal_window_days)


def red_line_state(f: FindingOutcome, window_closed: bool) -> str:
    """``pending`` / ``confirmed`` / ``overturned`` for a red-line fail.

    Confirmed when upheld on review, or when the window closed without a successful (or
    still open) appeal; overturned on an overturning review or an accepted appeal.
    """
    if f.overturned:
        return "overturned"
    if f.review_state == "upheld":
        return "confirmed"
    if window_closed and f.appeal_state != "open":
        return "confirmed"
    return "pending"


@dataclass
class RedLine:
    call_id: str
    code: str
    state: str
    finding_id: int | None = None
    started_at: datetime | None = None


@dataclass
class MonthlyAssessment:
    """One agent's month (月度考核)."""

    agent_id: str
    month: str
    calls: int
    scored_calls: int
    average_score: float | None
    grade: str | None
    grade_by_score: str | None
    red_lines: list[RedLine] = field(default_factory=list)
    fail_rates: dict[str, dict[str, float]] = field(default_factory=dict)
    pending_reviews: int = 0
    agent_name: str | None = None
    team: str | None = None
    closed: bool = False

    @property
    def red_lines_pending(self) -> int:
        return sum(r.state == "pending" for r in self.red_lines)

    @property
    def red_lines_confirmed(self) -> int:
        return sum(r.state == "confirmed" for r in self.red_lines)

    @property
    def red_lines_overturned(self) -> int:
        return sum(r.state == "overturned" for r in self.red_lines)

    @property
    def outlook(self) -> str:
        """Plain-Chinese outlook for the agent's own page."""
        if self.grade is None:
            return "本月暂无通话"
        if self.red_lines_confirmed:
            return "本月有已确认的禁止行为，考核为 C"
        if self.red_lines_pending:
            return f"按平均分为 {self.grade_by_score}；有待复核的禁止行为，若确认则当月为 C"
        return f"按目前平均分，当月考核为 {self.grade}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["red_lines"] = [{**asdict(r), "started_at": r.started_at.isoformat()
                           if r.started_at else None} for r in self.red_lines]
        d.update(red_lines_pending=self.red_lines_pending,
                 red_lines_confirmed=self.red_lines_confirmed,
                 red_lines_overturned=self.red_lines_overturned, outlook=self.outlook)
        return d


def assess_month(agent_id: str, month: str, calls: Iterable[CallOutcome], *,
                 grading: Grading | None = None, now: datetime | None = None,
                 closed: bool = False) -> MonthlyAssessment:
    """Assess one agent's month from their calls.

    Calls of other agents or other months are ignored (by ``agent_id`` and the local month of
    ``started_at``). ``now`` (default: the current time) decides whether appeal windows have
    closed; ``closed=True`` (a closed month) closes every window.

    Raises:
        ValueError: ``month`` is not ``YYYY-MM``.
    """
    grading = grading or Grading()
    parse_month(month)
    now = _aware(now or datetime.now(timezone.utc))
    mine = [c for c in calls if c.agent_id == agent_id and c.started_at is not None
            and month_of(c.started_at) == month]
    scores = [s for s in (c.effective_score(grading) for c in mine) if s is not None]
    average = round(sum(scores) / len(scores), 2) if scores else None
    red_lines: list[RedLine] = []
    applicable: dict[str, int] = defaultdict(int)
    failed: dict[str, int] = defaultdict(int)
    pending_reviews = 0
    name = team = None
    for c in mine:
        name = name or c.agent_name
        team = team or c.team
        closes = c.window_closes_at(grading)
        window_closed = closed or (closes is not None and now >= closes)
        for f in c.findings:
            st = f.effective_status()
            if st in ("pass", "fail"):
                applicable[f.code] += 1
                failed[f.code] += st == "fail"
            if f.status == "fail" and f.review_state == "pending" and not f.overturned:
                pending_reviews += 1
            if f.status == "fail" and f.code in grading.red_line_codes:
                red_lines.append(RedLine(c.call_id, f.code, red_line_state(f, window_closed),
                                         f.finding_id, c.started_at))
    by_score = grading.grade(average)
    confirmed = any(r.state == "confirmed" for r in red_lines)
    grade = "C" if confirmed and mine else by_score
    rates = {code: {"applicable": applicable[code], "failed": failed[code],
                    "rate": round(failed[code] / applicable[code], 4)}
             for code in sorted(applicable)}
    return MonthlyAssessment(agent_id=agent_id, month=month, calls=len(mine),
                             scored_calls=len(scores), average_score=average, grade=grade,
                             grade_by_score=by_score, red_lines=red_lines, fail_rates=rates,
                             pending_reviews=pending_reviews, agent_name=name, team=team,
                             closed=closed)


def assess_all(month: str, calls: Iterable[CallOutcome], *, grading: Grading | None = None,
               now: datetime | None = None, closed_agents: Iterable[str] = ()
               ) -> list[MonthlyAssessment]:
    """Assess every agent with a call in ``month``, sorted by agent id."""
    calls = list(calls)
    closed = set(closed_agents)
    agents = sorted({c.agent_id for c in calls if c.agent_id and c.started_at
                     and month_of(c.started_at) == month})
    return [assess_month(a, month, calls, grading=grading, now=now, closed=a in closed)
            for a in agents]


@dataclass
class TeamSummary:
    team: str
    agents: int
    calls: int
    average_score: float | None
    grades: dict[str, int]
    red_lines_confirmed: int
    red_lines_pending: int


def team_summaries(assessments: Iterable[MonthlyAssessment]) -> list[TeamSummary]:
    """Roll agent assessments up by team (agents without a team go to ``未分组``); the team
    average is weighted by calls."""
    groups: dict[str, list[MonthlyAssessment]] = defaultdict(list)
    for a in assessments:
        groups[a.team or "未分组"].append(a)
    out = []
    for team, items in sorted(groups.items()):
        total = sum(a.scored_calls for a in items)
        avg = (round(sum((a.average_score or 0) * a.scored_calls for a in items) / total, 2)
               if total else None)
        grades = {g: sum(a.grade == g for a in items) for g in ("A", "B", "C")}
        out.append(TeamSummary(team, len(items), sum(a.calls for a in items), avg, grades,
                               sum(a.red_lines_confirmed for a in items),
                               sum(a.red_lines_pending for a in items)))
    return out


def appeal_deadline(result_available_at: datetime | None, month: str | None = None, *,
                    window_days: float = DEFAULT_APPEAL_WINDOW_DAYS,
                    month_closed: bool = False) -> datetime | None:
    """When the appeal window of a call closes (aware UTC-compatible datetime), or ``None``
    when no result is available yet. A closed month has no window left (returns the epoch)."""
    if month_closed:
        return datetime(1970, 1, 1, tzinfo=timezone.utc)
    if result_available_at is None:
        return None
    return _aware(result_available_at) + timedelta(days=window_days)


def iso_week_range(week: str) -> tuple[date, date]:
    """``[monday, next monday)`` of an ISO week written ``YYYY-Www`` (e.g. ``2026-W47``).

    Raises:
        ValueError: bad format (message in Chinese and English).
    """
    m = re.match(r"^(\d{4})-W(\d{2})$", week or "")
    if not m or not 1 <= int(m.group(2)) <= 53 or not 1900 <= int(m.group(1)) <= 9998:
        raise ValueError(f"周的格式应为 YYYY-Www，例如 2026-W47 / week must be YYYY-Www: {week!r}")
    try:
        monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError as exc:
        raise ValueError(f"无效的周 / invalid week {week!r}: {exc}") from None
    return monday, monday + timedelta(days=7)
