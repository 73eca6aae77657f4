"""Web UI fixtures: a SQLite database populated from ``tests/data/truth``
(:func:`seeding.seed_truth_calls`: :func:`qa.engine.analyze` with the truth labels as the oracle
classification, stored by the workers' code),
one call with its real recording (``tests/data/calls/pub-003.stereo.wav``), users of each role,
and the app served by uvicorn on a free port (for the browser tests)."""
from __future__ import annotations

import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from tests.seeding import DATA, seed_truth_calls

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "ui-test-pass-1"
USERS = [("sup", "supervisor", None), ("a1", "agent", "A1001"), ("a5", "agent", "A1005")]
AUDIO = {"pub-003": DATA / "calls" / "pub-003.stereo.wav"}


def seed(url: str) -> None:
    """Migrate ``url`` and load the 40 truth calls, agents, users and one quarantined call."""
    from models import Call, session_scope
    seed_truth_calls(url, USERS, PASSWORD, audio=AUDIO, display_names={"sup": "质检主管"})
    with session_scope(url) as db:
        db.add(Call(id="c-failed-demo", content_sha256="f" * 64, source_path="/in/bad.mp3",
                    filename="bad.mp3", status="quarantined", agent_id="A1001",
                    error="文件不是音频 / not audio", meta={}))


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
