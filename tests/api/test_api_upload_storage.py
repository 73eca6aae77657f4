"""An upload is stored once: moved from ``home/uploads`` into the store as its call is
recorded, nothing left behind; tidying ``home/uploads`` never costs a queued or running call
its recording (a worker that died mid-job is resumed after it)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

DATA = Path(__file__).resolve().parents[1] / "data"
META = '{"agent_id": "A1003", "started_at": "2026-11-20T10:00:00+08:00"}'


def _copies(home: Path, data: bytes) -> list[Path]:
    """Every file under ``home`` holding exactly these bytes (hard links count once)."""
    seen, out = set(), []
    for p in sorted(home.rglob("*")):
        if p.is_file() and p.stat().st_size == len(data) and p.read_bytes() == data:
            st = p.stat()
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                out.append(p)
    return out


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def _upload(sup, data: bytes, name: str = "来电 录音.wav") -> dict:
    r = sup.post("/api/v1/calls/upload", files={"file": (name, data, "audio/wav")},
                 data={"metadata": META})
    assert r.status_code == 202, r.text
    return r.json()


def _job(app, call_id: str) -> int:
    from models import Job, session_scope
    with session_scope(app.state.engine) as s:
        return s.scalar(select(Job.id).where(Job.call_id == call_id))


def _process(app, job_id: int, owner: str = "t:1") -> str:
    from tests.qa.ingest_helpers import fake_analyzer

    from qa.worker import claim_job, process_job
    engine, settings = app.state.engine, app.state.settings
    assert claim_job(engine, owner, 30.0, job_id) == job_id
    return process_job(engine, job_id, owner, settings, analyzer=fake_analyzer)


def test_an_upload_is_stored_once_and_uploads_keeps_nothing(sup, app, db):
    from models import Call
    settings = app.state.settings
    home = Path(settings.home)
    uploads = home / "uploads"
    wav = (DATA / "calls" / "pub-003.stereo.wav").read_bytes()
    body = _upload(sup, wav)
    call = db.get(Call, body["call_id"])
    store = Path(call.store_path)
    assert _copies(home, wav) == [store] and store.stat().st_nlink == 1
    assert _files(uploads) == []  # neither the recording nor its metadata sidecar
    assert call.agent_id == "A1003" and call.meta["agent_id"] == "A1003"
    again = _upload(sup, wav, "copy.wav")
    assert again["duplicate"] and again["call_id"] == call.id and _files(uploads) == []
    # analysed: still one copy, in the store
    assert _process(app, _job(app, call.id)) == "done"
    db.expire_all()
    assert db.get(Call, call.id).status == "done"
    assert _copies(home, wav) == [store]


def test_a_queued_or_running_upload_survives_the_cleanup_and_resumes(sup, app, db):
    from models import Call
    from qa.ingest import clean_uploads
    from qa.worker import claim_job, release_leases
    engine, settings = app.state.engine, app.state.settings
    home = Path(settings.home)
    mono = (DATA / "calls" / "pub-002.mono.wav").read_bytes()
    stereo = (DATA / "calls" / "pub-003.stereo.wav").read_bytes()
    queued = _upload(sup, mono, "排队.wav")["call_id"]
    running = _upload(sup, stereo, "处理中.wav")["call_id"]
    job = _job(app, running)
    assert claim_job(engine, "dead:1", 30.0, job) == job  # its worker then dies
    part = settings.effective_uploads_dir / "20000101" / ".000000_abcdef_x.wav.part"
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"RIFF half an upload")  # a transfer interrupted long ago (stale_s=0)
    out = clean_uploads(engine, settings, stale_s=0)
    assert str(part) in out.removed and not part.exists()
    for cid, data in ((queued, mono), (running, stereo)):
        assert _copies(home, data) == [Path(db.get(Call, cid).store_path)]
    # the restart: the dead worker's job is claimable again and finishes; the queued one too
    assert release_leases(engine, "dead:") == 1
    assert _process(app, job, "t:2") == "done"
    assert _process(app, _job(app, queued)) == "done"
    db.expire_all()
    for cid, data in ((queued, mono), (running, stereo)):
        call = db.get(Call, cid)
        assert call.status == "done" and _copies(home, data) == [Path(call.store_path)]
