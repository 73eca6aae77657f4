"""Ingestion: pick recordings up from the recorder's folder and record their jobs durably.

A file under the watched folder becomes a call when

1. its suffix is one of ``settings.ingest_suffixes`` and it is not a ``.meta.json`` sidecar;
2. it is completely written: two looks at least ``stable_s`` apart saw the same size and
   mtime (a recording without a sidecar also waits until ``sidecar_wait_s`` after its last
   change, so that a sidecar arriving shortly after it is still used);
3. its SHA-256 is new (an exact duplicate of a known call is counted and skipped).

Its metadata comes from the file name (``settings.filename_pattern``: named groups become
metadata keys; ``date`` ``YYYYMMDD`` + ``time`` ``HHMMSS`` become ``started_at``) and from its
sidecar ``<path minus suffix>.meta.json`` (the sidecar wins). The file is copied (or linked or
moved, ``store_mode``) into the tidy store ``store/YYYY/MM/DD/<call id><suffix>``, then the
call and its job are written in one transaction — before any processing. Originals are never
modified. Empty files go straight to the quarantine with a ``.reason.txt``, and so does a file
whose recording time is out of range (:data:`qa.recordings.STARTED_AT_YEARS`) or whose
ingestion fails in any other way than being unreadable for now: one file never stops a pass.

A sidecar that arrives even later — after its recording became a call — is still merged
(:meth:`Ingestor.merge_late_sidecar`): a queued call runs with it; an analysed one gets a
``reanalyze`` job — its rules run again on the stored transcript (no second recognition;
reviews of unchanged findings and a supervisor's type correction kept); and a worker that is
analysing the call when the metadata changes re-runs the rules with it before storing.

:class:`Ingestor` does one pass (:meth:`Ingestor.scan`); :func:`run_ingest` drives it — once,
or watching the folder with watchdog plus a periodic rescan — together with the workers
(:mod:`qa.worker`); while watching it reports its state in ``home/ingest-status.json``
(:class:`IngestStatus`, read by ``/api/v1/health``). The ``hotline-qa ingest`` command is
:func:`ingest_cmd`.

API uploads are ingested from ``home/uploads`` with ``store_mode`` ``move`` (stored once);
:func:`clean_uploads` tidies what a stopped server left there (the watching ingestion and the
workers run it at start and every :data:`UPLOADS_TIDY_S` seconds).
"""
from __future__ import annotations

import glob
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from models import Agent, Call, Job, SourceFile, session_scope
from qa.cli_options import db_option
from qa.recordings import (REASON_SUFFIX, SIDECAR_SUFFIX, call_id_for,  # noqa: F401 - re-exported
                           is_sidecar, metadata_from_name, parse_started_at, place_in_store,
                           quarantine_file, read_sidecar, sha256_file, sidecar_path,
                           started_at_error)
from qa.settings import Settings, get_settings

log = logging.getLogger("hotline_qa.ingest")

# --------------------------------------------------------------------------- one pass


@dataclass
class Seen:
    size: int
    mtime_ns: int
    since: float  # monotonic time the file was first seen with this size and mtime


@dataclass
class ScanResult:
    """What one pass found: new calls, duplicates, quarantined files, files still waiting."""

    new: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    call_ids: list[str] = field(default_factory=list)

    def merge(self, other: "ScanResult") -> None:
        self.new += other.new
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        self.call_ids += other.call_ids
        self.pending = other.pending


