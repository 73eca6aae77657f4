"""Upload of a recording (or transcript JSON) through the API: the same path as folder
ingestion — the file is saved under ``home/uploads``, optional metadata becomes its sidecar,
and :class:`qa.ingest.Ingestor` records the call and its job (deduplicated by content),
moving the file into the store (``store_mode`` ``move``): an upload is stored once, and
``home/uploads`` keeps nothing once the request is answered. What a stopped server leaves
there is tidied by :func:`qa.ingest.clean_uploads` (ingestion and workers run it)."""
from __future__ import annotations

import json
import logging
import re
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services.audit import audit
from api.services.errors import Invalid, TooLarge
from models import Agent, Call, User
from qa.settings import Settings

log = logging.getLogger("hotline_qa.api.uploads")
CHUNK = 1 << 20


def _safe_name(name: str) -> str:
    base = Path(name or "upload").name
    base = re.sub(r"[^\w.\-\u4e00-\u9fff]+", "_", base).strip("._") or "upload"
    return base[-150:]


def _probe(path: Path, suffix: str) -> dict[str, Any]:
    """Reject files that are not audio (or not a transcript JSON) with a clear message that
    names no path on the server. ``suffix``: the upload's (``path`` is the temporary
    ``….part`` file). Returns a transcript document's own ``metadata`` (``{}`` for audio)."""
    if suffix.lower() == ".json":
        from qa.records import Transcript, TranscriptFormatError
        try:
            tr = Transcript.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError, TranscriptFormatError, TypeError,
                AttributeError) as exc:
            raise Invalid(f"转写 JSON 格式不正确 / not a transcript document: "
                          f"{str(exc).replace(str(path), '…')}") from None
        return dict(tr.metadata or {})
    import av
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise Invalid("文件中没有音频 / the file has no audio stream")
    except Invalid:
        raise
    except Exception as exc:  # noqa: BLE001 - PyAV raises many kinds for non-audio
        # FFmpeg's message without the file name PyAV appends (the temporary path)
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise Invalid(f"不是可识别的录音文件 / not a recognisable recording: "
                      f"{str(reason).replace(str(path), '…')}") from None
    return {}


def _agent_for_upload(db: Session, user: User, agent_id: Any, ip: str | None) -> None:
    """An upload naming an agent id not seen before: only an admin adds agents (as with
    ``POST /agents``); the agent is made here with its audit entry, so ingestion finds it.

    Raises:
        Invalid: a supervisor's upload names an unknown agent id, or the id is too long.
    """
    if agent_id in (None, ""):
        return
    agent_id = str(agent_id)
    if len(agent_id) > 64:
        raise Invalid("工号太长（最多 64 个字符） / agent id too long (64 characters at most)")
    if db.get(Agent, agent_id) is not None:
        return
    if user.role != "admin":
        raise Invalid(f"工号 {agent_id} 不存在：新的客服人员只能由管理员添加 / unknown agent id "
                      f"{agent_id}: only admins add agents")
    db.add(Agent(id=agent_id, name=agent_id))
    audit(db, user, "agent.create", "agent", agent_id, {"id": agent_id, "via": "upload"}, ip)
    db.commit()  # before ingestion, which writes through its own session


def _remove(*paths: Path) -> None:
    for p in paths:
        try:
            p.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove %s: %s", p, exc)


def save_upload(db: Session, user: User, settings: Settings, filename: str, stream: BinaryIO,
                metadata: dict[str, Any] | None, ip: str | None = None,
                engine=None) -> tuple[Call, bool]:
    """Store an uploaded file and enqueue it like an ingested one.

    Returns ``(call, duplicate)``. Raises :class:`TooLarge` over ``upload_max_bytes``,
    :class:`Invalid` for an empty file, a disallowed suffix, content that is not audio (or
    not a transcript document), or an unknown agent id in a supervisor's upload.
    """
    from qa.ingest import Ingestor, sha256_file
    from qa.recordings import metadata_from_name, started_at_error

    name = _safe_name(filename)
    suffixes = tuple(s.strip().lower() for s in settings.ingest_suffixes.split(",") if s.strip())
    if not name.lower().endswith(suffixes):
        raise Invalid(f"不支持的文件类型 / unsupported file type; allowed: {', '.join(suffixes)}")
    if metadata is not None and not isinstance(metadata, dict):
        raise Invalid("metadata 必须是 JSON 对象 / metadata must be a JSON object")
    root = settings.effective_uploads_dir
    day = datetime.now(timezone.utc)
    folder = root / f"{day:%Y%m%d}"
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / f"{day:%H%M%S}_{secrets.token_hex(3)}_{name}"
    tmp = dest.with_name("." + dest.name + ".part")
    size = 0
    try:
        with open(tmp, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > settings.upload_max_bytes:
                    raise TooLarge(f"文件超过上限 {settings.upload_max_bytes // (1024 * 1024)} MB"
                                   " / file too large")
                out.write(chunk)
        if size == 0:
            raise Invalid("上传的文件是空的 / the uploaded file is empty")
        doc_meta = _probe(tmp, Path(name).suffix)
        meta = metadata_from_name(dest.name, settings.filename_pattern)
        meta.update(metadata or {})
        problem = started_at_error(meta.get("started_at"), settings.timezone)
        if problem:
            raise Invalid(f"started_at：{problem}")
        sha = sha256_file(tmp)
        existing = db.scalar(select(Call).where(Call.content_sha256 == sha))
        if existing is not None:
            tmp.unlink()
            audit(db, user, "call.upload", "call", existing.id,
                  {"filename": name, "duplicate": True}, ip)
            db.commit()
            return existing, True
        # the agent the call will be filed under (the transcript's own metadata comes last)
        _agent_for_upload(db, user, meta.get("agent_id") if meta.get("agent_id") not in
                          (None, "") else doc_meta.get("agent_id"), ip)
        meta_path = dest.with_name(dest.name.rsplit(".", 1)[0] + ".meta.json")
        if metadata:
            meta_path.write_text(json.dumps(metadata, ensure_ascii=False), encoding="utf-8")
        tmp.rename(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    # moved into the store (linked, then removed here once the call is recorded)
    ingestor = Ingestor(folder, engine or db.get_bind(),
                        settings.model_copy(update={"store_mode": "move"}))
    try:
        outcome = ingestor.ingest_file(dest)[0]
    except BaseException:
        _remove(dest, meta_path)
        raise
    # the metadata is the call's now; a duplicate's or a quarantined file's copy is elsewhere
    _remove(dest, meta_path)
    db.expire_all()
    call = db.scalar(select(Call).where(Call.content_sha256 == sha))
    if call is None:  # quarantined by ingestion (it keeps its own copy)
        raise Invalid(f"文件无法入库（{outcome}）/ the file was not accepted")
    audit(db, user, "call.upload", "call", call.id,
          {"filename": name, "size": size, "duplicate": outcome == "duplicates"}, ip)
    db.commit()
    return call, outcome == "duplicates"
