"""Ingestion and workers: dedupe, metadata, store and quarantine, retries, kill -9, claims.

The analyzer is :func:`ingest_helpers.fake_analyzer` (real decoding / transcript parsing, no
ASR) so that these tests take seconds; the reliability benchmark runs the real pipeline.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import Call, Finding, Job, JobAttempt, Score, SourceFile, Utterance, session_scope
from models.db import make_engine
from qa.ingest import Ingestor, metadata_from_name, run_ingest, sidecar_path
from qa.settings import Settings
from qa.worker import WorkerPool, claim_job, process_job
from ingest_helpers import settings_for as _settings
from tests.waiting import wait_for

DATA = Path(__file__).resolve().parents[1] / "data"
HELPERS = str(Path(__file__).resolve().parent)
PATTERN = r"(?P<date>\d{8})_(?P<time>\d{6})_(?P<agent_id>[^_]+)_(?P<caller_number>\d+)\.\w+$"


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _transcript(path: Path, **meta) -> Path:
    doc = json.loads((DATA / "truth" / "pub-007.truth.json").read_text(encoding="utf-8"))
    doc.pop("labels", None)
    doc["metadata"] = {**doc.get("metadata", {}), **meta}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _home_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_QA_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir(exist_ok=True)


def test_metadata_from_file_name_and_sidecar_path():
    meta = metadata_from_name("20261102_091500_A1001_13912345678.mp3", PATTERN)
    assert meta == {"date": "20261102", "time": "091500", "agent_id": "A1001",
                    "caller_number": "13912345678", "started_at": "2026-11-02T09:15:00"}
    assert metadata_from_name("random name.mp3", PATTERN) == {}
    assert sidecar_path(Path("a/b/pub-001.stereo.mp3")) == Path("a/b/pub-001.stereo.meta.json")


def test_ingest_once_processes_dedupes_and_quarantines(tmp_path, db_url):
    inbox = tmp_path / "录音 inbox"
    (inbox / "二楼 sub").mkdir(parents=True)
    good = inbox / "20261102_091500_A2002_13900000000.mp3"
    shutil.copy(DATA / "calls" / "pub-001.stereo.mp3", good)
    stereo = inbox / "二楼 sub" / "pub-001 副本.stereo.mp3"
    shutil.copy(DATA / "calls" / "pub-003.stereo.wav", stereo.with_suffix(".wav"))
    shutil.copy(DATA / "calls" / "pub-003.stereo.meta.json",
                sidecar_path(stereo.with_suffix(".wav")))
    _transcript(inbox / "二楼 sub" / "通话 七.json")
    shutil.copy(good, inbox / "二楼 sub" / "dup copy.mp3")            # exact duplicate
    (inbox / "not audio.wav").write_text("这不是录音", encoding="utf-8")
    (inbox / "picture.mp3").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(300))
    (inbox / "empty.wav").write_bytes(b"")
    (inbox / "broken.json").write_text('{"utterances": [{"speaker": "robot"}]}')
    (inbox / "notes.txt").write_text("ignored")
    before = {p: _sha(p) for p in inbox.rglob("*") if p.is_file()}

    settings = _settings(tmp_path, db_url)
    summary = run_ingest(inbox, settings=settings, once=True)
    assert summary == {"processed": 3, "duplicates": 1, "quarantined": 4, "failed": 0}

    # originals untouched, every one still there
    assert {p: _sha(p) for p in inbox.rglob("*") if p.is_file()} == before
    with session_scope(db_url) as s:
        calls = {c.filename: c for c in s.scalars(select(Call))}
        assert set(calls) == {good.name, "pub-001 副本.stereo.wav", "通话 七.json",
                              "not audio.wav", "picture.mp3", "broken.json"}
        c = calls[good.name]
        assert (c.status, c.agent_id, c.caller_number) == ("done", "A2002", "13900000000")
        # the stand-in's findings, scored by the product's scorer with the shipped form
        assert c.started_at is not None and c.score == 80.0 and c.red_line is True
        assert c.report["call_id"] == c.id and c.report["rules"][1]["code"] == "PO03"
        assert c.report["needs_review"] is True
        assert c.timings["analyze"] >= 0 and "store" in c.timings
        assert calls["pub-001 副本.stereo.wav"].agent_id == "A1003"   # from the sidecar
        assert calls["通话 七.json"].agent_id == "A1004"               # from the transcript
        n_utts = s.scalar(select(func.count()).select_from(Utterance)
                          .where(Utterance.call_id == calls["通话 七.json"].id))
        assert n_utts > 10
        fails = s.scalars(select(Finding).where(Finding.status == "fail")).all()
        assert len(fails) == 6  # two per analysed call: a confident red line, one to review
        assert {(f.code, f.red_line, f.deduction, f.needs_review) for f in fails} == {
            ("PO03", True, 20.0, False), ("CP01", False, 0.0, True)}
        for name, reason in [("not audio.wav", {"not_audio"}),
                             ("picture.mp3", {"not_audio", "no_audio"}),
                             ("broken.json", {"bad_transcript"})]:
            q = calls[name]
            assert q.status == "quarantined" and q.error
            assert Path(q.store_path).exists()
            rf = Path(q.store_path + ".reason.txt")
            assert rf.read_text(encoding="utf-8").splitlines()[0] in reason
        assert s.scalar(select(func.count()).select_from(Job)
                        .where(Job.state.in_(("queued", "running")))) == 0
        dup = s.scalar(select(SourceFile).where(SourceFile.path.like("%dup copy.mp3")))
        assert dup.outcome == "duplicate" and dup.call_id == c.id
    quarantine = settings.effective_quarantine_dir
    assert any(p.name.endswith("empty.wav.reason.txt") for p in quarantine.iterdir())
    stored = sorted(p.name for p in settings.effective_store_dir.rglob("*") if p.is_file())
    assert len(stored) == 3 and all(n.startswith("c-") for n in stored)  # only good ones

    # a second pass finds nothing new and counts nothing twice
    assert run_ingest(inbox, settings=settings, once=True) == {
        "processed": 0, "duplicates": 0, "quarantined": 0, "failed": 0}


def test_file_still_being_written_and_late_sidecar(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'qa.db'}"
    inbox = tmp_path / "in"
    inbox.mkdir()
    src = (DATA / "calls" / "pub-002.mono.wav").read_bytes()
    target = inbox / "growing.wav"

    def writer():
        with open(target, "wb") as f:
            for i in range(0, len(src), len(src) // 8 + 1):
                f.write(src[i:i + len(src) // 8 + 1])
                f.flush()
                time.sleep(0.15)
        time.sleep(0.3)
        sidecar_path(target).write_text(json.dumps({"agent_id": "A7"}))

    t = threading.Thread(target=writer)
    t.start()
    wait_for(target.exists, timeout=10, what="the recorder to start writing")
    settings = _settings(tmp_path, db_url, stable_s=0.5, sidecar_wait_s=2.5)
    summary = run_ingest(inbox, settings=settings, once=True)
    t.join()
    assert summary["processed"] == 1 and summary["quarantined"] == 0
    with session_scope(db_url) as s:
        (call,) = s.scalars(select(Call)).all()
        assert call.size_bytes == len(src) and call.agent_id == "A7"
        assert Path(call.store_path).read_bytes() == src


def test_sidecar_arriving_after_the_call_was_analysed_is_merged_and_rerun(tmp_path, db_url):
    from ingest_helpers import runs
    inbox = tmp_path / "in"
    inbox.mkdir()
    rec = inbox / "late.wav"
    shutil.copy(DATA / "calls" / "pub-002.mono.wav", rec)
    settings = _settings(tmp_path, db_url)
    assert run_ingest(inbox, settings=settings, once=True)["processed"] == 1
    with session_scope(db_url) as s:
        (call,) = s.scalars(select(Call)).all()
        assert call.agent_id is None and call.status == "done"
        utterances = call.report["transcript"]["utterances"]
    assert runs() == 1
    _late_sidecar(inbox, settings, rec, agent_id="A8", caller_number="13900001111")
    with session_scope(db_url) as s:
        (call,) = s.scalars(select(Call)).all()
        assert (call.agent_id, call.caller_number, call.status) == ("A8", "13900001111", "done")
        assert call.job.state == "done" and call.job.kind == "analyze"
        assert [a.outcome for a in call.job.attempt_log] == ["done", "done"]
        # the rules ran again on the stored transcript, with the sidecar's metadata
        assert "metadata_rerun" in call.timings
        assert call.report["transcript"]["utterances"] == utterances
        assert call.report["transcript"]["metadata"]["agent_id"] == "A8"
        assert s.scalar(select(func.count()).select_from(Score)) == 2
    assert runs() == 1  # the recording was not recognised a second time
    # nothing changes on a third pass: the sidecar is merged once
    assert run_ingest(inbox, settings=settings, once=True) == {
        "processed": 0, "duplicates": 0, "quarantined": 0, "failed": 0}


def _late_sidecar(inbox: Path, settings: Settings, rec: Path, **meta) -> None:
    side = sidecar_path(rec)
    side.write_text(json.dumps(meta))
    # written after the call was seen: the file system's coarse clock may stamp it a few ms
    # in the past, so stamp it with the time now
    now = time.time()
    os.utime(side, (now, now))
    summary = run_ingest(inbox, settings=settings, once=True)
    assert summary["duplicates"] == 0 and summary["quarantined"] == 0


def test_late_sidecar_rerun_keeps_reviews_and_a_type_correction(tmp_path, db_url):
    from models import Classification
    inbox = tmp_path / "in"
    rec = _transcript(inbox / "reviewed.json")
    settings = _settings(tmp_path, db_url, analyzer=None)  # the real rules
    run_ingest(inbox, settings=settings, once=True)
    with session_scope(db_url) as s:
        (call,) = s.scalars(select(Call)).all()
        fails = s.scalars(select(Finding).where(Finding.status == "fail",
                                                Finding.deduction > 0)
                          .order_by(Finding.code)).all()
        # pub-007's machine fails are red lines that do not depend on the call type
        assert [(f.code, f.deduction) for f in fails] == [("PO05", 20.0), ("PO06", 20.0)]
        fails[0].review_state = "overturned"  # the supervisor overturned a machine fail
        assert call.call_type == "complaint"
        corrected = "inquiry"
        s.add(Classification(call_id=call.id, kind="correction", call_type=corrected))
        call.call_type = corrected
    _late_sidecar(inbox, settings, rec, agent_id="A8")
    with session_scope(db_url) as s:
        (call,) = s.scalars(select(Call)).all()
        assert call.agent_id == "A8" and call.status == "done" and "metadata_rerun" in call.timings
        # the correction stands and is what the rules saw
        assert call.call_type == corrected and call.report["call_type"] == corrected
        assert call.report["classification_source"] == "correction"
        # PO05 fails again: the review stands and counts (its 20 points are given back)
        again = s.scalar(select(Finding).where(Finding.code == "PO05"))
        assert (again.status, again.review_state) == ("fail", "overturned")
        assert call.score == pytest.approx(call.report["score"] + 20)
        # the rules saw the correction: the complaint rules that need a complaint are n/a now
        cp = {f.code: f.status
              for f in s.scalars(select(Finding).where(Finding.code.like("CP%")))}
        assert cp == {"CP01": "n/a", "CP02": "pass", "CP03": "n/a", "CP04": "n/a"}


def test_metadata_changed_during_analysis_reruns_the_rules_before_storing(tmp_path, db_url):
    from ingest_helpers import runs
    inbox = tmp_path / "in"
    _transcript(inbox / "slow.json", sleep=1.0)
    settings = _settings(tmp_path, db_url)
    engine = make_engine(db_url)
    ing = Ingestor(inbox, engine, settings=settings)
    (call_id,) = wait_for(lambda: ing.scan().call_ids, timeout=10,
                          what="the transcript to be ingested")
    job_id = claim_job(engine, "w1", settings.job_lease_s)
    assert job_id is not None

    def late():
        # while the analyzer works (it sleeps a second after counting its run)
        wait_for(lambda: runs() == 1, timeout=10, what="the analysis to start")
        with session_scope(db_url) as s:
            call = s.get(Call, call_id)
            call.meta = {**call.meta, "agent_id": "A5"}
    t = threading.Thread(target=late)
    t.start()
    assert process_job(engine, job_id, "w1", settings) == "done"
    t.join()
    assert runs() == 1  # no second recognition
    with session_scope(db_url) as s:
        call = s.get(Call, call_id)
        assert call.status == "done" and call.job.state == "done"
        assert call.report["transcript"]["metadata"]["agent_id"] == "A5"
        assert call.agent_id == "A5" and call.timings["metadata_rerun"] is not None


def test_transient_errors_are_retried_with_backoff_then_fail(tmp_path, db_url):
    inbox = tmp_path / "in"
    _transcript(inbox / "flaky.json", flaky=2)
    _transcript(inbox / "hopeless.json", flaky=99, agent_id="A9")
    settings = _settings(tmp_path, db_url, job_max_attempts=2, retry_backoff_s=1.0)
    summary = run_ingest(inbox, settings=settings, once=True)
    assert summary == {"processed": 1, "duplicates": 0, "quarantined": 0, "failed": 1}
    with session_scope(db_url) as s:
        jobs = {j.call.filename: j for j in s.scalars(select(Job))}
        ok, bad = jobs["flaky.json"], jobs["hopeless.json"]
        assert (ok.state, ok.attempts) == ("done", 2)
        assert [a.outcome for a in ok.attempt_log] == ["retry", "done"]
        gap = ok.attempt_log[1].started_at - ok.attempt_log[0].started_at
        assert gap.total_seconds() >= 1.0  # waited for the backoff
        assert (bad.state, bad.attempts) == ("failed", 2)
        assert "ConnectionError" in bad.last_error and bad.call.status == "failed"
        assert bad.call.error and "flaky attempt 2" in bad.call.error


def test_worker_killed_mid_job_is_resumed_and_finished_once(tmp_path, db_url):
    from ingest_helpers import runs
    inbox = tmp_path / "in"
    _transcript(inbox / "slow.json", sleep=2.5)
    settings = _settings(tmp_path, db_url, job_lease_s=30.0)
    engine = make_engine(db_url)
    Ingestor(inbox, engine, settings).ingest_file(inbox / "slow.json")
    pool = WorkerPool(db_url, settings, 1).start()

    def job() -> Job:
        with session_scope(engine) as s:
            return s.scalar(select(Job))

    try:
        running = wait_for(lambda: (j := job()).state == "running" and j, timeout=60,
                           what="a worker to claim the job")
        victim = pool.procs[0].pid
        assert running.lease_owner.split(":")[1] == str(victim)
        wait_for(lambda: runs() == 1, timeout=30, what="the analysis to start")
        os.kill(victim, signal.SIGKILL)  # mid-analysis: the analyzer sleeps 2.5 s
        pool.procs[0].join(10)

        def finished() -> bool:
            pool.check()  # replaces the dead worker and releases its job at once
            return job().state == "done"
        wait_for(finished, timeout=60, interval=0.2, what="the job to be resumed and done")
        assert pool.restarts == 1
    finally:
        pool.stop()
    with session_scope(engine) as s:
        job = s.scalar(select(Job))
        assert (job.state, job.attempts) == ("done", 2)
        assert [a.outcome for a in job.attempt_log] == ["lost", "done"]
        assert s.scalar(select(func.count()).select_from(Score)) == 1
        n = s.scalar(select(func.count()).select_from(Utterance))
        assert n == len(job.call.report["transcript"]["utterances"])
    engine.dispose()


def test_a_job_that_kills_its_worker_twice_is_quarantined(tmp_path, db_url):
    from ingest_helpers import runs
    inbox = tmp_path / "in"
    _transcript(inbox / "killer.json", die=True)
    settings = _settings(tmp_path, db_url, job_max_attempts=5)
    engine = make_engine(db_url)
    Ingestor(inbox, engine, settings).ingest_file(inbox / "killer.json")
    pool = WorkerPool(db_url, settings, 1).start()
    def settled() -> bool:
        pool.check()
        with session_scope(engine) as s:
            return s.scalar(select(Job)).state in ("quarantined", "failed", "done")

    try:
        wait_for(settled, timeout=90, interval=0.2, what="the job to stop being retried")
        assert pool.restarts == 2  # died on the first attempt (resumed) and the second
    finally:
        pool.stop()
    with session_scope(engine) as s:
        job = s.scalar(select(Job))
        assert (job.state, job.attempts, job.error_kind) == ("quarantined", 2, "worker_died")
        assert [a.outcome for a in job.attempt_log] == ["lost", "lost"]
        assert all(a.error.startswith("worker_died:") for a in job.attempt_log)
        assert job.call.status == "quarantined" and "2 次意外退出" in job.call.error
        qpath = Path(job.call.store_path)
    assert qpath.exists() and qpath.parent == settings.effective_quarantine_dir
    reason = qpath.with_name(qpath.name + ".reason.txt").read_text(encoding="utf-8")
    assert reason.splitlines()[0] == "worker_died"
    assert runs() == 2  # analysed twice (the store copy of killer.json), not retried blindly
    assert not [p for p in settings.effective_store_dir.rglob("*") if p.is_file()]
    engine.dispose()


def test_claims_are_atomic_across_concurrent_workers(tmp_path, db_url):
    engine = make_engine(db_url)
    settings = _settings(tmp_path, db_url)
    with session_scope(engine) as s:
        for i in range(30):
            call = Call(id=f"c-{i}", content_sha256=f"{i:064d}", source_path=f"/x/{i}",
                        filename=f"{i}.json", media_type="transcript")
            call.job = Job()
            s.add(call)
    claimed: dict[str, list[int]] = {}

    def claimer(name: str) -> None:
        eng = make_engine(db_url)
        mine = claimed.setdefault(name, [])
        while (jid := claim_job(eng, name, 60)) is not None:
            mine.append(jid)
        eng.dispose()

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    all_ids = [j for ids in claimed.values() for j in ids]
    assert sorted(all_ids) == list(range(1, 31))  # each job exactly once
    # an expired lease makes the job claimable again, counted as a lost attempt
    with session_scope(engine) as s:
        job = s.get(Job, all_ids[0])
        job.lease_expires_at = job.lease_expires_at.replace(year=2000)
    assert claim_job(engine, "w9", 60) == all_ids[0]
    assert process_job(engine, all_ids[0], "someone-else", settings) == "lost"
    with session_scope(engine) as s:
        outcomes = s.scalars(select(JobAttempt.outcome).where(
            JobAttempt.job_id == all_ids[0]).order_by(JobAttempt.number)).all()
        assert outcomes == ["lost", "running"]
    engine.dispose()


def test_cli_ingest_once_json_and_calls_commands(tmp_path):
    inbox = tmp_path / "in"
    _transcript(inbox / "a.json")
    (inbox / "b.wav").write_text("nope")
    env = {**os.environ, "HOTLINE_QA_HOME": str(tmp_path / "home"),
           "HOTLINE_QA_ANALYZER": "ingest_helpers:fake_analyzer", "HOTLINE_QA_STABLE_S": "0.2",
           "HOTLINE_QA_SIDECAR_WAIT_S": "0.2",
           "PYTHONPATH": os.pathsep.join([HELPERS, os.environ.get("PYTHONPATH", "")])}
    exe = [sys.executable, "-m", "qa.cli"]
    out = subprocess.run(exe + ["ingest", str(inbox), "--once", "--format", "json"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"processed": 1, "duplicates": 0, "quarantined": 1,
                                      "failed": 0}
    out = subprocess.run(exe + ["calls", "list", "--format", "json"], env=env,
                         capture_output=True, text=True, timeout=60)
    rows = json.loads(out.stdout)
    assert {(r["filename"], r["status"]) for r in rows} == {("a.json", "done"),
                                                            ("b.wav", "quarantined")}
    assert {"id", "source", "agent", "status", "score"} <= set(rows[0])
    done = next(r for r in rows if r["status"] == "done")
    out = subprocess.run(exe + ["calls", "show", done["id"]], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "PO03" in out.stdout and "80.0" in out.stdout
    out = subprocess.run(exe + ["calls", "show", "c-nope"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 1 and "没有这个通话" in out.stderr
    out = subprocess.run(exe + ["ingest", str(tmp_path / "missing"), "--once"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "找不到录音文件夹" in out.stderr


def test_new_calls_are_scored_with_the_form_an_admin_activated(tmp_path, db_url):
    from models import ScoringForm
    from qa.scoring import DEFAULT_FORM_PATH
    inbox = tmp_path / "in"
    settings = _settings(tmp_path, db_url, analyzer=None)  # the real rules
    _transcript(inbox / "before.json")
    run_ingest(inbox, settings=settings, once=True)
    shipped = DEFAULT_FORM_PATH.read_text(encoding="utf-8")
    # every deduction doubled in version 2 of the form
    strict = re.sub(r"(?m)^(  [A-Z]{2}\d{2}: )(\d+)",
                    lambda m: f"{m.group(1)}{2 * int(m.group(2))}", shipped)
    strict = strict.replace("version: 1", "version: 2")
    assert strict != shipped
    with session_scope(db_url) as s:
        s.add(ScoringForm(name="严格评分表", version=2, yaml_text=strict, sha256="x" * 64,
                          active=True))
    _transcript(inbox / "after.json", agent_id="A2")
    run_ingest(inbox, settings=settings, once=True)
    with session_scope(db_url) as s:
        calls = {c.filename: c for c in s.scalars(select(Call))}
        before, after = calls["before.json"], calls["after.json"]
        assert before.report["form"]["version"] == 1
        assert after.report["form"]["version"] == 2
        score = s.scalar(select(Score).where(Score.call_id == after.id, Score.current))
        assert score.form_version == "2"
        # the same transcript loses twice the points under the stricter form
        assert 100 - after.score == pytest.approx(2 * (100 - before.score))
        assert after.score < before.score


def test_a_file_name_read_as_year_one_is_quarantined_and_ingestion_goes_on(tmp_path, db_url):
    from qa.recordings import parse_started_at, started_at_error
    tz = "Asia/Shanghai"
    assert parse_started_at("0001-01-01T00:00:00", tz) is None  # was OverflowError
    assert "录音时间超出范围" in started_at_error("0001-01-01T00:00:00", tz)
    assert started_at_error("2026-11-02T09:15:00", tz) is None and started_at_error("x", tz) is None
    inbox = tmp_path / "in"
    inbox.mkdir()
    bad = inbox / "00010101_000000_A1001_13800000000.wav"
    shutil.copy(DATA / "calls" / "pub-002.mono.wav", bad)
    _transcript(inbox / "good.json")
    settings = _settings(tmp_path, db_url)
    summary = run_ingest(inbox, settings=settings, once=True)
    assert summary == {"processed": 1, "duplicates": 0, "quarantined": 1, "failed": 0}
    (reason,) = settings.effective_quarantine_dir.glob(f"*{bad.name}.reason.txt")
    lines = reason.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "bad_started_at" and "录音时间超出范围" in lines[1] and "0001-01-01" in lines[1]
    with session_scope(db_url) as s:
        row = s.scalar(select(SourceFile).where(SourceFile.path == str(bad)))
        assert row.outcome == "quarantined" and "out of range" in row.reason
        assert [c.filename for c in s.scalars(select(Call))] == ["good.json"]
    # a restart does not die on it either, and does not count it twice
    assert run_ingest(inbox, settings=settings, once=True) == {
        "processed": 0, "duplicates": 0, "quarantined": 0, "failed": 0}


def test_a_file_that_breaks_ingestion_is_quarantined_and_the_rest_goes_on(tmp_path, monkeypatch):
    db_url = f"sqlite:///{tmp_path / 'qa.db'}"
    inbox = tmp_path / "in"
    _transcript(inbox / "a-poison.json")
    _transcript(inbox / "b-good.json", agent_id="A2")
    real = Ingestor.metadata_for

    def metadata_for(self, path):
        if path.name == "a-poison.json":
            raise RuntimeError("unexpected")
        return real(self, path)
    monkeypatch.setattr(Ingestor, "metadata_for", metadata_for)
    settings = _settings(tmp_path, db_url)
    summary = run_ingest(inbox, settings=settings, once=True)
    assert summary == {"processed": 1, "duplicates": 0, "quarantined": 1, "failed": 0}
    (reason,) = settings.effective_quarantine_dir.glob("*a-poison.json.reason.txt")
    lines = reason.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "ingest_error" and "收取时出错" in lines[1] and "RuntimeError" in lines[1]


def test_health_reports_a_stopped_or_failing_ingestion(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from api.app import create_app
    db_url = f"sqlite:///{tmp_path / 'qa.db'}"
    inbox = tmp_path / "in"
    inbox.mkdir()
    settings = _settings(tmp_path, db_url, secret_key="k" * 32)
    status_file = settings.home / "ingest-status.json"
    app = create_app(settings, web=False)
    with TestClient(app) as c:
        assert c.get("/api/v1/health").json() == {"status": "ok"}  # no ingestion here
        stop = threading.Event()
        t = threading.Thread(target=run_ingest, args=(inbox,),
                             kwargs={"settings": settings, "stop": stop, "poll_s": 0.1})
        t.start()
        try:
            wait_for(status_file.exists, timeout=30, what="the ingestion to report its state")
            r = c.get("/api/v1/health")
            assert r.status_code == 200 and r.json()["ingestion"]["state"] == "running"
            # every pass fails (e.g. the database): still running, but health says so
            monkeypatch.setattr(Ingestor, "scan",
                                lambda self, paths=None: (_ for _ in ()).throw(RuntimeError("db")))
            r = wait_for(lambda: (r := c.get("/api/v1/health")).status_code == 503 and r,
                         timeout=30, what="health to report the failing passes")
            assert r.status_code == 503 and r.json()["status"] == "degraded"
            assert "正在重试" in r.json()["ingestion"]["message"]
            assert t.is_alive()  # the loop did not die
        finally:
            stop.set()
            t.join(60)
        r = c.get("/api/v1/health")
        assert r.status_code == 503 and r.json()["ingestion"]["state"] == "stopped"
        assert "录音收取已停止" in r.json()["ingestion"]["message"]
        # a process that died without a word: its report goes stale
        doc = json.loads(status_file.read_text(encoding="utf-8"))
        doc.update(state="running", updated_at="2026-01-01T00:00:00+00:00")
        status_file.write_text(json.dumps(doc), encoding="utf-8")
        r = c.get("/api/v1/health")
        assert r.status_code == 503 and r.json()["ingestion"]["state"] == "stale"
    app.state.engine.dispose()


def test_a_pass_reads_only_rows_it_has_not_read_of_its_own_folder(tmp_path):
    """The watch loop (twice a second in `run`) reads the source_files rows of the folder's
    new files only: not the whole table (other folders' history), not rows read before."""
    from sqlalchemy import event

    from models import upgrade
    db_url = f"sqlite:///{tmp_path / 'qa.db'}"
    settings = _settings(tmp_path, db_url, stable_s=0.0, sidecar_wait_s=0.0)
    upgrade(db_url)
    engine = make_engine(db_url)
    with session_scope(engine) as s:  # the history of another folder
        s.add_all(SourceFile(path=f"/old/{i}.mp3", size_bytes=1, mtime_ns=1, outcome="new")
                  for i in range(1500))
    inbox = tmp_path / "in"
    _transcript(inbox / "a.json")
    _transcript(inbox / "b.json", agent_id="A9")
    ing = Ingestor(inbox, engine, settings)
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cur, sql, params, *a: seen.append(sql)
                 if "source_files" in sql and sql.lstrip().upper().startswith("SELECT") else None)
    assert ing.scan().new == []  # seen once: ingested when seen unchanged again
    assert len(ing.scan().new) == 2
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Call)) == 2
    assert seen and all("WHERE source_files.path" in q for q in seen)  # never the whole table
    ing.scan()  # reads back the two rows just written
    seen.clear()
    for _ in range(3):
        assert ing.scan().new == []
    assert seen == []  # nothing new: no query of source_files at all
    _transcript(inbox / "c.json", agent_id="A10")
    ing.scan()
    assert len(ing.scan().new) == 1
    assert seen and all("WHERE source_files.path" in q for q in seen)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Call)) == 3