class Ingestor:
    """Turns complete files under ``root`` into durable call + job rows.

    Keeps in memory only what it has seen of files still being written; what it decided is in
    the database (``source_files``), so a restarted ingestor skips handled files without
    hashing them again.
    """

    def __init__(self, root: Path, engine: Engine, settings: Settings | None = None,
                 on_new_job=None):
        self.root = Path(root)
        self.engine = engine
        self.settings = settings or get_settings()
        self.suffixes = tuple(s.strip().lower() for s in self.settings.ingest_suffixes.split(",")
                              if s.strip())
        self.store_dir = self.settings.effective_store_dir
        self.quarantine_dir = self.settings.effective_quarantine_dir
        self.on_new_job = on_new_job
        self.heartbeat = None  # called after each file a pass ingests (see IngestStatus)
        self._seen: dict[str, Seen] = {}
        # the source_files rows of this folder's files read so far (path → as _known gives);
        # a path this ingestor handles is dropped from it and read again
        self._rows: dict[str, tuple[tuple[int, int], float, str | None]] = {}
        self._lock = threading.Lock()
        if self.settings.filename_pattern:
            re.compile(self.settings.filename_pattern)

    # -- candidates

    def is_candidate(self, path: Path) -> bool:
        name = path.name
        if name.startswith(".") or is_sidecar(path) or name.endswith(REASON_SUFFIX):
            return False
        return name.lower().endswith(self.suffixes)

    def candidates(self) -> list[Path]:
        out = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for fn in sorted(filenames):
                p = Path(dirpath) / fn
                if self.is_candidate(p):
                    out.append(p)
        return out

    def _known(self, paths: list[Path]) -> dict[str, tuple[tuple[int, int], float, str | None]]:
        """path → ((size, mtime_ns), when it was last looked at, its call) of ``paths`` that
        have a row. Only rows not read before are read (500 paths a query), never the whole
        table: a pass of ``run`` twice a second costs the new files, not the history."""
        need = [str(p) for p in paths if str(p) not in self._rows]
        if need:
            with session_scope(self.engine) as s:
                for i in range(0, len(need), 500):
                    rows = s.execute(select(SourceFile.path, SourceFile.size_bytes,
                                            SourceFile.mtime_ns, SourceFile.seen_at,
                                            SourceFile.call_id)
                                     .where(SourceFile.path.in_(need[i:i + 500])))
                    self._rows.update({p: ((size, mt), _timestamp(seen), cid)
                                       for p, size, mt, seen, cid in rows})
        return self._rows

    # -- readiness

    def _ready(self, path: Path, st: os.stat_result, now: float) -> bool:
        key = str(path)
        seen = self._seen.get(key)
        if seen is None or (seen.size, seen.mtime_ns) != (st.st_size, st.st_mtime_ns):
            self._seen[key] = Seen(st.st_size, st.st_mtime_ns, now)
            return False
        if now - seen.since < self.settings.stable_s:
            return False
        if not sidecar_path(path).exists():
            age = time.time() - st.st_mtime
            if age < self.settings.sidecar_wait_s:
                return False
        return True

    # -- one pass

    def scan(self, paths: list[Path] | None = None) -> ScanResult:
        """Look at every candidate (or only ``paths``) once; ingest those that are ready."""
        with self._lock:
            result = ScanResult()
            todo = self.candidates() if paths is None else paths
            if paths is None:  # files gone from the folder: their rows are not needed again
                here = {str(p) for p in todo}
                for gone in [p for p in self._rows if p not in here]:
                    del self._rows[gone]
            known = self._known(todo)
            now = time.monotonic()
            for path in todo:
                try:
                    st = path.stat()
                except FileNotFoundError:
                    self._seen.pop(str(path), None)
                    continue
                k = known.get(str(path))
                if k is not None and k[0] == (st.st_size, st.st_mtime_ns):
                    if k[2] is not None and _newer_sidecar(path, k[1]):
                        self._rows.pop(str(path), None)  # its seen_at moves on
                        try:
                            if self.merge_late_sidecar(path, k[2]):
                                result.call_ids.append(k[2])  # analysed again: wait for it
                        except SQLAlchemyError:
                            raise
                        except Exception:  # noqa: BLE001 - never stop ingestion for one file
                            log.exception("merging the late sidecar of %s failed", path)
                    continue  # handled before
                if not self._ready(path, st, now):
                    result.pending.append(str(path))
                    continue
                self._seen.pop(str(path), None)
                self._rows.pop(str(path), None)  # its row is written now: read it again
                outcome = self.ingest_or_quarantine(path, st)
                if outcome is None:
                    result.pending.append(str(path))
                    continue
                if self.heartbeat is not None:
                    self.heartbeat()
                getattr(result, outcome[0]).append(outcome[1])
                if outcome[0] == "new":
                    result.call_ids.append(outcome[2])
            return result

    def ingest_or_quarantine(self, path: Path, st: os.stat_result
                             ) -> tuple[str, str, str | None] | None:
        """:meth:`ingest_file`, one bad file never stopping a pass: a file that cannot be read
        for now gives ``None`` (look again later), a database error is raised, any other
        failure quarantines the file (``ingest_error``)."""
        try:
            return self.ingest_file(path, st)
        except OSError as exc:  # vanished or unreadable meanwhile: look again later
            log.warning("cannot ingest %s yet: %s", path, exc)
            return None
        except SQLAlchemyError:
            raise  # the database, not this file: the caller decides
        except Exception as exc:  # noqa: BLE001 - one bad file never stops ingestion
            log.exception("ingesting %s failed", path)
            return self.quarantine(
                path, st, None, "ingest_error",
                f"收取时出错 / ingestion failed: {type(exc).__name__}: {exc}"[:500])

    def metadata_for(self, path: Path) -> dict[str, Any]:
        meta = metadata_from_name(path.name, self.settings.filename_pattern)
        meta.update(read_sidecar(path))
        return meta

    def _apply_metadata(self, s, call: Call, meta: dict[str, Any]) -> None:
        """Set ``call``'s metadata and the columns taken from it (agent, caller, start, length);
        an agent id not seen before gets its agent row."""
        agent_id = meta.get("agent_id")
        agent_id = str(agent_id) if agent_id not in (None, "") else None
        if agent_id and s.get(Agent, agent_id) is None:
            s.add(Agent(id=agent_id, name=agent_id))
            s.flush()
        duration = meta.get("duration")
        call.meta = meta
        call.agent_id = agent_id
        call.caller_number = None if meta.get("caller_number") is None \
            else str(meta["caller_number"])
        call.started_at = parse_started_at(meta.get("started_at"), self.settings.timezone)
        call.duration = float(duration) if isinstance(duration, (int, float)) else None

    def merge_late_sidecar(self, path: Path, call_id: str) -> bool:
        """A sidecar that arrived after its recording was ingested: merge its metadata into the
        call (the sidecar wins, as at ingestion). A call already analysed is queued again for
        its rules to run on the stored transcript with the new metadata (no second recognition;
        reviews of unchanged findings and a supervisor's type correction are kept); one being
        analysed is re-checked by its worker before its result is stored; a queued one simply
        runs with it. Returns whether anything changed."""
        side = read_sidecar(path)
        with session_scope(self.engine) as s:
            call = s.get(Call, call_id)
            row = s.scalar(select(SourceFile).where(SourceFile.path == str(path)))
            if row is not None:
                row.seen_at = datetime.now(timezone.utc)
            if call is None or not side or "sidecar_error" in side:
                return False
            meta = dict(call.meta or {})
            if all(meta.get(k) == v for k, v in side.items()):
                return False
            meta.update(side)
            self._apply_metadata(s, call, meta)
            job = call.job
            # a running job is left alone: its worker sees the change before storing
            if (job is not None and call.status in ("done", "processing", "failed")
                    and job.state != "running"):
                job.state, job.next_attempt_at, job.dispatched_at = "queued", None, None
                job.kind = "reanalyze" if call.status == "done" else "analyze"
                job.last_error, job.error_kind, job.finished_at = None, None, None
                job.max_attempts = job.attempts + self.settings.job_max_attempts
                call.status = "queued"
            job_id = job.id if job is not None else None
        log.info("late sidecar for %s merged into call %s", path, call_id)
        if job_id is not None and self.on_new_job is not None:
            self.on_new_job(job_id)
        return True

    def _record_source(self, s, path: Path, st: os.stat_result, sha: str | None, outcome: str,
                       call_id: str | None, reason: str | None = None) -> None:
        row = s.scalar(select(SourceFile).where(SourceFile.path == str(path)))
        if row is None:
            row = SourceFile(path=str(path))
            s.add(row)
        row.size_bytes, row.mtime_ns = st.st_size, st.st_mtime_ns
        row.content_sha256, row.outcome, row.call_id, row.reason = sha, outcome, call_id, reason
        row.seen_at = datetime.now(timezone.utc)

    def quarantine(self, path: Path, st: os.stat_result, sha: str | None, reason: str,
                   message: str, recorded: str | None = None) -> tuple[str, str, None]:
        """Put a file that cannot become a call into the quarantine (``.reason.txt`` with
        ``reason`` and ``message``) and remember it, so that later passes and restarts skip
        it. ``recorded``: what ``source_files.reason`` keeps (default: ``message``)."""
        name = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S}_{path.name}"
        try:
            quarantine_file(path, self.quarantine_dir, name, reason, message)
        except OSError as exc:  # the decision is still recorded: the file is not retried
            log.error("could not copy %s into the quarantine: %s", path, exc)
        with session_scope(self.engine) as s:
            self._record_source(s, path, st, sha, "quarantined", None, recorded or message)
        log.warning("quarantined %s (%s): %s", path, reason, message)
        return "quarantined", str(path), None

    def ingest_file(self, path: Path, st: os.stat_result | None = None
                    ) -> tuple[str, str, str | None]:
        """Ingest one complete file. Returns ``(outcome, path, call id)`` with outcome ``new``,
        ``duplicates``, ``quarantined`` or ``known`` (a call of this very file exists).

        Raises:
            OSError: the file cannot be read (it is left for a later pass).
        """
        st = st or path.stat()
        if st.st_size == 0:
            return self.quarantine(path, st, None, "empty",
                                   "空文件 / the file is empty (0 bytes)", recorded="empty")

        sha = sha256_file(path)
        if path.stat().st_mtime_ns != st.st_mtime_ns:
            raise OSError(f"{path} changed while it was read")
        call_id = call_id_for(sha)
        with session_scope(self.engine) as s:
            existing = s.scalar(select(Call).where(Call.content_sha256 == sha))
            if existing is not None:
                same = existing.source_path == str(path)
                self._record_source(s, path, st, sha, "new" if same else "duplicate",
                                    existing.id)
                if same:
                    return "known", str(path), existing.id
                log.info("duplicate %s of call %s (%s)", path, existing.id,
                         existing.source_path)
                return "duplicates", str(path), existing.id

        meta = self.metadata_for(path)
        problem = started_at_error(meta.get("started_at"), self.settings.timezone)
        if problem:
            return self.quarantine(path, st, sha, "bad_started_at", problem)
        started = parse_started_at(meta.get("started_at"), self.settings.timezone)
        day = started or datetime.now(timezone.utc)
        suffix = "".join(path.suffixes[-1:]).lower()
        dest = self.store_dir / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}" / f"{call_id}{suffix}"
        place_in_store(path, dest, self.settings.store_mode)

        try:
            with session_scope(self.engine) as s:
                call = Call(
                    id=call_id, content_sha256=sha, source_path=str(path), filename=path.name,
                    store_path=str(dest), size_bytes=st.st_size,
                    media_type="transcript" if suffix == ".json" else "audio",
                    status="queued")
                self._apply_metadata(s, call, meta)
                call.job = Job(max_attempts=self.settings.job_max_attempts)
                s.add(call)
                s.flush()
                self._record_source(s, path, st, sha, "new", call_id)
                job_id = call.job.id
        except IntegrityError:
            # Another ingestor recorded the same content meanwhile.
            with session_scope(self.engine) as s:
                self._record_source(s, path, st, sha, "duplicate", call_id)
            return "duplicates", str(path), call_id
        if self.settings.store_mode == "move":
            try:
                path.unlink()
            except OSError as exc:
                log.warning("could not remove %s after storing it: %s", path, exc)
        log.info("ingested %s as call %s (job %s)", path, call_id, job_id)
        if self.on_new_job is not None:
            self.on_new_job(job_id)
        return "new", str(path), call_id


