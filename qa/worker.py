"""Workers: claim a job atomically, analyse the call, store everything in one transaction.

The job's state lives in the database (:class:`models.Job`), so any number of worker
processes — the embedded pool of :class:`WorkerPool`, or Celery workers
(:mod:`qa.worker_celery`) on other machines — can share it:

* **claim**: one ``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`` sets
  ``state='running'``, a lease owner and a lease expiry, and counts the attempt; a running job
  whose lease ran out (its worker died) is claimable again and its last attempt is marked
  ``lost``;
* **heartbeat**: while a job runs, a thread extends the lease;
* **finish**: results are written in the same transaction that moves the job from
  ``running`` (held by this owner) to ``done``; a worker that lost its lease writes nothing.
  A worker killed mid-job therefore leaves nothing half-done, and the job is finished exactly
  once by whoever claims it next;
* **errors**: a recording that cannot be decoded (:class:`transcribe.audio.AudioError`) or a
  malformed transcript is permanent: the file goes to the quarantine with a ``.reason.txt`` and
  the job ends ``quarantined``. Anything else is transient: the job waits
  ``retry_backoff_s * 2**(attempt-1)`` seconds and is retried, up to ``job_max_attempts``
  claims, then ends ``failed`` with its last error;
* **dying workers**: when the embedded pool sees a worker process die holding a job
  (:func:`handle_dead_worker`), the attempt ends ``lost`` and the job is resumed at once; a
  job whose worker dies a second time (an input that kills its worker, e.g. out of memory) is
  quarantined with reason ``worker_died`` instead of being retried blindly.

One transcriber and one classifier are built per worker process and reused.
"""
from __future__ import annotations

import importlib
import json
import logging
import multiprocessing as mp
import os
import signal
import socket
import threading
import time
import traceback
import uuid
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.orm.attributes import flag_modified

from models import Call, Job, JobAttempt, make_engine, session_scope
from qa.assessment_store import active_form
from qa.recordings import place_in_store, quarantine_file
from qa.results import jsonable, reanalyze_call, store_report, utcnow
from qa.rule_store import active_rule_set
from qa.settings import Settings, get_settings, use_settings

log = logging.getLogger("hotline_qa.worker")

FINAL_STATES = ("done", "failed", "quarantined")


def worker_name() -> str:
    """A lease owner id unique to this process: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------- analysis


@lru_cache(maxsize=1)
def _transcriber():
    from qa.pipeline import make_transcriber
    log.info("loading the transcriber (once per worker process)")
    return make_transcriber()


def default_analyzer(path: Path, metadata: dict[str, Any], media_type: str, form: Any = None,
                     rule_set: Any = None):
    """Analyse one stored call file with :func:`qa.pipeline.analyze_file`, reusing this
    process's transcriber (and the engine's per-process default classifier), scored with
    ``form`` (the active scoring form; ``None``: the shipped one), with ``rule_set`` (the
    active rule documents, :func:`qa.rule_store.active_rule_set`; ``None``: the built-in
    rules). Returns the :class:`qa.records.Report`.

    An analyzer named in the settings gets ``rule_set=`` only while some rule document is
    active."""
    from qa.pipeline import analyze_file
    transcriber = _transcriber() if media_type == "audio" else None
    return analyze_file(path, metadata, transcriber=transcriber, form=form, rule_set=rule_set)


def load_analyzer(spec: str | None) -> Callable[..., Any]:
    """The analyzer named by ``module:function`` (settings ``analyzer``), else the default."""
    if not spec:
        return default_analyzer
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


class PermanentError(Exception):
    """A job that can never succeed (bad input): quarantine it with ``reason``."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def classify_error(exc: BaseException) -> tuple[str, str, str]:
    """``(kind, reason, message)`` of a processing error; kind ``permanent`` or ``transient``."""
    from transcribe.audio import AudioError
    from transcribe.records import TranscriptFormatError
    if isinstance(exc, PermanentError):
        return "permanent", exc.reason, str(exc)
    if isinstance(exc, AudioError):
        return "permanent", exc.reason, str(exc)
    if isinstance(exc, (TranscriptFormatError, json.JSONDecodeError, UnicodeDecodeError)):
        return "permanent", "bad_transcript", f"转写文件格式错误 / malformed transcript: {exc}"
    try:
        from qa.pipeline import InputError
    except ImportError:  # pragma: no cover - the pipeline is part of the product
        InputError = ()  # noqa: N806
    if InputError and isinstance(exc, InputError):
        return "permanent", "bad_input", str(exc)
    return "transient", type(exc).__name__, f"{type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------- job state


