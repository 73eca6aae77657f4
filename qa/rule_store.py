"""Supervisors' rule documents in the database (规则工作室): the rule set the analysis runs,
the dry run of a document on stored calls or transcript files, and re-scoring past calls.

The documents themselves (parsing, validation, evaluation) are :mod:`qa.custom_rules`; the
tables are :class:`models.RuleDocument` / :class:`models.RuleVersion`. This module is what
the workers, the re-analysis and the CLI read them through (the API's service,
:mod:`api.services.rule_studio`, adds permissions and the audit log).

* :func:`active_rule_set`: the active versions as a :class:`qa.custom_rules.RuleSet` (or
  ``None`` when no document is active), cached by a cheap stamp (code, version and SHA-256
  of each active version: one small query), so a worker does not parse the documents again
  for every call;
* :func:`dry_run`: one document on the last N stored calls (or those started in a date range),
  from the stored transcripts (utterance rows, loaded a batch of calls per query; audio is
  never recognised), with the precision and recall against supervisors' verdicts;
  :func:`dry_run_transcripts` does the same on transcript documents (files);
* :func:`queue_rescore`: queue a re-analysis job for every analysed call of a date range (the
  workers run the rules, classification and scoring again on the stored transcript).

Example::

    with session_scope() as db:
        doc = parse_document(Path("x001.yaml").read_text())
        result = dry_run(db, doc, last_n=500)
        result.counts, result.precision, result.recall
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timedelta, timezone
from typing import Any, Iterable, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from models import Agent, Call, Finding, Job, RuleDocument, RuleVersion
from qa.records import Transcript, Utterance, Word
from qa.settings import Settings, get_settings

log = logging.getLogger("hotline_qa.rule_store")

__all__ = ["DryRun", "DryRunItem", "Verdicts", "active_documents", "active_rule_set",
           "active_stamp", "check_dates", "dry_run", "dry_run_transcripts", "queue_rescore", "select_calls",
           "stored_transcripts", "DEFAULT_LAST_N", "BATCH"]

#: Calls a dry run takes when neither a number nor a date range is given.
DEFAULT_LAST_N = 200
#: Calls whose utterances one query loads.
BATCH = 500

# --------------------------------------------------------------------------- the active rules

_cache_lock = threading.Lock()
_cache: dict[tuple, Any] = {}
_CACHE_MAX = 8


def active_stamp(session: Session) -> tuple[tuple[str, int, str], ...]:
    """``(code, version, sha256)`` of every active version, by code: what the active rule set
    is made of (versions are never edited, so equal stamps mean equal documents)."""
    rows = session.execute(
        select(RuleDocument.code, RuleVersion.version, RuleVersion.sha256)
        .join(RuleVersion, and_(RuleVersion.code == RuleDocument.code,
                                RuleVersion.version == RuleDocument.active_version))
        .order_by(RuleDocument.code)).all()
    return tuple((r[0], int(r[1]), r[2]) for r in rows)


def active_documents(session: Session) -> list[Any]:
    """The active versions, parsed (:class:`qa.custom_rules.RuleDocument`), by code. A stored
    text the parser no longer accepts is left out (logged), never stops the analysis."""
    from qa.custom_rules import RuleDocumentError, parse_document

    rows = session.execute(
        select(RuleVersion.code, RuleVersion.version, RuleVersion.yaml_text)
        .join(RuleDocument, and_(RuleVersion.code == RuleDocument.code,
                                 RuleVersion.version == RuleDocument.active_version))
        .order_by(RuleVersion.code)).all()
    docs = []
    for code, version, text in rows:
        try:
            docs.append(parse_document(text))
        except RuleDocumentError as exc:
            log.error("active rule document %s v%s is not valid any more, left out: %s",
                      code, version, exc)
    return docs


def active_rule_set(session: Session) -> Any:
    """The rule set the analysis runs (:class:`qa.custom_rules.RuleSet`: built-in rules with
    the active overrides, plus the active custom rules), or ``None`` when no document is
    active (the built-in catalogue as shipped). Cached per stamp (:func:`active_stamp`)."""
    stamp = active_stamp(session)
    if not stamp:
        return None
    with _cache_lock:
        hit = _cache.get(stamp)
    if hit is not None:
        return hit
    from qa.custom_rules import RuleSet

    rule_set = RuleSet.from_documents(active_documents(session))
    with _cache_lock:
        if len(_cache) >= _CACHE_MAX:
            _cache.pop(next(iter(_cache)))
        _cache[stamp] = rule_set
    return rule_set


# --------------------------------------------------------------------------- dry run


@dataclass
class DryRunItem:
    """One call of a dry run: the document's finding on it (and the supervisor's verdict on the
    reference code's earlier finding, when there is one: ``"fail"`` upheld, ``"pass"``
    overturned)."""

    call_id: str | None
    started_at: datetime | None
    agent_id: str | None
    agent_name: str | None
    status: str
    confidence: float
    message: str | None
    evidence: list[dict[str, Any]]
    verdict: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"call_id": self.call_id,
                "started_at": self.started_at.isoformat() if self.started_at else None,
                "agent_id": self.agent_id, "agent_name": self.agent_name,
                "status": self.status, "confidence": self.confidence,
                "message": self.message, "evidence": self.evidence, "verdict": self.verdict}


@dataclass
class DryRun:
    """What a document would say on a set of calls.

    Attributes:
        code: the document's code; ``reference_code``: whose reviewed findings are the
            verdicts (an override: the built-in code; a custom code: its earlier findings).
        counts: calls per status (``pass``/``fail``/``n/a``).
        items: one per call, newest first.
        verdicts: calls with a supervisor's verdict; ``true_fail``/``false_fail`` (the
            document fails an upheld / an overturned fail), ``missed_fail`` (does not fail an
            upheld one), ``true_pass``.
        precision / recall: of the document's fails against the verdicts (``None`` without
            the calls to compute them).
        seconds: elapsed time of the whole dry run.
    """

    code: str
    reference_code: str
    counts: dict[str, int]
    items: list[DryRunItem]
    verdicts: dict[str, int] = field(default_factory=dict)
    precision: float | None = None
    recall: float | None = None
    seconds: float = 0.0
    #: ``stored`` (verdicts: supervisors' reviews) or ``files`` (verdicts: the files' labels)
    source: str = "stored"

    @property
    def calls(self) -> int:
        return len(self.items)

    def to_dict(self, *, items: bool = True) -> dict[str, Any]:
        out = {"code": self.code, "reference_code": self.reference_code,
               "source": self.source, "calls": self.calls,
               "counts": dict(self.counts), "verdicts": dict(self.verdicts),
               "precision": self.precision, "recall": self.recall, "seconds": self.seconds}
        if items:
            out["items"] = [i.to_dict() for i in self.items]
        return out


@dataclass
class Verdicts:
    """Supervisors' verdicts on a code's fails: call id -> ``"fail"`` (upheld) or ``"pass"``
    (overturned)."""

    by_call: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, code: str, call_ids: Iterable[str]) -> "Verdicts":
        out: dict[str, str] = {}
        ids = list(call_ids)
        for i in range(0, len(ids), BATCH):
            rows = session.execute(
                select(Finding.call_id, Finding.review_state)
                .where(Finding.code == code, Finding.status == "fail",
                       Finding.review_state.in_(("upheld", "overturned")),
                       Finding.call_id.in_(ids[i:i + BATCH]))).all()
            for cid, state in rows:
                out[cid] = "fail" if state == "upheld" else "pass"
        return cls(out)


def _day_start(d: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, dtime(), tz).astimezone(timezone.utc)


def check_dates(date_from: date | None, date_to: date | None) -> None:
    """Raises ``ValueError`` for a date outside :data:`qa.recordings.STARTED_AT_YEARS` or
    ``date_from`` after ``date_to``."""
    from qa.recordings import STARTED_AT_YEARS
    lo, hi = STARTED_AT_YEARS
    for value in (date_from, date_to):
        if value and not lo <= value.year <= hi:
            raise ValueError(f"日期超出范围（应在 {lo}–{hi} 年之间）/ date out of range "
                             f"(years {lo}–{hi}): {value.isoformat()}")
    if date_from and date_to and date_from > date_to:
        raise ValueError("开始日期不能晚于结束日期 / date_from is after date_to")


def select_calls(session: Session, *, last_n: int | None = None, date_from: date | None = None,
                 date_to: date | None = None, settings: Settings | None = None) -> list[Any]:
    """The analysed calls (status ``done``) a dry run takes, newest first: those started from
    ``date_from`` to ``date_to`` (local days, both included) when either is given (at most
    ``last_n`` of them when given), else the last ``last_n`` (default
    :data:`DEFAULT_LAST_N`). Rows of ``(id, started_at, agent_id, agent name, call_type,
    complaint_type, duration, metadata)``.

    Raises:
        ValueError: a date out of range (:func:`check_dates`), ``date_from`` after
            ``date_to``, or ``last_n`` below 1.
    """
    settings = settings or get_settings()
    tz = ZoneInfo(settings.timezone)
    check_dates(date_from, date_to)
    if last_n is not None and last_n < 1:
        raise ValueError("通话数至少为 1 / last_n must be at least 1")
    q = (select(Call.id, Call.started_at, Call.agent_id, Agent.name, Call.call_type,
                Call.complaint_type, Call.duration, Call.meta)
         .outerjoin(Agent, Agent.id == Call.agent_id).where(Call.status == "done"))
    if date_from:
        q = q.where(Call.started_at >= _day_start(date_from, tz))
    if date_to:
        q = q.where(Call.started_at < _day_start(date_to + timedelta(days=1), tz))
    q = q.order_by(Call.started_at.desc(), Call.id.desc())
    if last_n is not None or not (date_from or date_to):
        q = q.limit(last_n or DEFAULT_LAST_N)
    return list(session.execute(q).all())


def stored_transcripts(session: Session, calls: list[Any]) -> Iterator[tuple[Any, Transcript]]:
    """``(call row, Transcript)`` for the rows of :func:`select_calls`, from the utterance
    rows: one query per :data:`BATCH` calls. Calls without utterances are skipped."""
    from models import Utterance as Row
    for i in range(0, len(calls), BATCH):
        chunk = calls[i:i + BATCH]
        by_call: dict[str, list[Any]] = {}
        rows = session.execute(
            select(Row.call_id, Row.speaker, Row.start, Row.end, Row.text, Row.confidence,
                   Row.level_dbfs, Row.words)
            .where(Row.call_id.in_([c[0] for c in chunk])).order_by(Row.call_id, Row.idx))
        for r in rows:
            words = None if not r[7] else [
                Word(float(w["start"]), float(w["end"]), str(w.get("text", "")),
                     w.get("probability")) for w in r[7]]
            by_call.setdefault(r[0], []).append(
                Utterance(r[1], r[2], r[3], r[4] or "", words, r[5], r[6]))
        for c in chunk:
            utts = by_call.get(c[0])
            if not utts:
                continue
            yield c, Transcript(utterances=utts, call_id=c[0], duration=c[6],
                                metadata=dict(c[7] or {}))


def reference_code(doc: Any) -> str:
    """Whose reviewed findings judge ``doc``: its code (an override names the built-in code it
    changes; a new version of a custom code is judged by that code's earlier findings)."""
    return doc.code


def _finish(doc: Any, items: list[DryRunItem], t0: float) -> DryRun:
    counts = Counter({"pass": 0, "fail": 0, "n/a": 0})
    tally = Counter({"true_fail": 0, "false_fail": 0, "missed_fail": 0, "true_pass": 0})
    for it in items:
        counts[it.status] += 1
        if it.verdict == "fail":
            tally["true_fail" if it.status == "fail" else "missed_fail"] += 1
        elif it.verdict == "pass":
            tally["false_fail" if it.status == "fail" else "true_pass"] += 1
    flagged = tally["true_fail"] + tally["false_fail"]
    actual = tally["true_fail"] + tally["missed_fail"]
    return DryRun(code=doc.code, reference_code=reference_code(doc), counts=dict(counts),
                  items=items, verdicts={"calls": sum(tally.values()), **tally},
                  precision=round(tally["true_fail"] / flagged, 4) if flagged else None,
                  recall=round(tally["true_fail"] / actual, 4) if actual else None,
                  seconds=round(time.perf_counter() - t0, 3))


def _evaluator(doc: Any, tagger: Any):
    """``f(transcript, call_type, complaint_type) -> Finding`` for ``doc``, compiled once
    (:func:`qa.custom_rules.evaluate_document`; a rule that crashes gives ``n/a``)."""
    from qa.custom_rules import needs_acts, evaluate_document
    rule = doc.compile()
    if tagger is None and needs_acts(doc):
        from qa.acts import default_tagger
        tagger = default_tagger()

    def run(transcript: Transcript, call_type: str | None, complaint_type: str | None):
        return evaluate_document(doc, transcript, call_type=call_type,
                                 complaint_type=complaint_type, tagger=tagger, rule=rule)
    return run


def _item(call_id, started_at, agent_id, agent_name, f, verdict) -> DryRunItem:
    return DryRunItem(call_id=call_id, started_at=started_at, agent_id=agent_id,
                      agent_name=agent_name, status=f.status,
                      confidence=round(float(f.confidence), 3), message=f.message,
                      evidence=[e.to_dict() for e in f.evidence], verdict=verdict)


def dry_run(session: Session, doc: Any, *, last_n: int | None = None,
            date_from: date | None = None, date_to: date | None = None,
            settings: Settings | None = None, tagger: Any = None) -> DryRun:
    """Run ``doc`` (a parsed :class:`qa.custom_rules.RuleDocument`) on stored calls
    (:func:`select_calls`) with each call's stored call type and complaint type; nothing is
    written. Precision and recall are against the supervisors' verdicts on the reference
    code's fails of the same calls (:class:`Verdicts`).

    Raises:
        ValueError: a bad selection (see :func:`select_calls`).
    """
    t0 = time.perf_counter()
    calls = select_calls(session, last_n=last_n, date_from=date_from, date_to=date_to,
                         settings=settings)
    verdicts = Verdicts.load(session, reference_code(doc), [c[0] for c in calls]).by_call
    evaluate = _evaluator(doc, tagger)
    items = []
    for c, tr in stored_transcripts(session, calls):
        f = evaluate(tr, c[4], c[5])
        items.append(_item(c[0], c[1], c[2], c[3], f, verdicts.get(c[0])))
    return _finish(doc, items, t0)


def dry_run_transcripts(doc: Any, transcripts: Iterable[tuple[Transcript, dict[str, Any]]],
                        *, tagger: Any = None) -> DryRun:
    """Run ``doc`` on transcript documents: ``(Transcript, labels)`` pairs, where ``labels``
    may give ``call_type``, ``complaint_type`` and the expected ``rules`` statuses (a
    ``*.truth.json`` file's ``labels``: an expected ``fail``/``pass`` of the reference code is
    the verdict). ``source`` of the result: ``files``."""
    t0 = time.perf_counter()
    evaluate = _evaluator(doc, tagger)
    items = []
    ref = reference_code(doc)
    for tr, labels in transcripts:
        labels = labels or {}
        want = (labels.get("rules") or {}).get(ref)
        f = evaluate(tr, labels.get("call_type"), labels.get("complaint_type"))
        meta = tr.metadata or {}
        items.append(_item(tr.call_id, _started(meta.get("started_at")), meta.get("agent_id"),
                           meta.get("agent_name"), f,
                           want if want in ("pass", "fail") else None))
    out = _finish(doc, items, t0)
    out.source = "files"
    return out


def _started(value: Any) -> datetime | None:
    """A transcript's ``metadata.started_at`` (ISO 8601), else ``None``."""
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- re-scoring


@dataclass
class Rescore:
    """What :func:`queue_rescore` did: ``queued`` calls (job ids in ``job_ids``), calls left
    out because their month is closed (``closed_month``), already being processed
    (``busy``) or without a stored transcript (``no_transcript``)."""

    queued: int = 0
    closed_month: int = 0
    busy: int = 0
    no_transcript: int = 0
    job_ids: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"queued": self.queued, "closed_month": self.closed_month, "busy": self.busy,
                "no_transcript": self.no_transcript}