def _timestamp(dt: datetime | None) -> float:
    if dt is None:
        return 0.0
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp()


def _newer_sidecar(path: Path, since: float) -> bool:
    """Whether ``path``'s sidecar was written after ``since`` (epoch seconds)."""
    try:
        return sidecar_path(path).stat().st_mtime > since
    except OSError:
        return False


# --------------------------------------------------------------------------- API uploads

#: Suffix of an upload still being written (``.<name>.part``, see api/services/uploads.py).
PART_SUFFIX = ".part"
#: Unfinished calls: the worker may still need the original if the store copy went missing.
_UNFINISHED = ("queued", "processing")


@dataclass
class UploadsCleanup:
    """What :func:`clean_uploads` did: files removed, orphaned uploads ingested, files kept."""

    removed: list[str] = field(default_factory=list)
    ingested: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _unlink(path: Path, out: UploadsCleanup) -> None:
    try:
        path.unlink()
        out.removed.append(str(path))
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not remove %s: %s", path, exc)


def clean_uploads(engine: Engine, settings: Settings | None = None, *,
                  stale_s: float | None = None, on_new_job=None) -> UploadsCleanup:
    """Tidy ``home/uploads`` (:attr:`Settings.effective_uploads_dir`).

    An upload is written there and moved into the store as its call is recorded, so normally
    nothing stays. What may (a server stopped mid-upload, files of earlier versions, which
    kept a second copy there) is handled so that no call loses its recording:

    * a ``.part`` (a transfer interrupted) not written for ``stale_s`` is removed;
    * a file that became a call is removed when the call has its own copy (store or
      quarantine) and is not an unfinished call's original (its fallback);
    * a file without a call (saved, then the server stopped before recording it), not written
      for ``stale_s``, is ingested now — queued like any upload, or quarantined;
    * a file quarantined at ingestion is removed once the quarantine holds its copy;
    * a sidecar ``.meta.json`` whose recording is gone, not written for ``stale_s``, and empty
      day folders older than yesterday are removed.

    ``stale_s``: default ``settings.upload_stale_s``. One file's trouble is logged, never
    raised; a database error is raised.
    """
    settings = settings or get_settings()
    stale_s = settings.upload_stale_s if stale_s is None else stale_s
    root = settings.effective_uploads_dir
    out = UploadsCleanup()
    if not root.is_dir():
        return out
    now = time.time()
    parts, sidecars, recordings = [], [], []
    for dirpath, _dirnames, filenames in os.walk(root):
        for fn in sorted(filenames):
            p = Path(dirpath) / fn
            if fn.startswith(".") and fn.endswith(PART_SUFFIX):
                parts.append(p)
            elif is_sidecar(p):
                sidecars.append(p)
            elif not fn.startswith("."):
                recordings.append(p)

    def age(p: Path) -> float | None:
        try:
            return now - p.stat().st_mtime
        except OSError:
            return None

    for p in parts:
        a = age(p)
        if a is not None and a >= stale_s:
            _unlink(p, out)
            log.info("removed the interrupted upload %s", p)

    def source_rows(paths: list[Path]) -> dict[str, tuple]:
        rows: dict[str, tuple] = {}
        names = [str(p) for p in paths]
        with session_scope(engine) as s:
            for i in range(0, len(names), 500):
                q = (select(SourceFile.path, SourceFile.outcome, Call.status, Call.store_path,
                            Call.source_path)
                     .outerjoin(Call, Call.id == SourceFile.call_id)
                     .where(SourceFile.path.in_(names[i:i + 500])))
                for path, outcome, status, store_path, source_path in s.execute(q):
                    rows[path] = (outcome, status, store_path, source_path)
        return rows

    quarantine = settings.effective_quarantine_dir

    def settle(p: Path, row: tuple) -> None:
        """Remove ``p`` if what ingestion decided about it keeps a copy elsewhere."""
        outcome, status, store_path, source_path = row
        if not p.exists():  # moved into the store: its metadata is the call's
            _unlink(sidecar_path(p), out)
            return
        if outcome == "quarantined":
            removable = quarantine.is_dir() and any(quarantine.glob("*_" + glob.escape(p.name)))
        else:
            own_copy = bool(store_path) and store_path != str(p) and Path(store_path).is_file()
            fallback = source_path == str(p) and status in _UNFINISHED
            removable = own_copy and not fallback
        if removable:
            _unlink(p, out)
            _unlink(sidecar_path(p), out)  # its metadata is the call's (or the quarantine's)
        else:
            out.kept.append(str(p))

    rows = source_rows(recordings)
    mover = None
    for p in recordings:
        row = rows.get(str(p))
        if row is not None:
            settle(p, row)
            continue
        a = age(p)  # saved, never recorded: ingest it now (unless it is being saved)
        if a is None or a < stale_s:
            out.kept.append(str(p))
            continue
        if mover is None:
            mover = Ingestor(root, engine, settings.model_copy(update={"store_mode": "move"}),
                             on_new_job=on_new_job)
        try:
            outcome = mover.ingest_or_quarantine(p, p.stat())
        except OSError as exc:
            log.warning("cannot ingest the orphaned upload %s: %s", p, exc)
            outcome = None
        if outcome is None:
            out.kept.append(str(p))
            continue
        log.warning("upload %s had no call (the server stopped while saving it): %s",
                    p, outcome[0])
        out.ingested.append(str(p))
        row = source_rows([p]).get(str(p))
        if row is not None:
            settle(p, row)

    kept = {str(sidecar_path(Path(k))) for k in out.kept}
    kept |= {str(sidecar_path(p.with_name(p.name[1:-len(PART_SUFFIX)])))
             for p in parts if p.exists()}
    for side in sidecars:
        a = age(side)
        if str(side) not in kept and a is not None and a >= stale_s:
            _unlink(side, out)

    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y%m%d")
    for dirpath, _dirnames, _filenames in os.walk(root, topdown=False):
        d = Path(dirpath)
        if d != root and re.fullmatch(r"\d{8}", d.name) and d.name < yesterday:
            try:
                d.rmdir()  # only when empty
            except OSError:
                pass
    if out.removed or out.ingested:
        log.info("uploads tidied: %d file(s) removed, %d orphaned upload(s) ingested",
                 len(out.removed), len(out.ingested))
    return out