def _claimable(now: datetime):
    due = or_(Job.next_attempt_at.is_(None), Job.next_attempt_at <= now)
    return or_(and_(Job.state == "queued", due),
               and_(Job.state == "running", Job.lease_expires_at < now))


def claim_job(engine: Engine, owner: str, lease_s: float, job_id: int | None = None
              ) -> int | None:
    """Claim the next due job (or exactly ``job_id``) for ``owner``; its id, or ``None``.

    Atomic across processes and machines: one statement picks and takes the job. Jobs that
    already used all their attempts are not claimed (see :func:`fail_exhausted`).
    """
    now = utcnow()
    cond = and_(_claimable(now), Job.attempts < Job.max_attempts)
    pick = select(Job.id).where(cond)
    if job_id is not None:
        pick = pick.where(Job.id == job_id)
    pick = (pick.order_by(Job.priority.desc(), Job.id).limit(1)
            .with_for_update(skip_locked=True).scalar_subquery())
    with session_scope(engine) as s:
        row = s.execute(
            update(Job).where(Job.id == pick, cond)
            .values(state="running", lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease_s), heartbeat_at=now,
                    attempts=Job.attempts + 1, started_at=func.coalesce(Job.started_at, now))
            .returning(Job.id, Job.call_id, Job.attempts)
            .execution_options(synchronize_session=False)).first()
        if row is None:
            return None
        jid, call_id, attempt = row
        s.execute(update(JobAttempt).where(JobAttempt.job_id == jid,
                                           JobAttempt.outcome == "running")
                  .values(outcome="lost", finished_at=now,
                          error="处理进程中断 / the worker stopped during this attempt"))
        s.add(JobAttempt(job_id=jid, number=attempt, worker=owner, started_at=now))
        s.execute(update(Call).where(Call.id == call_id).values(status="processing"))
    log.info("%s claimed job %s (attempt %s)", owner, jid, attempt)
    return jid


def extend_lease(engine: Engine, job_id: int, owner: str, lease_s: float) -> bool:
    """Extend ``owner``'s lease on a running job; ``False`` when the lease was lost."""
    now = utcnow()
    with session_scope(engine) as s:
        res = s.execute(update(Job).where(Job.id == job_id, Job.lease_owner == owner,
                                          Job.state == "running")
                        .values(lease_expires_at=now + timedelta(seconds=lease_s),
                                heartbeat_at=now))
        return res.rowcount == 1


def release_leases(engine: Engine, owner_prefix: str) -> int:
    """Make the running jobs of owners starting with ``owner_prefix`` claimable now (their
    worker is known to be dead). Returns how many."""
    now = utcnow()
    with session_scope(engine) as s:
        res = s.execute(update(Job).where(Job.state == "running",
                                          Job.lease_owner.startswith(owner_prefix, autoescape=True))
                        .values(lease_expires_at=now - timedelta(seconds=1)))
        return res.rowcount


def release_dead_local_leases(engine: Engine) -> int:
    """Release leases held by processes of this host that no longer exist (after a crash or
    a restart of the machine). Returns how many jobs became claimable."""
    host = socket.gethostname()
    with session_scope(engine) as s:
        owners = s.scalars(select(Job.lease_owner).where(
            Job.state == "running", Job.lease_owner.startswith(f"{host}:", autoescape=True))).all()
    n = 0
    for owner in set(owners):
        try:
            pid = int(owner.split(":")[1])
            os.kill(pid, 0)
            continue  # alive
        except (ValueError, IndexError, ProcessLookupError):
            pass
        except PermissionError:
            continue
        n += release_leases(engine, owner)
    if n:
        log.warning("released %d job(s) of dead worker processes", n)
    return n


WORKER_DIED = "worker_died"
#: A job whose worker process died this many times (seen by the pool) is quarantined.
WORKER_DEATHS_TO_QUARANTINE = 2


