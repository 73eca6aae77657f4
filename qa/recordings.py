"""Recording files: content hashes, call ids, metadata from file names and sidecars, the tidy
store and the quarantine. Shared by ingestion (:mod:`qa.ingest`) and the workers
(:mod:`qa.worker`)."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from transcribe.sidecar import (SIDECAR_SUFFIX, is_sidecar, read_sidecar,  # noqa: F401 - re-exported
                                sidecar_path)

REASON_SUFFIX = ".reason.txt"
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """The SHA-256 hex digest of a file's content (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def call_id_for(sha256: str) -> str:
    """The stable id of the call with this content."""
    return f"c-{sha256[:16]}"


def metadata_from_name(name: str, pattern: str | None) -> dict[str, Any]:
    """Metadata from a file name: the regex's named groups that matched (``re.search``).

    ``date`` (``YYYYMMDD``) and ``time`` (``HHMMSS``, optional) also give ``started_at``
    (ISO 8601, local time without offset).

    Raises:
        re.error: the pattern is not a valid regular expression.
    """
    if not pattern:
        return {}
    m = re.search(pattern, name)
    if not m:
        return {}
    meta = {k: v for k, v in m.groupdict().items() if v is not None}
    date, tm = meta.get("date"), meta.get("time", "000000")
    if date and "started_at" not in meta:
        try:
            meta["started_at"] = datetime.strptime(date + tm, "%Y%m%d%H%M%S").isoformat()
        except ValueError:
            pass
    return meta


# The recording times the product accepts. A recorder's clock or a file-name pattern that read
# the wrong digits can give year 1 (``00010101_…``), which cannot even be converted to UTC.
STARTED_AT_YEARS = (1970, 2999)


class StartedAtError(ValueError):
    """``started_at`` metadata is a time outside :data:`STARTED_AT_YEARS`."""


def _started_at(value: Any, tz_name: str) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    lo, hi = STARTED_AT_YEARS
    if not lo <= dt.year <= hi:
        raise StartedAtError(
            f"录音时间超出范围（应在 {lo}–{hi} 年之间）/ the recording time is out of range "
            f"(years {lo}–{hi}): {value[:40]}")
    if dt.tzinfo is None:
        try:
            from zoneinfo import ZoneInfo
            dt = dt.replace(tzinfo=ZoneInfo(tz_name))
        except Exception:  # noqa: BLE001 - unknown zone: take UTC
            dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def parse_started_at(value: Any, tz_name: str) -> datetime | None:
    """``started_at`` metadata (ISO 8601) as an aware UTC datetime; naive times are local
    (``tz_name``). Unparseable values and times out of range (:func:`started_at_error`) give
    ``None``."""
    try:
        return _started_at(value, tz_name)
    except StartedAtError:
        return None


def started_at_error(value: Any, tz_name: str) -> str | None:
    """Why ``started_at`` metadata cannot be used (a time outside :data:`STARTED_AT_YEARS`),
    as a message for people; ``None`` when it is usable, absent or not a time at all."""
    try:
        _started_at(value, tz_name)
    except StartedAtError as exc:
        return str(exc)
    return None


def _copy_durably(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` through a temporary name, fsynced, then renamed into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    with open(src, "rb") as fi, open(tmp, "wb") as fo:
        shutil.copyfileobj(fi, fo, _CHUNK)
        fo.flush()
        os.fsync(fo.fileno())
    os.replace(tmp, dest)


def place_in_store(src: Path, dest: Path, mode: str) -> None:
    """Put a copy of ``src`` at ``dest`` without touching ``src``'s content.

    ``mode``: ``copy``; ``link`` (hard link, copy when linking is impossible); ``move`` links
    the same way here — the caller removes the original once the job is committed, so the
    bytes are written once and stored once (on another file system: copied, then removed).
    """
    if dest.exists():
        return
    if mode in ("link", "move"):
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dest)
            return
        except OSError:
            pass
    _copy_durably(src, dest)


def quarantine_file(src: Path, quarantine_dir: Path, name: str, reason: str,
                    detail: str = "") -> Path:
    """Copy ``src`` into the quarantine as ``name`` and write ``name.reason.txt`` beside it.

    Returns the quarantined file's path. The reason file holds the reason code on its first
    line, then the human message.
    """
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    dest = quarantine_dir / name
    if src.exists() and not dest.exists():
        _copy_durably(src, dest)
    reason_file = dest.with_name(dest.name + REASON_SUFFIX)
    reason_file.write_text(f"{reason}\n{detail}\n原文件 / source: {src}\n", encoding="utf-8")
    return dest
