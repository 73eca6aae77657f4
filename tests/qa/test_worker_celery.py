"""Scale-out for real: Celery workers (2 processes) over the Redis broker, PostgreSQL."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from models import Call, Job, session_scope
from qa.ingest import run_ingest
from qa.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data"
HELPERS = str(Path(__file__).resolve().parent)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def _redis_up() -> bool:
    try:
        import redis
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2).ping())
    except Exception:  # noqa: BLE001
        return False


def test_jobs_run_on_two_celery_worker_processes(tmp_path, pg_url):
    if not _redis_up():
        pytest.skip("Redis at 127.0.0.1:6379 not reachable")
    queue = f"hqa-test-{uuid.uuid4().hex[:8]}"
    home = tmp_path / "home"
    inbox = tmp_path / "in"
    inbox.mkdir()
    doc = json.loads((DATA / "truth" / "pub-011.truth.json").read_text(encoding="utf-8"))
    doc.pop("labels", None)
    for i in range(6):
        doc["metadata"] = {**doc.get("metadata", {}), "sleep": 0.6, "n": i}
        (inbox / f"call {i}.json").write_text(json.dumps(doc, ensure_ascii=False))
    (inbox / "bad.mp3").write_bytes(os.urandom(2000))
    env = {**os.environ, "HOTLINE_QA_HOME": str(home),
           "HOTLINE_QA_ANALYZER": "ingest_helpers:fake_analyzer",
           "PYTHONPATH": os.pathsep.join([HELPERS, os.environ.get("PYTHONPATH", "")])}
    worker = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "worker", "--celery", "-n", "2", "--db", pg_url,
         "--queue", queue], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        settings = Settings(home=home, database_url=pg_url, executor="celery",
                            celery_queue=queue, stable_s=0.2, sidecar_wait_s=0.2,
                            analyzer="ingest_helpers:fake_analyzer")
        summary = run_ingest(inbox, settings=settings, once=True)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            out = worker.communicate(timeout=30)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            out = worker.communicate()[0].decode(errors="replace")
    assert summary == {"processed": 6, "duplicates": 0, "quarantined": 1, "failed": 0}, out
    with session_scope(pg_url) as s:
        jobs = s.scalars(select(Job)).all()
        assert {j.state for j in jobs} == {"done", "quarantined"}
        workers = {a.worker for j in jobs for a in j.attempt_log}
        pids = {w.split(":")[1] for w in workers}
        assert str(os.getpid()) not in pids          # processed by the Celery workers
        assert len(pids) == 2, workers                # both worker processes took jobs
        assert all(c.score == 80.0 for c in s.scalars(select(Call).where(Call.status == "done")))