def handle_dead_worker(engine: Engine, owner_prefix: str, settings: Settings,
                       exitcode: int | None = None) -> tuple[int, int]:
    """A worker process (lease owners starting with ``owner_prefix``) is known to have died:
    its running attempts end ``lost`` (noted ``worker_died: …``); a job whose worker has now
    died ``WORKER_DEATHS_TO_QUARANTINE`` times is quarantined with reason ``worker_died``, the
    others are made claimable at once (resumed). Returns ``(released, quarantined)``."""
    now = utcnow()
    note = (f"{WORKER_DIED}: 处理进程在处理中意外退出（退出码 {exitcode}） / the worker process "
            f"died during this attempt (exit code {exitcode})")
    with session_scope(engine) as s:
        held = s.execute(select(Job.id, Job.lease_owner).where(
            Job.state == "running",
            Job.lease_owner.startswith(owner_prefix, autoescape=True))).all()
        for jid, owner in held:
            s.execute(update(JobAttempt).where(JobAttempt.job_id == jid,
                                               JobAttempt.worker == owner,
                                               JobAttempt.outcome == "running")
                      .values(outcome="lost", finished_at=now, error=note))
        deaths = dict(s.execute(
            select(JobAttempt.job_id, func.count()).where(
                JobAttempt.job_id.in_([jid for jid, _ in held]), JobAttempt.outcome == "lost",
                JobAttempt.error.startswith(f"{WORKER_DIED}:", autoescape=True))
            .group_by(JobAttempt.job_id)).all()) if held else {}
    quarantined = sum(_quarantine_dead_worker_job(engine, jid, owner, deaths[jid], settings)
                      for jid, owner in held
                      if deaths.get(jid, 0) >= WORKER_DEATHS_TO_QUARANTINE)
    released = release_leases(engine, owner_prefix)
    return released, quarantined


def _quarantine_dead_worker_job(engine: Engine, job_id: int, owner: str, deaths: int,
                                settings: Settings) -> bool:
    """Quarantine the job a dead ``owner`` held (reason ``worker_died``); whether it was."""
    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        call = s.get(Call, job.call_id)
        path = Path(call.store_path or call.source_path)
        source, filename, call_id = Path(call.source_path), call.filename, call.id
    message = (f"处理这通录音时处理进程已 {deaths} 次意外退出（如内存不足），已隔离，不再重试 / "
               f"the worker process died {deaths} times on this recording (e.g. out of "
               f"memory): quarantined, not retried")
    qpath = quarantine_file(path if path.exists() else source, settings.effective_quarantine_dir,
                            f"{call_id}__{filename}", WORKER_DIED, message)
    now = utcnow()
    with session_scope(engine) as s:
        if not _held(s, job_id, owner, "quarantined", finished_at=now, last_error=message,
                     error_kind=WORKER_DIED):
            s.rollback()
            return False
        s.execute(update(Call).where(Call.id == call_id).values(
            status="quarantined", error=message, store_path=str(qpath)))
    if path.exists() and path != qpath and _inside(path, settings.effective_store_dir):
        path.unlink()  # keep the store tidy: only good recordings stay there
    log.warning("job %s quarantined (%s): %s", job_id, WORKER_DIED, message)
    return True


def fail_exhausted(engine: Engine) -> int:
    """End jobs whose worker died on every allowed attempt (``failed``). Returns how many."""
    now = utcnow()
    msg = "处理进程多次中断 / the worker stopped during every attempt"
    with session_scope(engine) as s:
        ids = s.scalars(select(Job.id).where(Job.state == "running", Job.lease_expires_at < now,
                                             Job.attempts >= Job.max_attempts)).all()
        for jid in ids:
            res = s.execute(update(Job).where(Job.id == jid, Job.state == "running",
                                              Job.lease_expires_at < now)
                            .values(state="failed", last_error=msg, error_kind="lost",
                                    finished_at=now, lease_owner=None))
            if res.rowcount:
                job = s.get(Job, jid)
                s.execute(update(JobAttempt).where(JobAttempt.job_id == jid,
                                                   JobAttempt.outcome == "running")
                          .values(outcome="lost", finished_at=now))
                s.execute(update(Call).where(Call.id == job.call_id)
                          .values(status="failed", error=msg))
    return len(ids)


def _held(s, job_id: int, owner: str, new_state: str, **values) -> bool:
    """Move the job out of ``running`` if ``owner`` still holds it (inside transaction ``s``)."""
    res = s.execute(update(Job).where(Job.id == job_id, Job.state == "running",
                                      Job.lease_owner == owner)
                    .values(state=new_state, lease_owner=None, lease_expires_at=None, **values))
    return res.rowcount == 1


