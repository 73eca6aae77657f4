"""The analysis result of a call in the database: storing a report, and re-analysing a stored
call.

:func:`store_report` writes a :class:`qa.records.Report` into a call's rows (findings,
utterances, classification, score) and recomputes the agent's month.

:func:`reanalyze_call` runs the rules, classification and scoring again on the stored
transcript (no speech recognition) with the current scoring form, classifier and active rule
documents (:func:`qa.rule_store.active_rule_set`). Used by supervisors (the API's re-analyse button, which adds the permission checks and the
audit entry) and by the worker when a call's metadata changed after it was analysed (a late
sidecar): in both cases the recognition already done is reused.

Human work is kept where it still applies: a finding whose rule status did not change keeps
its review decision and appeals; a finding whose status changed starts over as ``pending``.
A supervisor's call-type correction stands and is what the rules see. The call is re-scored
and the agent's month recomputed (:func:`qa.worker.store_report` with ``keep_reviews``).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from models import Agent, Call, Classification, Finding, Score, Utterance, utcnow
from qa import alerts
from qa.assessment_store import MACHINE_REASON, active_form, grading, recompute_for_call, rescore
from qa.cases import on_call_stored
from qa.recordings import parse_started_at
from qa.reports import extract_estate, extract_scenario
from qa.rule_store import active_rule_set
from qa.settings import Settings, get_settings
from qa.transcript_index import index_call

__all__ = ["Reanalysis", "jsonable", "reanalyze_call", "store_report", "stored_transcript",
           "type_correction"]


def jsonable(obj: Any) -> Any:
    """JSON-safe copy (numpy scalars → float, paths → str)."""
    def default(o: Any) -> Any:
        if hasattr(o, "item"):
            return o.item()
        if isinstance(o, (Path, datetime)):
            return str(o)
        if hasattr(o, "to_dict"):
            return o.to_dict()
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")
    return json.loads(json.dumps(obj, ensure_ascii=False, default=default))


def store_report(s, call: Call, report: Any, timings: dict[str, float], *,
                 keep_reviews: bool = False, settings: Settings | None = None) -> None:
    """Write a :class:`qa.records.Report` into ``call`` and its child rows (session ``s``),
    replacing the results of any earlier analysis, then recompute the agent's month
    (:func:`qa.assessment_store.recompute_for_call`; a closed month stays frozen).

    By default reviews and appeals of earlier findings go with them (a fresh analysis).
    ``keep_reviews=True`` (re-analysis): a finding whose rule status did not change keeps its
    review state, reviews and appeals (its machine fields are updated); only findings whose
    status changed start over as ``pending``; the call's result date (appeal window) and
    supervisors' type corrections are kept, and the score is the one after the kept reviews
    and appeals (:func:`qa.assessment_store.rescore`).
    """
    settings = settings or get_settings()
    d = jsonable(report.to_dict())
    d["call_id"] = call.id
    tr = report.transcript
    meta = dict(call.meta or {})
    for k, v in (tr.metadata or {}).items():
        meta.setdefault(k, v)
    call.meta = jsonable(meta)
    agent_id = meta.get("agent_id")
    if call.agent_id is None and agent_id not in (None, ""):
        with s.no_autoflush:
            if s.get(Agent, str(agent_id)) is None:
                s.add(Agent(id=str(agent_id), name=str(agent_id)))
        s.flush()
        call.agent_id = str(agent_id)
    if call.started_at is None:
        call.started_at = parse_started_at(meta.get("started_at"), settings.timezone)
    if call.caller_number is None and meta.get("caller_number") is not None:
        call.caller_number = str(meta["caller_number"])
    if tr.duration is not None:
        call.duration = float(tr.duration)
    elif tr.utterances:
        call.duration = max(u.end for u in tr.utterances)

    s.execute(delete(Utterance).where(Utterance.call_id == call.id))
    kept: dict[str, Finding] = {}
    if keep_reviews:
        new_status = {f["code"]: f["status"] for f in d.get("rules", [])}
        for old in s.scalars(select(Finding).where(Finding.call_id == call.id)):
            if new_status.get(old.code) == old.status:
                kept[old.code] = old
            else:
                s.delete(old)  # its reviews and appeals go with it (ORM cascade)
        s.flush()
    else:
        s.execute(delete(Finding).where(Finding.call_id == call.id))
    s.execute(delete(Classification).where(Classification.call_id == call.id,
                                           Classification.kind == "model"))
    s.execute(update(Score).where(Score.call_id == call.id).values(current=False))
    for i, u in enumerate(tr.utterances):
        s.add(Utterance(call_id=call.id, idx=i, speaker=u.speaker, start=u.start, end=u.end,
                        text=u.text, confidence=u.confidence, level_dbfs=u.level_dbfs,
                        words=None if u.words is None else [w.to_dict() for w in u.words]))
    index_call(s, call.id)
    # the active scoring form is the only source of red lines (as when re-scoring)
    red_codes = grading(s, settings).red_line_codes
    for f in d.get("rules", []):
        known = {"code", "status", "confidence", "deduction", "needs_review", "message",
                 "evidence", "red_line"}
        red = f["status"] == "fail" and f["code"] in red_codes
        values = dict(confidence=float(f.get("confidence", 1.0)),
                      deduction=float(f.get("deduction") or 0),
                      needs_review=bool(f.get("needs_review", False)), red_line=red,
                      message=f.get("message"), evidence=f.get("evidence") or [],
                      extra={k: v for k, v in f.items() if k not in known} or None)
        if f["code"] in kept:
            for k, v in values.items():
                setattr(kept[f["code"]], k, v)
        else:
            s.add(Finding(call_id=call.id, code=f["code"], status=f["status"], **values))
    extra = d
    if d.get("call_type"):
        s.add(Classification(
            call_id=call.id, kind="model", call_type=d["call_type"],
            call_type_confidence=extra.get("call_type_confidence"),
            complaint_type=d.get("complaint_type"),
            complaint_confidence=d.get("complaint_confidence"),
            probabilities={k: extra[k] for k in ("call_type_probabilities",
                                                 "complaint_probabilities") if k in extra}
            or None,
            cues=extra.get("cues"), source=extra.get("classification_source"),
            model_version=extra.get("classifier_version")))
    form = extra.get("form") if isinstance(extra.get("form"), dict) else {}
    # a red-line fail the machine counted (qa.scoring.score_findings: not routed to review, or
    # deducted), by the active form's red lines
    red_line = any(f["status"] == "fail" and f["code"] in red_codes
                   and (not f.get("needs_review") or f.get("deduction"))
                   for f in d.get("rules", []))
    # the machine's score: re-scoring starts from this row (qa.assessment_store.machine_score)
    s.add(Score(call_id=call.id, score=float(d["score"]), red_line=red_line,
                form_name=form.get("name"),
                form_version=None if form.get("version") is None else str(form["version"]),
                breakdown=extra.get("score_breakdown"), current=True, reason=MACHINE_REASON))
    call.score = float(d["score"])
    call.red_line = red_line
    corrected = keep_reviews and s.scalar(
        select(func.count()).select_from(Classification).where(
            Classification.call_id == call.id, Classification.kind == "correction"))
    if not corrected:  # a supervisor's correction stands over the model's new guess
        call.call_type = d.get("call_type")
        call.call_type_confidence = extra.get("call_type_confidence")
        call.complaint_type = d.get("complaint_type")
        call.complaint_confidence = d.get("complaint_confidence")
    confidences = [float(f.get("confidence", 1.0)) for f in d.get("rules", [])]
    call.confidences = {"call_type": extra.get("call_type_confidence"),
                        "complaint": d.get("complaint_confidence"),
                        "findings_min": min(confidences) if confidences else None}
    # speaker separation of a mono call uncertain (report-level flag) or a fail to confirm
    call.needs_review = bool(d.get("needs_review")) or any(
        f.get("needs_review") for f in d.get("rules", []))
    for col in ("scenario", "estate", "follow_up_status"):
        if isinstance(extra.get(col), str):
            setattr(call, col, extra[col])
    # complaint statistics (standards 3.7.2) and the weekly report need these; a value a
    # supervisor already set (re-analysis) stands
    if call.scenario is None:
        call.scenario = extract_scenario(tr)
    if call.estate is None:
        call.estate = extract_estate(tr)
    if call.follow_up_status is None and call.call_type == "complaint":
        call.follow_up_status = "open"
    call.report = d  # the machine's snapshot: current state is in the rows written above
    call.timings = timings
    call.status = "done"
    call.error = None
    call.processed_at = utcnow()
    if not keep_reviews or call.result_available_at is None:
        call.result_available_at = call.processed_at
    s.flush()
    on_call_stored(s, call, settings)  # a complaint/repair case, promises
    alerts.on_call_stored(s, call, settings)  # red line, low score: outbox
    if keep_reviews:  # kept reviews and appeals count: the score after them, then the month
        rescore(s, call, settings, "reanalysis")
    else:
        s.expire(call, ["findings"])  # the month is computed from the rows just written
        recompute_for_call(s, call, settings)




def stored_transcript(call: Call) -> dict[str, Any] | None:
    """The call's transcript document (RULES.md): the one in the stored report, else rebuilt
    from the utterance rows; ``None`` when the call has none."""
    tr = (call.report or {}).get("transcript")
    if isinstance(tr, dict) and tr.get("utterances") is not None:
        return dict(tr, call_id=call.id)
    if not call.utterances:
        return None
    return {"call_id": call.id, "duration": call.duration, "metadata": dict(call.meta or {}),
            "utterances": [{"speaker": u.speaker, "start": u.start, "end": u.end,
                            "text": u.text, "words": u.words or None,
                            "confidence": u.confidence, "level_dbfs": u.level_dbfs}
                           for u in call.utterances]}


def type_correction(s: Session, call: Call):
    """The supervisor's latest call-type correction as a classifier decision, else ``None``."""
    c = s.scalar(select(Classification).where(Classification.call_id == call.id,
                                              Classification.kind == "correction")
                 .order_by(Classification.id.desc()).limit(1))
    if c is None:
        return None
    from classifiers.records import Classification as Decision
    return Decision(c.call_type, 1.0, c.complaint_type, 1.0 if c.complaint_type else None)