def queue_rescore(session: Session, date_from: date, date_to: date,
                  settings: Settings | None = None) -> Rescore:
    """Queue a re-analysis job (``kind='reanalyze'``) for every analysed call started from
    ``date_from`` to ``date_to`` (local days, both included): a worker then runs the active
    rules, classification and scoring again on its stored transcript, keeping the reviews
    that still apply (:func:`qa.results.reanalyze_call`). Calls of a closed month, calls whose
    job is running and calls without stored utterances are left out. Flushes; the caller
    commits.

    Raises:
        ValueError: a date out of range or ``date_from`` after ``date_to``.
    """
    from models import MonthlyAssessment, Utterance as Row
    from qa.assessment_store import local_month

    settings = settings or get_settings()
    tz = ZoneInfo(settings.timezone)
    check_dates(date_from, date_to)
    lo, hi = _day_start(date_from, tz), _day_start(date_to + timedelta(days=1), tz)
    closed = {(a, m) for a, m in session.execute(
        select(MonthlyAssessment.agent_id, MonthlyAssessment.month)
        .where(MonthlyAssessment.closed.is_(True))).all()}
    calls = session.scalars(select(Call).where(Call.status == "done", Call.started_at >= lo,
                                               Call.started_at < hi)
                            .order_by(Call.started_at, Call.id)).all()
    out = Rescore()
    ids = [c.id for c in calls]
    with_text: set[str] = set()
    for i in range(0, len(ids), BATCH):
        with_text |= set(session.scalars(select(Row.call_id).distinct()
                                         .where(Row.call_id.in_(ids[i:i + BATCH]))))
    jobs: dict[str, Job] = {}
    queued: list[Job] = []
    for i in range(0, len(ids), BATCH):
        jobs.update({j.call_id: j for j in session.scalars(
            select(Job).where(Job.call_id.in_(ids[i:i + BATCH])))})
    for call in calls:
        if call.agent_id is not None and (call.agent_id, local_month(call.started_at, tz)) \
                in closed:
            out.closed_month += 1
            continue
        if call.id not in with_text:
            out.no_transcript += 1
            continue
        job = jobs.get(call.id)
        if job is None:
            job = Job(call_id=call.id, kind="reanalyze", state="queued",
                      max_attempts=settings.job_max_attempts)
            session.add(job)
        elif job.state in ("queued", "running"):
            out.busy += 1
            continue
        else:
            job.state, job.kind, job.next_attempt_at, job.dispatched_at = \
                "queued", "reanalyze", None, None
            job.last_error, job.error_kind, job.finished_at = None, None, None
            job.max_attempts = job.attempts + settings.job_max_attempts
        # the call stays ``done`` (and in its month's figures) until a worker claims it
        queued.append(job)
        out.queued += 1
    session.flush()
    out.job_ids = sorted(j.id for j in queued)
    return out