def _end_attempt(s, job_id: int, owner: str, outcome: str, error: str | None = None,
                 timings: dict | None = None) -> None:
    s.execute(update(JobAttempt).where(JobAttempt.job_id == job_id, JobAttempt.worker == owner,
                                       JobAttempt.outcome == "running")
              .values(outcome=outcome, error=error, timings=timings, finished_at=utcnow()))


# --------------------------------------------------------------------------- storing results


def report_timings(report: Any) -> dict[str, float]:
    """Per-stage seconds the pipeline reported (``timings`` of the report or of the
    transcript's diagnostics), if any."""
    found: dict[str, float] = {}
    diag = getattr(getattr(report, "transcript", None), "diagnostics", None) or {}
    for source in (diag.get("timing"), diag.get("timings"),
                   getattr(report, "extra", {}).get("timings")):
        if isinstance(source, dict):
            found.update({str(k).removesuffix("_s"): round(float(v), 3)
                          for k, v in source.items() if isinstance(v, (int, float))})
    if "total" in found:  # the transcriber's total: decode + ASR + measurements
        found["transcribe"] = found.pop("total")
    return found


# --------------------------------------------------------------------------- one job


class _Heartbeat:
    """Extends a job's lease every ``lease_s / 4`` seconds until stopped."""

    def __init__(self, engine: Engine, job_id: int, owner: str, lease_s: float):
        self.engine, self.job_id, self.owner, self.lease_s = engine, job_id, owner, lease_s
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"hb-{job_id}")

    def _run(self) -> None:
        while not self._stop.wait(max(0.5, self.lease_s / 4)):
            try:
                if not extend_lease(self.engine, self.job_id, self.owner, self.lease_s):
                    self.lost = True
                    return
            except Exception as exc:  # noqa: BLE001 - keep trying; the lease may still hold
                log.warning("heartbeat of job %s failed: %s", self.job_id, exc)

    def __enter__(self) -> "_Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def process_job(engine: Engine, job_id: int, owner: str, settings: Settings | None = None,
                analyzer: Callable[..., Any] | None = None) -> str:
    """Run a job this ``owner`` has claimed; returns its new state (``done``, ``queued`` for
    a retry, ``failed``, ``quarantined``) or ``lost`` when another worker took it over."""
    settings = settings or get_settings()
    analyzer = analyzer or load_analyzer(settings.analyzer)
    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        call = s.get(Call, job.call_id)
        path = Path(call.store_path or call.source_path)
        meta, media_type = dict(call.meta or {}), call.media_type
        attempt, created = job.attempts, job.created_at
        source, filename, call_id = Path(call.source_path), call.filename, call.id
        rerun = job.kind == "reanalyze"
        form = active_form(s)  # the scoring form an admin activated scores new calls too
        rule_set = active_rule_set(s)  # and the supervisors' active rule documents run
    if rerun:
        outcome = _rerun_rules(engine, job_id, owner, settings)
        if outcome is not None:
            return outcome
    started = time.perf_counter()
    timings: dict[str, float] = {}
    if attempt == 1:
        timings["queue_wait"] = round((utcnow() - created).total_seconds(), 3)
    error: BaseException | None = None
    report = None
    with _Heartbeat(engine, job_id, owner, settings.job_lease_s) as hb:
        try:
            if not path.exists():
                if source.exists():  # the store copy went missing: take the original again
                    place_in_store(source, path, "copy")
                else:
                    raise PermanentError("missing", "录音文件不见了 / the recording is gone: "
                                         f"{path}")
            report = analyzer(path, meta, media_type, form=form,
                              **({} if rule_set is None else {"rule_set": rule_set}))
        except Exception as exc:  # noqa: BLE001 - every error is classified below
            error = exc
    timings.update(report_timings(report) if report is not None else {})
    timings["analyze"] = round(time.perf_counter() - started, 3)
    if "transcribe" in timings and "rules" not in timings:  # rules + classifier + score
        timings["rules"] = round(max(0.0, timings["analyze"] - timings["transcribe"]), 3)
    if hb.lost:
        log.warning("job %s: lease lost to another worker; result dropped", job_id)
        return "lost"

    now = utcnow()
    if error is None:
        t0 = time.perf_counter()
        try:
            with session_scope(engine) as s:
                call = s.get(Call, call_id)
                if not _held(s, job_id, owner, "done", finished_at=now, last_error=None,
                             error_kind=None):
                    s.rollback()
                    return "lost"
                if dict(call.meta or {}) != meta:
                    # a late sidecar arrived during the analysis: the rules run again on this
                    # transcript with the new metadata (the recognition is not repeated)
                    again = reanalyze_call(s, call, settings, timing_key="metadata_rerun",
                                           transcript=jsonable(report.transcript.to_dict()))
                    timings["metadata_rerun"] = again.seconds
                    log.info("job %s: call metadata changed during analysis; rules re-run",
                             job_id)
                else:
                    store_report(s, call, report, dict(timings), settings=settings,
                                 keep_reviews=call.result_available_at is not None)
                s.flush()
                timings["store"] = round(time.perf_counter() - t0, 3)
                call.timings = dict(timings)
                flag_modified(call, "timings")
                _end_attempt(s, job_id, owner, "done", timings=timings)
            log.info("job %s done: call %s score %s", job_id, call_id, report.score)
            return "done"
        except Exception as exc:  # noqa: BLE001 - storing failed: nothing was written
            log.exception("job %s: storing the result failed", job_id)
            error = exc

    kind, reason, message = classify_error(error)
    if kind == "permanent":
        qname = f"{call_id}__{filename}"
        qpath = quarantine_file(path if path.exists() else source,
                                settings.effective_quarantine_dir, qname, reason, message)
        with session_scope(engine) as s:
            if not _held(s, job_id, owner, "quarantined", finished_at=now, last_error=message,
                         error_kind=reason):
                s.rollback()
                return "lost"
            s.execute(update(Call).where(Call.id == call_id).values(
                status="quarantined", error=message, store_path=str(qpath), timings=timings))
            _end_attempt(s, job_id, owner, "quarantined", message, timings)
        if path.exists() and path != qpath and _inside(path, settings.effective_store_dir):
            path.unlink()  # keep the store tidy: only good recordings stay there
        log.warning("job %s quarantined (%s): %s", job_id, reason, message)
        return "quarantined"

    detail = "".join(traceback.format_exception_only(type(error), error)).strip()
    log.warning("job %s attempt %s failed (transient): %s", job_id, attempt, detail)
    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        if attempt >= job.max_attempts:
            if not _held(s, job_id, owner, "failed", finished_at=now, last_error=message,
                         error_kind="transient"):
                s.rollback()
                return "lost"
            s.execute(update(Call).where(Call.id == call_id).values(
                status="failed", error=message, timings=timings))
            _end_attempt(s, job_id, owner, "failed", message, timings)
            return "failed"
        delay = settings.retry_backoff_s * 2 ** (attempt - 1)
        if not _held(s, job_id, owner, "queued", last_error=message, error_kind="transient",
                     next_attempt_at=now + timedelta(seconds=delay), dispatched_at=None):
            s.rollback()
            return "lost"
        s.execute(update(Call).where(Call.id == call_id).values(status="queued", error=message))
        _end_attempt(s, job_id, owner, "retry", message, timings)
    return "queued"


