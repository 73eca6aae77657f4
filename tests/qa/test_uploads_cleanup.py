"""``home/uploads`` is tidied without losing a call (:func:`qa.ingest.clean_uploads`): stale
``.part`` files of interrupted uploads, leftover copies of calls that have their own, orphaned
sidecars and old empty day folders go; an upload a stopped server saved but never recorded is
ingested; the original of an unfinished call whose store copy is missing stays until it ran.

The analyzer is :func:`ingest_helpers.fake_analyzer` (real decoding, no ASR).
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from models import Call, Job, SourceFile, session_scope
from models.db import make_engine
from qa.ingest import Ingestor, clean_uploads, run_ingest, sidecar_path
from qa.worker import claim_job, process_job
from ingest_helpers import settings_for as _settings

DATA = Path(__file__).resolve().parents[1] / "data"
HOUR = 3600.0


@pytest.fixture(autouse=True)
def _home_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_QA_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir(exist_ok=True)


def _age(path: Path, seconds: float) -> Path:
    t = time.time() - seconds
    os.utime(path, (t, t))
    return path


def _put(folder: Path, name: str, src: Path, meta: dict | None = None,
         age_s: float = 0.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    shutil.copy(src, p)
    if meta is not None:
        sidecar_path(p).write_text(json.dumps(meta), encoding="utf-8")
        _age(sidecar_path(p), age_s)
    return _age(p, age_s)


def _tone(path: Path, hz: float, seconds: float = 2.0) -> Path:
    """A WAV of its own content (a tone)."""
    import wave

    import numpy as np
    t = np.arange(int(8000 * seconds)) / 8000
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes((0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes())
    return path


def _run_job(engine, settings, call_id: str) -> str:
    from ingest_helpers import fake_analyzer
    with session_scope(engine) as s:
        job_id = s.scalar(select(Job.id).where(Job.call_id == call_id))
    assert claim_job(engine, "t:1", 30.0, job_id) == job_id
    return process_job(engine, job_id, "t:1", settings, analyzer=fake_analyzer)


def _call(engine, **where) -> Call | None:
    with session_scope(engine) as s:
        c = s.scalar(select(Call).filter_by(**where))
        if c is not None:
            s.expunge(c)
        return c


def _copies(home: Path, data: bytes) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file() and p.stat().st_size == len(data)
            and p.read_bytes() == data]


def test_leftovers_go_unfinished_calls_and_unrecorded_uploads_are_kept(tmp_path, db_url):
    settings = _settings(tmp_path, db_url)
    engine = make_engine(db_url)
    home = settings.home
    day = settings.effective_uploads_dir / "20260101"
    # what earlier versions (store_mode copy) left: an upload whose call is done
    done = _put(day, "101010_aa11aa_done.wav", DATA / "calls" / "pub-002.mono.wav",
                {"agent_id": "A1001"})
    # a queued upload whose store copy went missing (the worker falls back to the original)
    queued = _put(day, "101011_bb22bb_queued.wav", DATA / "calls" / "pub-003.stereo.wav")
    # a file that ingestion quarantined (year 1 in its metadata) while it kept a copy
    bad = _put(day, "101012_cc33cc_bad.wav", _tone(tmp_path / "t1.wav", 440),
               {"started_at": "0001-01-01T00:00:00"})
    old = Ingestor(day, engine, settings)  # copy mode: the second copy of earlier versions
    for p in (done, queued, bad):
        old.ingest_file(p)
    assert _run_job(engine, settings, _call(engine, source_path=str(done)).id) == "done"
    q = _call(engine, source_path=str(queued))
    Path(q.store_path).unlink()
    assert _call(engine, source_path=str(bad)) is None
    # an upload saved by a server that stopped before recording it (no call), an hour ago
    orphan = _put(day, "101013_dd44dd_20261120_100000_A1003_13900000000.wav",
                  _tone(tmp_path / "t2.wav", 550), age_s=2 * HOUR)
    orphan_bytes = orphan.read_bytes()
    # one still being saved (fresh, no call yet) and the .part of a transfer going on
    fresh = _put(day, "101014_ee55ee_fresh.wav", DATA / "calls" / "pub-002.mono.wav")
    live_part = _put(day, ".101015_ff66ff_live.wav.part", DATA / "calls" / "pub-002.mono.wav")
    live_side = sidecar_path(day / "101015_ff66ff_live.wav")
    live_side.write_text('{"agent_id": "A1001"}', encoding="utf-8")
    _age(live_side, 2 * HOUR)
    # a transfer interrupted long ago, an orphaned sidecar, an old empty day folder
    dead_part = _put(settings.effective_uploads_dir / "20250505",
                     ".090000_000000_gone.wav.part", DATA / "calls" / "pub-002.mono.wav",
                     age_s=2 * HOUR)
    dead_side = day / "090001_111111_gone.meta.json"
    dead_side.write_text("{}", encoding="utf-8")
    _age(dead_side, 2 * HOUR)
    (settings.effective_uploads_dir / "20250101").mkdir()

    out = clean_uploads(engine, settings, stale_s=HOUR)

    assert not done.exists() and not sidecar_path(done).exists()
    assert Path(_call(engine, source_path=str(done)).store_path).is_file()
    assert queued.exists() and str(queued) in out.kept  # the only copy of a queued call
    assert not bad.exists()
    assert list(settings.effective_quarantine_dir.glob("*_" + bad.name))
    assert not dead_part.exists() and not dead_side.exists()
    assert not (settings.effective_uploads_dir / "20250505").exists()
    assert not (settings.effective_uploads_dir / "20250101").exists()
    assert fresh.exists() and live_part.exists() and live_side.exists() and day.is_dir()
    # the unrecorded upload is a queued call now, stored once
    assert out.ingested == [str(orphan)] and not orphan.exists()
    c = _call(engine, source_path=str(orphan))
    assert c.status == "queued" and c.agent_id == "A1003"
    assert _copies(home, orphan_bytes) == [Path(c.store_path)]

    # the queued call runs from its original, and is tidied once it has its copy again
    assert _run_job(engine, settings, q.id) == "done"
    assert Path(q.store_path).is_file()
    clean_uploads(engine, settings, stale_s=HOUR)
    assert not queued.exists()
    assert _run_job(engine, settings, c.id) == "done"
    with session_scope(engine) as s:
        assert s.scalar(select(SourceFile.outcome).where(
            SourceFile.path == str(orphan))) == "new"
    engine.dispose()


def test_a_stale_part_goes_at_the_ingest_pass(tmp_path, db_url):
    settings = _settings(tmp_path, db_url, upload_stale_s=60.0)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    day = settings.effective_uploads_dir / "20260101"
    stale = _put(day, ".101010_aa11aa_x.wav.part", DATA / "calls" / "pub-002.mono.wav",
                 age_s=120.0)
    live = _put(day, ".101011_bb22bb_y.wav.part", DATA / "calls" / "pub-002.mono.wav")
    run_ingest(inbox, settings=settings, once=True)
    assert not stale.exists() and live.exists()
