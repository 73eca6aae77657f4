"""The monthly assessment and reports over the database: load stored calls as plain records,
compute an agent's month for reading (:func:`assess`, saves nothing), recompute and persist it
where results change (:func:`recompute`, :func:`refresh_months`), close (freeze) a month.

Times in the database are UTC; months and weeks are the call centre's local ones
(``settings.timezone``, default Asia/Shanghai).

Example::

    with session_scope() as db:
        a = recompute(db, "A1001", "2026-11")
        a.grade
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session, selectinload

from models import (Acknowledgement, Agent, Appeal, Call, Finding, MonthlyAssessment, Score,
                    ScoringForm)
from qa import alerts
from qa.assessment import (CallOutcome, FindingOutcome, Grading, MonthlyAssessment as Assessment,
                           RedLine, assess_month, iso_week_range, parse_month)
from qa.rule_store import active_rule_set
from qa.settings import Settings, get_settings

log = logging.getLogger("hotline_qa.assessment_store")


def local_tz(settings: Settings | None = None) -> ZoneInfo:
    return ZoneInfo((settings or get_settings()).timezone)


def month_bounds_utc(month: str, settings: Settings | None = None) -> tuple[datetime, datetime]:
    """UTC ``[start, end)`` of a local month. Raises ``ValueError`` for a bad month."""
    start, end = parse_month(month)
    tz = local_tz(settings)
    return (start.replace(tzinfo=tz).astimezone(timezone.utc),
            end.replace(tzinfo=tz).astimezone(timezone.utc))


def week_bounds_utc(week: str, settings: Settings | None = None) -> tuple[datetime, datetime]:
    monday, nxt = iso_week_range(week)
    tz = local_tz(settings)
    return (datetime(monday.year, monday.month, monday.day, tzinfo=tz).astimezone(timezone.utc),
            datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(timezone.utc))


def grading(db: Session, settings: Settings | None = None) -> Grading:
    """Grading rules from the active scoring form (database, else the shipped default form)
    with the active custom rules' red lines and weights (:func:`qa.rule_store.active_rule_set`),
    and the configured appeal window."""
    settings = settings or get_settings()
    form: Any = None
    try:
        form = active_form(db) or default_form()
        rule_set = active_rule_set(db)
        if rule_set is not None:  # the active custom rules' red lines and default weights
            form = rule_set.form(form)
    except Exception as exc:  # noqa: BLE001 - grading must work without the rules package
        log.warning("scoring form unavailable, using default grade thresholds: %s", exc)
    return Grading.from_form(form, appeal_window_days=settings.appeal_window_days)


def active_form(db: Session) -> Any:
    """The scoring form an admin activated (the newest active row), loaded; ``None`` when
    there is none (the shipped default applies)."""
    row = db.scalar(select(ScoringForm).where(ScoringForm.active.is_(True))
                    .order_by(ScoringForm.id.desc()).limit(1))
    return form_from_text(row.yaml_text) if row is not None else None


def default_form() -> Any:
    """The shipped scoring form (:func:`qa.scoring.load_form`)."""
    from qa.scoring import load_form
    return load_form()


def form_from_text(yaml_text: str) -> Any:
    """A scoring form from its YAML text, validated by :func:`qa.scoring.load_form`.

    Raises:
        whatever ``load_form`` raises for a bad form (its message names the problem).
    """
    import tempfile

    from qa.scoring import load_form
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "form.yaml"
        path.write_text(yaml_text, encoding="utf-8")
        return load_form(path)


def to_local(ts: datetime | None, tz: ZoneInfo) -> datetime | None:
    """A stored (UTC) timestamp as naive local wall-clock time."""
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(tz).replace(tzinfo=None)


def local_month(ts: datetime, tz: ZoneInfo) -> str:
    """The ``YYYY-MM`` month a stored (UTC) timestamp falls in, local time (the month a call
    counts in)."""
    local = to_local(ts, tz)
    return f"{local.year:04d}-{local.month:02d}"


def appeal_state_of(appeals: Iterable[Appeal]) -> str | None:
    states = [a.state for a in appeals]
    for s in ("accepted", "open", "rejected"):
        if s in states:
            return s
    return None


def outcome_of(call: Call, tz: ZoneInfo) -> CallOutcome:
    """A stored call as a :class:`~qa.assessment.CallOutcome` (findings, reviews, appeals)."""
    findings = [FindingOutcome(code=f.code, status=f.status, deduction=f.deduction or 0.0,
                               confidence=f.confidence, needs_review=f.needs_review,
                               review_state=f.review_state,
                               appeal_state=appeal_state_of(f.appeals), finding_id=f.id)
                for f in call.findings]
    agent = call.agent
    return CallOutcome(call_id=call.id, agent_id=call.agent_id,
                       started_at=to_local(call.started_at, tz), score=call.score,
                       findings=findings, result_available_at=call.result_available_at,
                       call_type=call.call_type, complaint_type=call.complaint_type,
                       scenario=call.scenario, estate=call.estate,
                       follow_up_status=call.follow_up_status, caller_number=call.caller_number,
                       agent_name=agent.name if agent else None,
                       team=agent.team if agent else None, duration=call.duration)


def load_outcomes(db: Session, start: datetime, end: datetime, *, agent_id: str | None = None,
                  settings: Settings | None = None) -> list[CallOutcome]:
    """Analysed calls (status ``done``) started in UTC ``[start, end)``."""
    tz = local_tz(settings)
    q = (select(Call).where(Call.status == "done", Call.started_at >= start, Call.started_at < end)
         .options(selectinload(Call.findings).selectinload(Finding.appeals),
                  selectinload(Call.agent)).order_by(Call.started_at))
    if agent_id is not None:
        q = q.where(Call.agent_id == agent_id)
    return [outcome_of(c, tz) for c in db.scalars(q)]


def month_outcomes(db: Session, month: str, *, agent_id: str | None = None,
                   settings: Settings | None = None) -> list[CallOutcome]:
    start, end = month_bounds_utc(month, settings)
    return load_outcomes(db, start, end, agent_id=agent_id, settings=settings)


def _row(db: Session, agent_id: str, month: str) -> MonthlyAssessment | None:
    return db.scalar(select(MonthlyAssessment).where(MonthlyAssessment.agent_id == agent_id,
                                                     MonthlyAssessment.month == month))


def _frozen(row: MonthlyAssessment) -> Assessment:
    f = dict(row.figures or {})
    red = [RedLine(r["call_id"], r["code"], r["state"], r.get("finding_id"),
                   datetime.fromisoformat(r["started_at"]) if r.get("started_at") else None)
           for r in f.get("red_lines", [])]
    return Assessment(agent_id=row.agent_id, month=row.month, calls=f.get("calls", 0),
                      scored_calls=f.get("scored_calls", 0),
                      average_score=f.get("average_score"), grade=f.get("grade"),
                      grade_by_score=f.get("grade_by_score"), red_lines=red,
                      fail_rates=f.get("fail_rates", {}),
                      pending_reviews=f.get("pending_reviews", 0),
                      agent_name=f.get("agent_name"), team=f.get("team"), closed=True)


def is_closed(db: Session, agent_id: str | None, month: str) -> bool:
    if agent_id is None:
        return False
    row = _row(db, agent_id, month)
    return bool(row and row.closed)


def _compute(db: Session, agent_id: str, month: str, *, now: datetime | None = None,
             settings: Settings | None = None, grades: Grading | None = None) -> Assessment:
    """An open month computed from the stored calls (nothing saved)."""
    calls = month_outcomes(db, month, agent_id=agent_id, settings=settings)
    a = assess_month(agent_id, month, calls, grading=grades or grading(db, settings), now=now)
    if a.agent_name is None:
        agent = db.get(Agent, agent_id)
        if agent is not None:
            a.agent_name, a.team = agent.name, agent.team
    return a


def _save(row: MonthlyAssessment, a: Assessment) -> None:
    row.grade, row.average_score, row.call_count = a.grade, a.average_score, a.calls
    row.red_line = a.red_lines_confirmed > 0
    row.figures = a.to_dict()


def assess(db: Session, agent_id: str, month: str, *, now: datetime | None = None,
           settings: Settings | None = None) -> Assessment:
    """An agent's month as it stands, for reading: a closed month's frozen figures, else
    computed from the stored calls at ``now`` (appeal windows that closed since the month was
    last saved count; a month without a row yet is computed all the same). Saves nothing:
    pages and API reads use this; the changes that move a month save it (:func:`recompute`).

    Raises:
        ValueError: bad month.
    """
    row = _row(db, agent_id, month)
    if row is not None and row.closed:
        return _frozen(row)
    return _compute(db, agent_id, month, now=now, settings=settings)


def recompute(db: Session, agent_id: str, month: str, *, now: datetime | None = None,
              settings: Settings | None = None) -> Assessment:
    """Recompute an agent's month from the stored calls and save the figures (a closed month is
    returned frozen, unchanged). For the writes that change a month (results stored, a review
    or appeal, a new form, the periodic check); reads use :func:`assess`. Flushes; the caller
    commits.

    Raises:
        ValueError: bad month.
    """
    row = _row(db, agent_id, month)
    if row is not None and row.closed:
        return _frozen(row)
    a = _compute(db, agent_id, month, now=now, settings=settings)
    if db.get(Agent, agent_id) is None:
        return a  # calls of an unknown agent: nothing to store against
    if row is None:
        row = MonthlyAssessment(agent_id=agent_id, month=month)
        db.add(row)
    _save(row, a)
    db.flush()
    return a


def restamp_red_lines(db: Session, settings: Settings | None = None) -> int:
    """After a new scoring form: ``Finding.red_line`` and ``Call.red_line`` of the stored
    calls follow its red lines (set-based, 500 calls a statement), except the calls of closed
    (frozen) months. A call is a red line when a red-line fail of it is not overturned (by a
    review or an accepted appeal), as :func:`rescore` has it. Returns the calls looked at."""
    codes = sorted(grading(db, settings).red_line_codes)
    tz = local_tz(settings)
    closed = set(db.execute(select(MonthlyAssessment.agent_id, MonthlyAssessment.month)
                            .where(MonthlyAssessment.closed.is_(True))).all())
    ids = []
    for cid, agent, started in db.execute(select(Call.id, Call.agent_id, Call.started_at)
                                          .where(Call.status == "done")):
        if closed and agent and started and (agent, local_month(started, tz)) in closed:
            continue
        ids.append(cid)
    standing = select(Finding.id).where(
        Finding.call_id == Call.id, Finding.red_line.is_(True),
        Finding.review_state.is_distinct_from("overturned"),
        ~select(Appeal.id).where(Appeal.finding_id == Finding.id,
                                 Appeal.state == "accepted").exists())
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        db.execute(update(Finding).where(Finding.call_id.in_(chunk)).values(
            red_line=and_(Finding.status == "fail", Finding.code.in_(codes))
            if codes else False).execution_options(synchronize_session=False))
        db.execute(update(Call).where(Call.id.in_(chunk)).values(
            red_line=standing.exists()).execution_options(synchronize_session=False))
    db.expire_all()
    return len(ids)


def refresh_months(db: Session, settings: Settings | None = None, *,
                   now: datetime | None = None, pending_only: bool = False) -> int:
    """Recompute the stored open months and save those whose figures changed; returns how
    many changed. ``pending_only``: only the months with a red line still pending, the ones
    that change with time alone (an appeal window closing confirms it) — the periodic check
    (:func:`qa.alert_sender.check`). All of them after a new scoring form. Flushes; the caller
    commits."""
    grades = grading(db, settings)
    changed = 0
    rows = db.scalars(select(MonthlyAssessment).where(MonthlyAssessment.closed.is_not(True))
                      .order_by(MonthlyAssessment.month, MonthlyAssessment.agent_id)).all()
    for row in rows:
        if pending_only and not (row.figures or {}).get("red_lines_pending"):
            continue
        a = _compute(db, row.agent_id, row.month, now=now, settings=settings, grades=grades)
        if a.to_dict() != row.figures:
            _save(row, a)
            changed += 1
    db.flush()
    return changed


def recompute_for_call(db: Session, call: Call, settings: Settings | None = None
                       ) -> Assessment | None:
    """Recompute the month of the call's agent (after a review or appeal changed a finding)."""
    if not call.agent_id or not call.started_at:
        return None
    return recompute(db, call.agent_id, local_month(call.started_at, local_tz(settings)),
                     settings=settings)