def _rerun_rules(engine: Engine, job_id: int, owner: str, settings: Settings) -> str | None:
    """A ``reanalyze`` job (the call's metadata changed after it was analysed): the rules,
    classification and scoring run again on the stored transcript, keeping reviews that still
    apply and a supervisor's type correction (:func:`qa.results.reanalyze_call`). Returns the
    job's new state, or ``None`` when a full analysis is needed instead (no stored transcript,
    or the re-run failed)."""
    t0 = time.perf_counter()
    try:
        with session_scope(engine) as s:
            call = s.get(Job, job_id).call
            if not _held(s, job_id, owner, "done", finished_at=utcnow(), last_error=None,
                         error_kind=None, kind="analyze"):
                s.rollback()
                return "lost"
            result = reanalyze_call(s, call, settings, timing_key="metadata_rerun")
            if result is None:
                s.rollback()
                return None
            _end_attempt(s, job_id, owner, "done",
                         timings={"metadata_rerun": round(time.perf_counter() - t0, 3)})
            log.info("job %s done: rules re-run on call %s's stored transcript (%s -> %s)",
                     job_id, call.id, result.score_before, result.score)
    except Exception:  # noqa: BLE001 - fall back to the full analysis, which retries properly
        log.exception("job %s: re-running the rules failed; analysing the call again", job_id)
        return None
    return "done"


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def run_one(engine: Engine, owner: str, settings: Settings,
            analyzer: Callable[..., Any] | None = None, job_id: int | None = None) -> str | None:
    """Claim and run one job (``job_id`` or the next due one); its outcome, or ``None`` when
    nothing was claimable."""
    jid = claim_job(engine, owner, settings.job_lease_s, job_id)
    if jid is None:
        return None
    return process_job(engine, jid, owner, settings, analyzer)