#: How often the watching ingestion and the workers tidy ``home/uploads`` (s).
UPLOADS_TIDY_S = 600.0


def tidy_uploads(engine: Engine, settings: Settings, on_new_job=None) -> UploadsCleanup | None:
    """:func:`clean_uploads` for a service loop: a failure is logged, not raised."""
    try:
        return clean_uploads(engine, settings, on_new_job=on_new_job)
    except Exception:  # noqa: BLE001 - tidying never stops ingestion or the workers
        log.exception("tidying %s failed", settings.effective_uploads_dir)
        return None


# --------------------------------------------------------------------------- the service


class _Events:
    """Paths reported by watchdog since the last look."""

    def __init__(self):
        self.paths: set[str] = set()
        self.lock = threading.Lock()

    def add(self, p: str) -> None:
        with self.lock:
            self.paths.add(p)

    def take(self) -> list[Path]:
        with self.lock:
            out, self.paths = self.paths, set()
        return [Path(p) for p in out]


def _watch(root: Path, events: _Events):
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:  # noqa: ANN001
            if event.is_directory:
                return
            for p in (getattr(event, "dest_path", None), event.src_path):
                if p:
                    p = os.fsdecode(p)
                    if p.endswith(SIDECAR_SUFFIX):  # a late sidecar: look at its recording
                        p = p[: -len(SIDECAR_SUFFIX)]
                        for q in Path(p).parent.glob(Path(p).name + ".*"):
                            events.add(str(q))
                    else:
                        events.add(p)

    observer = Observer()
    observer.schedule(Handler(), str(root), recursive=True)
    observer.start()
    return observer