#: ``Score.reason`` of the row :func:`qa.results.store_report` writes for each analysis: the
#: machine's score, before any review or appeal
MACHINE_REASON = "analysis"


def machine_score_row(db: Session, call: Call) -> Score | None:
    """The ``Score`` row of the call's latest analysis (the machine's score, its form and
    breakdown); ``None`` for a call never stored by :func:`qa.results.store_report`."""
    return db.scalar(select(Score).where(Score.call_id == call.id,
                                         Score.reason == MACHINE_REASON)
                     .order_by(Score.id.desc()).limit(1))


def machine_score(db: Session, call: Call) -> float | None:
    """The machine's score of the call's latest analysis, before reviews and appeals: the
    analysis ``Score`` row (not ``call.report``, the immutable report snapshot); for a call
    without one, the machine score a re-scoring recorded, else ``call.score``."""
    row = machine_score_row(db, call)
    if row is not None:
        return row.score
    first = db.scalar(select(Score).where(Score.call_id == call.id).order_by(Score.id).limit(1))
    recorded = (first.breakdown or {}).get("machine_score") if first is not None else None
    return float(recorded) if recorded is not None else call.score


def rescore(db: Session, call: Call, settings: Settings, reason: str) -> float | None:
    """Recompute the call's score after a human decision (or a new scoring form) from the
    machine's score (:func:`machine_score`) and the findings' review and appeal states; add a
    current ``Score`` row when it changed, refresh the red line of the call and of each finding
    (the active form's red lines, the only source), ``needs_review`` and the agent's month; a
    red line or a low score that the decision brought raises its alert (once per call and
    kind)."""
    db.flush()
    db.refresh(call)
    g = grading(db, settings)
    o = outcome_of(call, local_tz(settings))
    machine = machine_score(db, call)
    o.score = machine
    new = o.effective_score(g)
    for f in call.findings:
        f.red_line = f.status == "fail" and f.code in g.red_line_codes
    call.red_line = any(f.status == "fail" and not f.overturned
                        and (f.code in g.red_line_codes) for f in o.findings)
    # review_reasons (speaker separation uncertain) is machine input the report keeps as it was
    call.needs_review = bool((call.report or {}).get("review_reasons")) or any(
        f.status == "fail" and f.needs_review and f.review_state == "pending"
        for f in o.findings)
    if new is not None and new != call.score:
        for s in call.scores:
            s.current = False
        db.add(Score(call_id=call.id, score=new, red_line=bool(call.red_line), current=True,
                     reason=reason, breakdown={"machine_score": machine}))
        call.score = new
    db.flush()
    alerts.on_call_stored(db, call, settings)
    recompute_for_call(db, call, settings)
    return new