@dataclass
class Reanalysis:
    """What a re-analysis changed.

    Attributes:
        score_before / score: the call's score (after reviews and appeals) before and after.
        changed: rule codes whose status changed, as ``{code: [before, after]}``.
        kept_reviews: codes whose review decision or appeals were kept.
        dropped_reviews: codes whose review or appeals went because the status changed.
        seconds: time spent on rules, classification and scoring.
    """

    score_before: float | None
    score: float | None
    changed: dict[str, list[str | None]] = field(default_factory=dict)
    kept_reviews: list[str] = field(default_factory=list)
    dropped_reviews: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0


def reanalyze_call(s: Session, call: Call, settings: Settings | None = None,
                   transcript: dict[str, Any] | None = None,
                   timing_key: str = "reanalyze") -> Reanalysis | None:
    """Re-run rules + classification + scoring on ``call``'s stored transcript (or the given
    ``transcript`` document), with the call's current metadata over the transcript's, in
    session ``s`` and store the result, keeping the reviews that still apply. Returns ``None``
    when there is no transcript to re-analyse (no permission or month checks here: callers
    decide who may)."""
    from qa.engine import analyze

    transcript = transcript if transcript is not None else stored_transcript(call)
    if transcript is None:
        return None
    transcript = dict(transcript, metadata={**(transcript.get("metadata") or {}),
                                            **(call.meta or {})})
    t0 = time.perf_counter()
    before = {f.code: (f.status, f.review_state, len(f.appeals)) for f in call.findings}
    score_before = call.score
    correction = type_correction(s, call)
    rule_set = active_rule_set(s)  # the supervisors' active rule documents (rule studio)
    report = analyze(transcript, form=active_form(s), classification=correction,
                     rule_set=rule_set)
    if correction is not None:
        report.extra["classification_source"] = "correction"
    seconds = round(time.perf_counter() - t0, 3)
    store_report(s, call, report, {**(call.timings or {}), timing_key: seconds},
                 keep_reviews=True, settings=settings)
    after = {f.code: f.status for f in report.rules}
    changed = {c: [before.get(c, (None,))[0], st] for c, st in sorted(after.items())
               if before.get(c, (None,))[0] != st}
    kept = sorted(c for c, (st, state, appeals) in before.items()
                  if after.get(c) == st and (state != "pending" or appeals))
    dropped = {c: {"status": before[c][0], "review_state": before[c][1],
                   "appeals": before[c][2]} for c in changed
               if c in before and (before[c][1] != "pending" or before[c][2])}
    return Reanalysis(score_before, call.score, changed, kept, dropped, seconds)