def _call_states(engine: Engine, call_ids: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    ids = sorted(call_ids)
    with session_scope(engine) as s:
        for i in range(0, len(ids), 500):
            for cid, status in s.execute(select(Call.id, Call.status)
                                         .where(Call.id.in_(ids[i:i + 500]))):
                out[cid] = status
    return out


STATUS_FILE = "ingest-status.json"


class IngestStatus:
    """What the watching ingestion is doing, in ``home/ingest-status.json`` for
    ``/api/v1/health`` (the web app may run in another process): ``state`` ``running``
    (refreshed at least every ``every_s`` seconds while it runs), ``stopped`` or ``failed``
    (with ``error``)."""

    def __init__(self, home: Path, root: Path, every_s: float = 10.0):
        self.path = Path(home) / STATUS_FILE
        self.root, self.every_s = str(root), every_s
        self._last = -1e9
        self._error: str | None = None

    def write(self, state: str, error: str | None = None) -> None:
        doc = {"state": state, "folder": self.root, "pid": os.getpid(),
               "updated_at": datetime.now(timezone.utc).isoformat(), "error": error}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("cannot write %s: %s", self.path, exc)
        self._last = time.monotonic()

    def beat(self, error: str | None = None) -> None:
        """Still running (``error``: the last pass failed and will be retried)."""
        if error != self._error or time.monotonic() - self._last >= self.every_s:
            self._error = error
            self.write("running", error)


def read_ingest_status(home: Path, stale_s: float = 300.0) -> dict[str, Any] | None:
    """The watching ingestion's state from ``home/ingest-status.json`` (``None``: none ran
    here), ``ok`` false when it stopped, failed, keeps failing, or has not reported for
    ``stale_s`` seconds (its process died)."""
    try:
        doc = json.loads((Path(home) / STATUS_FILE).read_text(encoding="utf-8"))
        updated = datetime.fromisoformat(doc["updated_at"])
        state = str(doc["state"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return {"state": "unknown", "ok": False,
                "message": "无法读取录音收取状态 / the ingestion status cannot be read"}
    age = (datetime.now(timezone.utc) - updated).total_seconds()
    out = {"state": state, "updated_at": doc["updated_at"], "folder": doc.get("folder"),
           "error": doc.get("error")}
    if state == "running" and age > stale_s:
        out["state"] = "stale"
        out["message"] = (f"录音收取已 {int(age)} 秒没有响应 / ingestion has not reported for "
                          f"{int(age)} s")
    elif state == "stopped":
        out["message"] = "录音收取已停止 / ingestion has stopped"
    elif state == "failed":
        out["message"] = f"录音收取出错停止 / ingestion failed: {doc.get('error')}"
    elif doc.get("error"):
        out["message"] = f"录音收取出错，正在重试 / ingestion is failing: {doc['error']}"
    out["ok"] = "message" not in out
    return out


def run_ingest(root: Path, *, settings: Settings | None = None, once: bool = False,
               executor: str | None = None, workers: int | None = None,
               stop: threading.Event | None = None, poll_s: float = 0.5,
               progress=None) -> dict[str, int]:
    """Ingest ``root`` and process its calls.

    ``once``: take everything present (waiting until each file is complete), wait until
    every job of this run (and any left unfinished by an earlier run) has ended, return.
    Otherwise watch the folder (watchdog events plus a full rescan every ``rescan_s``) until
    ``stop`` is set or Ctrl-C. ``executor``: ``embedded`` (``workers`` processes here) or
    ``celery`` (jobs sent to the Redis broker for ``hotline-qa worker --celery``).

    Returns the summary ``{"processed", "duplicates", "quarantined", "failed"}`` of the files
    and resumed jobs of this run.

    Raises:
        FileNotFoundError: ``root`` is not a folder.
        sqlalchemy.exc.OperationalError: the database cannot be reached.
    """
    from models import make_engine, upgrade
    from qa.transcript_index import ensure_current
    from qa.worker import WorkerPool, fail_exhausted, release_dead_local_leases

    settings = settings or get_settings()
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"找不到录音文件夹 / no such folder: {root}")
    url = settings.effective_database_url
    upgrade(url)
    engine = make_engine(url)
    ensure_current(engine)  # the search index of an older tokenizer (or none) is rebuilt
    executor = executor or settings.executor
    dispatcher = None
    if executor == "celery":
        from qa.worker_celery import Dispatcher
        dispatcher = Dispatcher(engine, settings)
    ingestor = Ingestor(root, engine, settings,
                        on_new_job=dispatcher.send if dispatcher else None)
    with session_scope(engine) as s:  # jobs an earlier run left unfinished are resumed
        run_calls = set(s.scalars(select(Job.call_id).where(
            Job.state.in_(("queued", "running")))).all())
    pool = None
    if executor == "embedded":
        pool = WorkerPool(url, settings, workers or settings.workers).start()
    else:
        release_dead_local_leases(engine)
    events = _Events()
    observer = None if once else _watch(root, events)
    status = None if once else IngestStatus(settings.home, root)
    if status is not None:
        status.write("running")
        ingestor.heartbeat = status.beat
    totals = ScanResult()
    pending: list[Path] = []
    last_full = last_tidy = -1e9
    try:
        while stop is None or not stop.is_set():
            now = time.monotonic()
            try:
                if now - last_tidy >= UPLOADS_TIDY_S:  # at start, then now and then
                    last_tidy = now
                    tidy_uploads(engine, settings, on_new_job=ingestor.on_new_job)
                if once or now - last_full >= settings.rescan_s:
                    res = ingestor.scan()
                    last_full = now
                else:
                    paths = sorted(set(pending) | set(events.take()))
                    res = ingestor.scan([p for p in paths if ingestor.is_candidate(p)])
                pending = [Path(p) for p in res.pending]
                totals.merge(res)
                run_calls.update(res.call_ids)
                if pool is not None:
                    pool.check()
                else:
                    fail_exhausted(engine)
                    dispatcher.redispatch()
            except Exception as exc:  # noqa: BLE001 - watching: report, wait, try again
                if status is None:
                    raise
                log.exception("ingestion pass failed; retrying")
                status.beat(f"{type(exc).__name__}: {exc}"[:500])
                time.sleep(max(poll_s, 2.0))
                continue
            if status is not None:
                status.beat()
            if once and not pending:
                states = _call_states(engine, run_calls)
                if all(st in ("done", "failed", "quarantined") for st in states.values()):
                    break
            if progress is not None:
                progress(totals, run_calls)
            time.sleep(poll_s)
    except BaseException as exc:
        if status is not None:
            if isinstance(exc, Exception):
                status.write("failed", f"{type(exc).__name__}: {exc}"[:500])
            else:  # Ctrl-C / SIGTERM
                status.write("stopped")
            status = None
        raise
    finally:
        if status is not None:
            status.write("stopped")
        if observer is not None:
            observer.stop()
            observer.join(5)
        if pool is not None:
            pool.stop()
    states = _call_states(engine, run_calls)
    engine.dispose()
    counts = {st: sum(1 for v in states.values() if v == st) for st in
              ("done", "failed", "quarantined")}
    return {"processed": counts["done"], "duplicates": len(totals.duplicates),
            "quarantined": counts["quarantined"] + len(totals.quarantined),
            "failed": counts["failed"]}


@click.command("ingest")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--once", is_flag=True,
              help="Process what is there now, wait for the jobs to finish, print a summary.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Summary format.")
@click.option("--workers", "-n", type=int, default=None,
              help="Embedded worker processes (default: HOTLINE_QA_WORKERS, 1).")
@click.option("--executor", type=click.Choice(["embedded", "celery"]), default=None,
              help="Where jobs run (default: HOTLINE_QA_EXECUTOR, embedded).")
@db_option
@click.option("--store-mode", type=click.Choice(["copy", "link", "move"]), default=None,
              help="How recordings enter the store (default: copy; originals untouched).")
@click.option("--pattern", default=None,
              help="File-name regex; named groups become metadata (e.g. agent_id).")
def ingest_cmd(folder: Path, once: bool, fmt: str, workers: int | None,
               executor: str | None, db_url: str | None, store_mode: str | None,
               pattern: str | None) -> None:
    """Take recordings from FOLDER (and its sub-folders) and check every call.

    Watches the folder until stopped (Ctrl-C); with --once it processes what is there,
    waits for the results and prints a summary.

    Example: hotline-qa ingest /srv/recorder/out --once --format json
    """
    from sqlalchemy.exc import SQLAlchemyError

    settings = get_settings()
    update = {k: v for k, v in {"database_url": db_url, "store_mode": store_mode,
                                "filename_pattern": pattern}.items() if v is not None}
    if update:
        settings = settings.model_copy(update=update)
    if settings.filename_pattern:
        try:
            re.compile(settings.filename_pattern)
        except re.error as exc:
            raise click.ClickException(
                f"文件名规则不是有效的正则表达式 / invalid filename pattern: {exc}") from exc
    if not folder.is_dir():
        raise click.ClickException(f"找不到录音文件夹 / no such folder: {folder}")
    if (executor or settings.executor) != "celery":  # our own workers recognise here
        from qa.settings import require_device
        require_device(settings)
    from qa.pii import install_log_masking
    install_log_masking(settings.effective_database_url)  # the masking policy's ``logs``

    def _term(*_):
        raise KeyboardInterrupt

    import signal
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _term)
    if not once:
        click.echo(f"正在监视 / watching {folder} (Ctrl-C 停止 / to stop)", err=True)
    try:
        summary = run_ingest(folder, settings=settings, once=once, executor=executor,
                             workers=workers)
    except KeyboardInterrupt:
        click.echo("已停止 / stopped", err=True)
        return
    except SQLAlchemyError as exc:
        raise click.ClickException(f"无法连接数据库 / cannot reach the database: {exc}") from exc
    if fmt == "json":
        click.echo(json.dumps(summary))
    else:
        click.echo(f"已处理 processed: {summary['processed']}  重复 duplicates: "
                   f"{summary['duplicates']}  隔离 quarantined: {summary['quarantined']}  "
                   f"失败 failed: {summary['failed']}")