def month_agents(db: Session, month: str, settings: Settings | None = None) -> list[str]:
    start, end = month_bounds_utc(month, settings)
    ids = set(db.scalars(select(Call.agent_id).where(
        Call.status == "done", Call.started_at >= start, Call.started_at < end,
        Call.agent_id.is_not(None)).distinct()))
    ids |= set(db.scalars(select(MonthlyAssessment.agent_id)
                          .where(MonthlyAssessment.month == month)))
    return sorted(ids)


def assessments(db: Session, month: str, *, agent_id: str | None = None,
                settings: Settings | None = None) -> list[Assessment]:
    """Every agent's month (or one agent's) as it stands (:func:`assess`): frozen when closed,
    else computed live. Saves nothing."""
    agents = [agent_id] if agent_id else month_agents(db, month, settings)
    return [assess(db, a, month, settings=settings) for a in agents]


def close_month(db: Session, month: str, *, user_id: int | None = None,
                agent_ids: Iterable[str] | None = None, settings: Settings | None = None
                ) -> list[Assessment]:
    """Close (freeze) a month: every window closes, figures are computed one last time and
    kept; later reviews or appeals no longer change them. Flushes; the caller commits."""
    out = []
    now = datetime.now(timezone.utc)
    ids = list(dict.fromkeys(agent_ids)) if agent_ids else month_agents(db, month, settings)
    for agent_id in ids:
        agent = db.get(Agent, agent_id)
        if agent is None:  # unknown: nothing to close (and nothing to compute)
            continue
        row = _row(db, agent_id, month)
        if row is not None and row.closed:
            out.append(_frozen(row))
            continue
        calls = month_outcomes(db, month, agent_id=agent_id, settings=settings)
        a = assess_month(agent_id, month, calls, grading=grading(db, settings), closed=True)
        a.agent_name, a.team = a.agent_name or agent.name, a.team or agent.team
        if row is None:
            row = MonthlyAssessment(agent_id=agent_id, month=month)
            db.add(row)
        row.grade, row.average_score, row.call_count = a.grade, a.average_score, a.calls
        row.red_line = a.red_lines_confirmed > 0
        row.figures = a.to_dict()
        row.closed, row.closed_at, row.closed_by = True, now, user_id
        out.append(a)
    db.flush()
    return out


