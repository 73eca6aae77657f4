"""Web UI fixtures: a SQLite database populated through the ORM from ``tests/data/truth``
(reports from :func:`qa.engine.analyze` with the truth labels as the oracle classification),
one call with its real recording (``tests/data/calls/pub-003.stereo.wav``), users of each role,
and the app served by uvicorn on a free port (for the browser tests)."""
from __future__ import annotations

import hashlib
import json
import socket
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
REPO = Path(__file__).resolve().parents[2]
PASSWORD = "ui-test-pass-1"
AGENTS = [("A1001", "张伟", "一班"), ("A1002", "王芳", "一班"), ("A1003", "李娜", "二班"),
          ("A1004", "刘洋", "二班"), ("A1005", "陈静", "二班")]
USERS = [("sup", "supervisor", None), ("a1", "agent", "A1001"), ("a5", "agent", "A1005")]
AUDIO = {"pub-003": DATA / "calls" / "pub-003.stereo.wav"}


def seed(url: str) -> None:
    """Migrate ``url`` and load the 40 truth calls, agents and users."""
    from api.security import hash_password
    from classifiers.records import Classification
    from models import Agent, Call, Finding, Score, User, Utterance, session_scope, upgrade
    from qa.engine import analyze
    from qa.records import Transcript

    upgrade(url)
    now = datetime.now(timezone.utc)
    pw = hash_password(PASSWORD)
    with session_scope(url) as db:
        for aid, name, team in AGENTS:
            db.add(Agent(id=aid, name=name, team=team))
        db.flush()
        for username, role, agent in USERS:
            db.add(User(username=username, password_hash=pw, role=role, agent_id=agent,
                        display_name={"sup": "质检主管"}.get(username)))
        for path in sorted((DATA / "truth").glob("*.truth.json")):
            truth = json.loads(path.read_text(encoding="utf-8"))
            labels, meta, cid = truth["labels"], truth["metadata"], truth["call_id"]
            doc = {k: truth[k] for k in ("call_id", "duration", "metadata", "utterances")}
            oracle = Classification(labels["call_type"], 1.0, labels.get("complaint_type"),
                                    1.0 if labels.get("complaint_type") else None,
                                    cues=["测试：标注的类型"])
            rep = analyze(Transcript.from_dict(doc), classification=oracle).to_dict()
            src = AUDIO.get(cid, path)
            call = Call(id=cid, content_sha256=hashlib.sha256(cid.encode()).hexdigest(),
                        source_path=str(src), filename=src.name, store_path=str(src),
                        media_type="audio" if cid in AUDIO else "transcript", meta=meta,
                        agent_id=meta["agent_id"], caller_number=meta.get("caller_number"),
                        started_at=datetime.fromisoformat(meta["started_at"]),
                        duration=truth.get("duration"), status="done", score=rep["score"],
                        red_line=rep["red_line"], call_type=rep["call_type"],
                        complaint_type=rep["complaint_type"],
                        needs_review=bool(rep.get("needs_review")), report=rep,
                        result_available_at=now - timedelta(days=1), processed_at=now)
            for i, u in enumerate(truth["utterances"]):
                call.utterances.append(Utterance(idx=i, speaker=u["speaker"], start=u["start"],
                                                 end=u["end"], text=u["text"],
                                                 level_dbfs=u.get("level_dbfs")))
            for r in rep["rules"]:
                call.findings.append(Finding(
                    code=r["code"], status=r["status"], confidence=r.get("confidence", 1.0),
                    deduction=r.get("deduction", 0), needs_review=bool(r.get("needs_review")),
                    red_line=r["code"] in {"PO03", "PO04", "PO05", "PO06"},
                    message=r.get("message"), evidence=r.get("evidence", [])))
            call.scores.append(Score(score=rep["score"], red_line=rep["red_line"],
                                     breakdown=rep.get("score_breakdown"), reason="machine"))
            db.add(call)
        failed = Call(id="c-failed-demo", content_sha256="f" * 64, source_path="/in/bad.mp3",
                      filename="bad.mp3", status="quarantined", agent_id="A1001",
                      error="文件不是音频 / not audio", meta={})
        db.add(failed)


@pytest.fixture(scope="session")
def ui_seed(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ui-seed") / "seed.db"
    seed(f"sqlite:///{path}")
    return path


@pytest.fixture()
def ui_settings(tmp_path, ui_seed, monkeypatch):
    from qa.settings import Settings, get_settings
    db = tmp_path / "ui.db"
    src, dst = sqlite3.connect(ui_seed), sqlite3.connect(db)
    src.backup(dst)
    src.close()
    dst.close()
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOTLINE_QA_HOME", str(home))
    get_settings.cache_clear()
    yield Settings(home=home, database_url=f"sqlite:///{db}", secret_key="u" * 32)
    get_settings.cache_clear()


@pytest.fixture()
def ui_app(ui_settings):
    from api.app import create_app
    app = create_app(ui_settings)
    yield app
    app.state.engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def live_server(ui_app):
    """The app served by uvicorn in a thread; yields its base URL."""
    import uvicorn
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(ui_app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def web_login(client, username: str, password: str = PASSWORD):
    r = client.post("/login", data={"username": username, "password": password},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return r
