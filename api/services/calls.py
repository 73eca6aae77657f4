"""Calls as people see them: visibility by role, the filtered list, the detail page data, the
audio file, and the review queue.

Agents see only calls whose ``agent_id`` is their own; anything else is reported as *not found*
(never "forbidden"), so a guessed id reveals nothing.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.orm import Session, selectinload

from api.services.errors import Forbidden, Invalid, NotFound
from models import Agent, Appeal, Call, Finding, Review, User
from models.tables import CalibrationCall, CalibrationReviewer, CalibrationSession
from qa.assessment_store import grading, local_tz, outcome_of
from qa.recordings import STARTED_AT_YEARS
from qa.settings import Settings

CALL_NOT_FOUND = "通话不存在或无权查看 / call not found"
SORTS = {"started_at": Call.started_at, "score": Call.score, "created_at": Call.created_at}


def visible(q: Select, user: User) -> Select:
    """Restrict a ``select(Call)`` to the calls ``user`` may see."""
    if user.role == "agent":
        return q.where(Call.agent_id == user.agent_id) if user.agent_id else q.where(False)
    return q


def get_call(db: Session, user: User, call_id: str, *, details: bool = False) -> Call:
    """The call if ``user`` may see it. Raises :class:`NotFound` otherwise."""
    q = visible(select(Call).where(Call.id == call_id), user)
    if details:
        q = q.options(selectinload(Call.findings).selectinload(Finding.appeals),
                      selectinload(Call.findings).selectinload(Finding.reviews),
                      selectinload(Call.classifications), selectinload(Call.scores),
                      selectinload(Call.agent))
    call = db.scalar(q)
    if call is None:
        raise NotFound(CALL_NOT_FOUND)
    return call


def get_finding(db: Session, user: User, finding_id: int) -> Finding:
    """The finding if ``user`` may see its call. Raises :class:`NotFound` otherwise,
    :class:`Forbidden` while ``user`` scores its call blind (:func:`blind_call_ids`)."""
    f = db.get(Finding, finding_id)
    if f is None:
        raise NotFound("质检项不存在或无权查看 / finding not found")
    if user.role == "agent" and (not user.agent_id or f.call.agent_id != user.agent_id):
        raise NotFound("质检项不存在或无权查看 / finding not found")
    _not_blind(db, user, f.call_id)
    return f


BLIND = ("这通电话在您参加的校准任务中，提交评分之前不能查看机器的质检结果，请先在“校准”页完成评分"
         " / you score this call blind in a calibration session: submit your scores first")


def blind_call_ids(db: Session, user: User, call_ids=None) -> set[str]:
    """The calls ``user`` scores in an open calibration session and has not submitted yet:
    the machine's verdicts on them stay hidden from that reviewer until they submit
    (``call_ids``: only among these)."""
    if user.role == "agent":
        return set()
    q = (select(CalibrationCall.call_id)
         .join(CalibrationReviewer,
               CalibrationReviewer.session_id == CalibrationCall.session_id)
         .join(CalibrationSession, CalibrationSession.id == CalibrationCall.session_id)
         .where(CalibrationReviewer.user_id == user.id,
                CalibrationReviewer.submitted_at.is_(None),
                CalibrationSession.state == "open"))
    if call_ids is not None:
        q = q.where(CalibrationCall.call_id.in_(list(call_ids)))
    return set(db.scalars(q))


def _not_blind(db: Session, user: User, call_id: str) -> None:
    if blind_call_ids(db, user, [call_id]):
        raise Forbidden(BLIND)


def _blinded(row: dict[str, Any]) -> dict[str, Any]:
    """A call-list row without the machine's verdicts (a blind reviewer's view)."""
    return {**row, "score": None, "red_line": None, "needs_review": False,
            "failed_rules": [], "pending_reviews": 0, "blind": True}


@dataclass
class CallFilters:
    """Filters of the call list (all optional). Dates are local calendar days, inclusive."""

    agent_id: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    score_min: float | None = None
    score_max: float | None = None
    rule_failed: str | None = None
    call_type: str | None = None
    complaint_type: str | None = None
    review_state: str | None = None  # pending | reviewed | upheld | overturned | none
    status: str | None = None
    red_line: bool | None = None
    needs_review: bool | None = None
    estate: str | None = None
    scenario: str | None = None
    follow_up_status: str | None = None
    q: str | None = None
    sort: str = "-started_at"
    page: int = 1
    page_size: int = 50
    extra: dict[str, Any] = field(default_factory=dict)


REVIEW_FILTERS = ("pending", "reviewed", "upheld", "overturned", "none")


def _apply_filters(q: Select, f: CallFilters, settings: Settings) -> Select:
    tz = local_tz(settings)
    lo, hi = STARTED_AT_YEARS
    for value in (f.date_from, f.date_to):
        if value and not lo <= value.year <= hi:
            raise Invalid(f"日期超出范围（应在 {lo}–{hi} 年之间）/ date out of range "
                          f"(years {lo}–{hi}): {value.isoformat()}")
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise Invalid("开始日期不能晚于结束日期 / date_from is after date_to")
    if f.score_min is not None and f.score_max is not None and f.score_min > f.score_max:
        raise Invalid("最低分不能高于最高分 / score_min is above score_max")
    if f.agent_id:
        q = q.where(Call.agent_id == f.agent_id)
    if f.date_from:
        q = q.where(Call.started_at >= datetime.combine(f.date_from, time(), tz)
                    .astimezone(timezone.utc))
    if f.date_to:
        q = q.where(Call.started_at < datetime.combine(f.date_to + timedelta(days=1), time(), tz)
                    .astimezone(timezone.utc))
    if f.score_min is not None:
        q = q.where(Call.score >= f.score_min)
    if f.score_max is not None:
        q = q.where(Call.score <= f.score_max)
    for col, value in ((Call.call_type, f.call_type), (Call.complaint_type, f.complaint_type),
                       (Call.status, f.status), (Call.estate, f.estate),
                       (Call.scenario, f.scenario), (Call.red_line, f.red_line),
                       (Call.needs_review, f.needs_review)):
        if value is not None and value != "":
            q = q.where(col == value)
    if f.follow_up_status:
        q = q.where(func.coalesce(Call.follow_up_status, "open") == f.follow_up_status)
    if f.rule_failed:  # IN, not EXISTS: the planner starts from the (rare) fails of the rule
        q = q.where(Call.id.in_(select(Finding.call_id).where(
            Finding.code == f.rule_failed, Finding.status == "fail",
            Finding.review_state != "overturned")))
    if f.review_state:
        if f.review_state not in REVIEW_FILTERS:
            raise Invalid(f"复核状态只能是 {'/'.join(REVIEW_FILTERS)} / bad review_state")
        fails = and_(Finding.call_id == Call.id, Finding.status == "fail")
        if f.review_state == "pending":  # denormalised: calls(review_pending, started_at, id)
            q = q.where(Call.review_pending.is_(True))
        elif f.review_state in ("upheld", "overturned"):  # IN: from the state index
            q = q.where(Call.id.in_(select(Finding.call_id).where(
                Finding.status == "fail", Finding.review_state == f.review_state)))
        elif f.review_state == "reviewed":
            q = q.where(Call.review_pending.is_(False), exists().where(fails))
        else:  # none: no fails at all
            q = q.where(~exists().where(fails))
    if f.q:
        like = f"%{f.q}%"
        q = q.where(Call.id.like(like) | Call.filename.like(like) | Call.caller_number.like(like))
    return q


def list_calls(db: Session, user: User, f: CallFilters, settings: Settings
               ) -> tuple[list[dict[str, Any]], int]:
    """One page of the calls ``user`` may see, newest first by default, and the total."""
    if f.page < 1 or not 1 <= f.page_size <= 500:
        raise Invalid("分页参数无效（page ≥ 1，page_size 1–500）/ bad paging")
    key = f.sort.lstrip("-")
    if key not in SORTS:
        raise Invalid(f"排序字段只能是 {', '.join(SORTS)} / bad sort")
    base = _apply_filters(visible(select(Call), user), f, settings)
    total = db.scalar(select(func.count()).select_from(base.with_only_columns(Call.id)
                                                         .subquery())) or 0
    col = SORTS[key]
    order = (col.desc() if f.sort.startswith("-") else col.asc()).nulls_last()
    # the page's ids first (narrow rows: sorting/skipping never reads the wide call rows),
    # then those calls
    ids = list(db.scalars(base.with_only_columns(Call.id).order_by(order, Call.id)
                          .offset((f.page - 1) * f.page_size).limit(f.page_size)))
    found = {c.id: c for c in db.scalars(select(Call).where(Call.id.in_(ids))
                                         .options(selectinload(Call.agent)))} if ids else {}
    rows = [found[i] for i in ids if i in found]
    blind = blind_call_ids(db, user, ids) if ids else set()
    out = [summary(db, c, fails) for c, fails in zip(rows, _fails_of(db, rows))]
    return [_blinded(r) if r["id"] in blind else r for r in out], total


def _fails_of(db: Session, calls: list[Call]) -> list[list[Finding]]:
    if not calls:
        return []
    by_call: dict[str, list[Finding]] = {c.id: [] for c in calls}
    for f in db.scalars(select(Finding).where(Finding.call_id.in_(by_call),
                                              Finding.status == "fail")):
        by_call[f.call_id].append(f)
    return [by_call[c.id] for c in calls]


def summary(db: Session, call: Call, fails: list[Finding] | None = None) -> dict[str, Any]:
    if fails is None:
        fails = [f for f in call.findings if f.status == "fail"]
    return {
        "id": call.id, "filename": call.filename, "agent_id": call.agent_id,
        "agent_name": call.agent.name if call.agent else None,
        "caller_number": call.caller_number, "started_at": call.started_at,
        "duration": call.duration, "status": call.status, "score": call.score,
        "red_line": call.red_line, "call_type": call.call_type,
        "complaint_type": call.complaint_type, "needs_review": call.needs_review,
        "scenario": call.scenario, "estate": call.estate,
        "follow_up_status": call.follow_up_status or ("open" if call.call_type == "complaint"
                                                      else None),
        "failed_rules": sorted(f.code for f in fails if f.review_state != "overturned"),
        "pending_reviews": sum(f.review_state == "pending" for f in fails),
    }


def rule_names() -> dict[str, str]:
    try:
        from qa.rules import rule_classes
        return {r.code: r.name for r in rule_classes()}
    except Exception:  # noqa: BLE001 - the catalogue is optional for the detail page
        return {}


def detail(db: Session, user: User, call_id: str, settings: Settings) -> dict[str, Any]:
    """Everything the call page shows: summary, metadata, transcript, findings with reviews and
    appeals, classifications, scores, the appeal deadline."""
    from qa.assessment_store import appeal_deadline_for

    call = get_call(db, user, call_id, details=True)
    _not_blind(db, user, call.id)
    names = rule_names()
    users = {u.id: u.username for u in db.scalars(select(User))}
    deadline = appeal_deadline_for(db, call, settings)
    now = datetime.now(timezone.utc)
    g = grading(db, settings)
    findings = []
    for f in call.findings:
        findings.append({
            "id": f.id, "call_id": f.call_id, "code": f.code, "name": names.get(f.code),
            "status": f.status, "confidence": f.confidence, "deduction": f.deduction,
            "needs_review": f.needs_review, "red_line": f.code in g.red_line_codes,
            "message": f.message, "evidence": f.evidence or [], "extra": f.extra,
            "review_state": f.review_state, "review_comment": f.review_comment,
            "reviewed_at": f.reviewed_at,
            "appeals": [appeal_public(a) for a in f.appeals],
            "reviews": [{"id": r.id, "finding_id": r.finding_id, "decision": r.decision,
                         "comment": r.comment, "reviewer": users.get(r.reviewer_id),
                         "created_at": r.created_at} for r in f.reviews],
        })
    report = call.report or {}
    transcript = report.get("transcript")
    if transcript is None and call.utterances:
        transcript = {"call_id": call.id, "duration": call.duration, "metadata": call.meta or {},
                      "utterances": [{"speaker": u.speaker, "start": u.start, "end": u.end,
                                      "text": u.text, "words": u.words or None,
                                      "confidence": u.confidence, "level_dbfs": u.level_dbfs}
                                     for u in call.utterances]}
    out = summary(db, call)
    out.update(
        metadata=call.meta or {}, result_available_at=call.result_available_at,
        appeal_deadline=deadline,
        can_appeal=bool(user.role == "agent" and deadline is not None and now <= deadline),
        effective_score=call.score, transcript=transcript, findings=findings,
        classifications=list(call.classifications), scores=list(call.scores),
        audio_url=f"/api/v1/calls/{call.id}/audio" if call.media_type == "audio" else None,
        error=call.error, review_reasons=list((call.report or {}).get("review_reasons") or []))
    from api.services.acknowledgements import of_call
    from models import Case, CaseCall
    from qa.cases import case_view
    out["acknowledgements"] = of_call(db, call.id)
    link = db.get(CaseCall, call.id)
    case = db.get(Case, link.case_id) if link else None
    out["case"] = case_view(db, case, settings) if case else None
    return out


def appeal_public(a: Appeal) -> dict[str, Any]:
    return {"id": a.id, "finding_id": a.finding_id, "call_id": a.call_id,
            "agent_id": a.agent_id, "reason": a.reason, "state": a.state, "reply": a.reply,
            "created_at": a.created_at, "decided_at": a.decided_at,
            "rule_code": a.finding.code if a.finding else None}


AUDIO_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".m4a": "audio/mp4",
               ".ogg": "audio/ogg", ".opus": "audio/ogg", ".flac": "audio/flac",
               ".amr": "audio/amr", ".aac": "audio/aac", ".wma": "audio/x-ms-wma"}


def audio_file(db: Session, user: User, call_id: str) -> tuple[Path, str]:
    """The stored recording of a visible call and its media type.

    Raises:
        NotFound: the call is not visible, is a transcript, or its file is missing.
    """
    call = get_call(db, user, call_id)
    path = Path(call.store_path or call.source_path or "")
    if call.media_type != "audio" or not path.is_file():
        raise NotFound("该通话没有可播放的录音 / no audio for this call")
    return path, AUDIO_TYPES.get(path.suffix.lower(), "application/octet-stream")


# --- review queue -------------------------------------------------------------------------------

def _sampled(call_id: str, share: float) -> bool:
    h = int.from_bytes(hashlib.sha256(call_id.encode()).digest()[:4], "big")
    return h / 2**32 < share


def review_queue(db: Session, settings: Settings, *, limit: int = 50,
                 agent_id: str | None = None, user: User | None = None
                 ) -> list[dict[str, Any]]:
    """Calls awaiting a supervisor, in order: red-line fails pending review (newest first),
    then low-confidence fails (lowest confidence first; ``speaker_uncertain`` when the call's
    speaker separation is uncertain), then other calls with uncertain speaker separation that
    nobody has looked at, then a stable random share
    (``settings.review_sample_share``) of calls the machine passed that nobody has looked at.
    ``user``: leave out the calls they score blind (:func:`blind_call_ids`)."""
    if not 1 <= limit <= 500:
        raise Invalid("limit 应在 1–500 之间 / limit must be 1-500")
    g = grading(db, settings)
    pending = (select(Finding).join(Call).where(
        Call.status == "done", Finding.status == "fail", Finding.review_state == "pending",
        ~exists().where(Appeal.finding_id == Finding.id, Appeal.state == "accepted")))
    if agent_id:
        pending = pending.where(Call.agent_id == agent_id)
    out: list[dict[str, Any]] = []
    seen: set[str] = blind_call_ids(db, user) if user is not None else set()

    def add(call: Call, reason: str, ids: list[int]) -> None:
        if call.id not in seen and len(out) < limit:
            seen.add(call.id)
            out.append({"call": summary(db, call), "reason": reason, "finding_ids": ids})

    # the active form's red lines, the only source (a form may remove one)
    red = db.scalars(pending.where(Finding.code.in_(g.red_line_codes))
                     .order_by(Call.started_at.desc()).limit(limit * 2))
    for f in red:
        add(f.call, "red_line", [x.id for x in f.call.findings if x.status == "fail"
                                 and x.review_state == "pending"
                                 and x.code in g.red_line_codes])
    if len(out) < limit:
        low = db.scalars(pending.where(Finding.needs_review.is_(True))
                         .order_by(Finding.confidence.asc(), Call.started_at.desc())
                         .limit(limit * 2))
        for f in low:
            add(f.call, "speaker_uncertain" if speaker_uncertain(f.call) else "low_confidence",
                [x.id for x in f.call.findings if x.status == "fail"
                 and x.review_state == "pending" and x.needs_review])
    if len(out) < limit:  # mono calls whose speakers are a guess, not yet looked at
        unsure = (select(Call).where(
            Call.status == "done", Call.needs_review.is_(True),
            ~exists().where(Review.call_id == Call.id)).order_by(Call.started_at.desc()))
        if agent_id:
            unsure = unsure.where(Call.agent_id == agent_id)
        for call in db.scalars(unsure.limit(limit * 2)):
            if speaker_uncertain(call):
                add(call, "speaker_uncertain", [x.id for x in call.findings
                                                if x.status == "fail"
                                                and x.review_state == "pending"])
    if len(out) < limit and settings.review_sample_share > 0:
        passed = (select(Call.id).where(
            Call.status == "done",
            ~exists().where(Finding.call_id == Call.id, Finding.status == "fail"),
            ~exists().where(Review.call_id == Call.id)).order_by(Call.started_at.desc()))
        if agent_id:
            passed = passed.where(Call.agent_id == agent_id)
        # read newest first, in batches, until enough are sampled (not every passed call)
        rows = db.scalars(passed.execution_options(yield_per=500))
        ids = []
        for i in rows:
            if _sampled(i, settings.review_sample_share):
                ids.append(i)
                if len(ids) >= limit - len(out):
                    break
        rows.close()
        for cid in ids:
            add(db.get(Call, cid), "sample", [])
    return out


def speaker_uncertain(call: Call) -> bool:
    """Whether the call's speaker separation was uncertain (report ``review_reasons``, set by
    :func:`qa.engine.analyze` for mono calls whose agent/customer labels are a guess)."""
    return bool((call.report or {}).get("review_reasons"))


def agent_exists(db: Session, agent_id: str) -> bool:
    return db.get(Agent, agent_id) is not None


def outcome(db: Session, call: Call, settings: Settings):
    return outcome_of(call, local_tz(settings))