def appeal_deadline_for(db: Session, call: Call, settings: Settings | None = None
                        ) -> datetime | None:
    """When the call's appeal window closes (UTC); ``None`` before a result exists. A closed
    month has no window."""
    settings = settings or get_settings()
    if call.result_available_at is None:
        return None
    if is_closed(db, call.agent_id,
                 local_month(call.started_at or call.result_available_at, local_tz(settings))):
        return datetime(1970, 1, 1, tzinfo=timezone.utc)
    ra = call.result_available_at
    ra = ra if ra.tzinfo else ra.replace(tzinfo=timezone.utc)
    return ra + timedelta(days=settings.appeal_window_days)


def acknowledgements(db: Session, month: str, settings: Settings | None = None
                     ) -> list[dict[str, Any]]:
    """Agents' signatures (签收) of a month: per agent, the scored calls, how many the agent
    has acknowledged, and the ids of the others (newest first)."""
    start, end = month_bounds_utc(month, settings)
    calls = db.execute(select(Call.id, Call.agent_id).where(
        Call.status == "done", Call.score.is_not(None), Call.agent_id.is_not(None),
        Call.started_at >= start, Call.started_at < end).order_by(Call.started_at.desc())).all()
    signed = set(db.scalars(select(Acknowledgement.call_id).where(
        Acknowledgement.call_id.in_([c for c, _ in calls])))) if calls else set()
    names = {a.id: a.name for a in db.scalars(select(Agent))}
    out: dict[str, dict[str, Any]] = {}
    for cid, aid in calls:
        row = out.setdefault(aid, {"agent_id": aid, "agent_name": names.get(aid),
                                   "scored_calls": 0, "acknowledged": 0, "missing": []})
        row["scored_calls"] += 1
        if cid in signed:
            row["acknowledged"] += 1
        else:
            row["missing"].append(cid)
    return [out[k] for k in sorted(out)]