# --------------------------------------------------------------------------- embedded pool


def worker_loop(db_url: str, settings_data: dict[str, Any], stop: Any = None,
                poll_s: float = 0.5) -> None:
    """Main of one embedded worker process: claim and run jobs until ``stop`` is set."""
    settings = Settings(**settings_data)
    use_settings(settings)  # code that reads get_settings() agrees with the parent's
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us through ``stop``
    engine = make_engine(db_url)
    from qa.pii import install_log_masking
    install_log_masking(engine)  # a spawned process: no logging set up, the policy's ``logs``
    owner = worker_name()
    analyzer = load_analyzer(settings.analyzer)
    log.info("worker %s started", owner)
    parent = os.getppid()
    while (stop is None or not stop.is_set()) and os.getppid() == parent:  # orphans stop
        try:
            outcome = run_one(engine, owner, settings, analyzer)
        except Exception:  # noqa: BLE001 - the database was unreachable: wait, try again
            log.exception("worker %s: claiming or storing failed", owner)
            outcome = None
            time.sleep(2)
        if outcome is None:
            if stop is not None:
                stop.wait(poll_s)
            else:
                time.sleep(poll_s)
    engine.dispose()


class WorkerPool:
    """``n`` embedded worker processes; a dead one is replaced and its jobs released."""

    def __init__(self, db_url: str, settings: Settings, n: int):
        self.db_url, self.settings, self.n = db_url, settings, max(1, n)
        self.ctx = mp.get_context("spawn")
        self.stop_event = self.ctx.Event()
        self.procs: list[Any] = []
        self.engine = make_engine(db_url)
        self.restarts = 0
        self.sender: Any = None  # the alert sender process (qa.alert_sender)

    def _spawn(self):
        p = self.ctx.Process(target=worker_loop, name="hotline-qa-worker",
                             args=(self.db_url, self.settings.model_dump(), self.stop_event),
                             daemon=False)
        p.start()
        return p

    def start(self) -> "WorkerPool":
        release_dead_local_leases(self.engine)
        self.procs = [self._spawn() for _ in range(self.n)]
        self.sender = self._spawn_sender()
        return self

    def _spawn_sender(self):
        from qa.alert_sender import spawn_sender
        return spawn_sender(self.db_url, self.settings, self.stop_event, self.ctx)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.is_alive()]

    def check(self) -> None:
        """Replace dead workers (resuming their jobs, quarantining a job that killed its
        worker twice: :func:`handle_dead_worker`) and end exhausted jobs."""
        host = socket.gethostname()
        for i, p in enumerate(self.procs):
            if not p.is_alive() and not self.stop_event.is_set():
                n, q = handle_dead_worker(self.engine, f"{host}:{p.pid}:", self.settings,
                                          p.exitcode)
                log.warning("worker process %s ended (exit %s); %d job(s) released, %d "
                            "quarantined; restarting", p.pid, p.exitcode, n, q)
                self.procs[i] = self._spawn()
                self.restarts += 1
        if self.sender is not None and not self.sender.is_alive() \
                and not self.stop_event.is_set():  # its claimed deliveries: lease runs out
            log.warning("alert sender %s ended (exit %s); restarting", self.sender.pid,
                        self.sender.exitcode)
            self.sender = self._spawn_sender()
        fail_exhausted(self.engine)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the workers to stop after their current job; kill them after ``timeout``."""
        self.stop_event.set()
        deadline = time.monotonic() + timeout
        for p in self.procs + ([self.sender] if self.sender is not None else []):
            p.join(max(0.1, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join(5)
        self.engine.dispose()


def job_counts(engine: Engine, call_ids: list[str] | None = None) -> dict[str, int]:
    """Jobs per state (all, or of the given calls)."""
    q = select(Job.state, func.count()).group_by(Job.state)
    if call_ids is not None:
        q = q.where(Job.call_id.in_(call_ids))
    with session_scope(engine) as s:
        return {state: n for state, n in s.execute(q)}
