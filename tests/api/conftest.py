"""API test fixtures: a migrated SQLite database seeded once per session with the 40 truth
calls (:func:`seeding.seed_truth_calls`: the rule engine with the labels as the classification,
stored by the workers' code), copied fresh for every test; users of every role; logged-in
clients."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.seeding import DATA, seed_truth_calls

PASSWORD = "correct-horse-1"
USERS = [("admin", "admin", None), ("sup", "supervisor", None), ("a1", "agent", "A1001"),
         ("a2", "agent", "A1002"), ("a4", "agent", "A1004")]


def seed(url: str) -> None:
    seed_truth_calls(url, USERS, PASSWORD, audio={
        "pub-001": DATA / "calls" / "pub-001.stereo.mp3",
        "pub-002": DATA / "calls" / "pub-002.mono.wav"})


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("seed") / "seed.db"
    seed(f"sqlite:///{path}")
    return path


@pytest.fixture()
def app_settings(tmp_path, seeded_db, monkeypatch):
    from qa.settings import Settings, get_settings
    db = tmp_path / "qa.db"
    src, dst = sqlite3.connect(seeded_db), sqlite3.connect(db)
    src.backup(dst)  # WAL-safe copy of the seeded database
    src.close()
    dst.close()
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOTLINE_QA_HOME", str(home))
    get_settings.cache_clear()
    s = Settings(home=home, database_url=f"sqlite:///{db}", secret_key="k" * 32)
    yield s
    get_settings.cache_clear()


@pytest.fixture()
def app(app_settings):
    from api.app import create_app
    application = create_app(app_settings, web=False)  # API only
    yield application
    application.state.engine.dispose()


@pytest.fixture()
def anon(app):
    with TestClient(app) as c:
        yield c


def login(app, username: str, password: str = PASSWORD) -> TestClient:
    c = TestClient(app)
    r = c.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


def _open(app, username: str, kind: str):
    from api.deps import TOKEN_MAX_AGE_S
    from api.security import open_session, password_stamp
    from models import User
    with app.state.sessions() as db:
        u = db.query(User).filter_by(username=username).one()
        max_age = TOKEN_MAX_AGE_S if kind == "token" else app.state.settings.session_max_age_s
        sid = open_session(db, u, kind, max_age, None)
        db.commit()
        make = app.state.signer.make_token if kind == "token" else app.state.signer.make_session
        return make(u.id, password_stamp(u.password_hash), sid)


def bearer_token(app, username: str) -> str:
    """A fresh API token for ``username``, opened on the server directly (no login, so neither
    the login throttle nor an earlier ``POST /auth/logout?all=true`` stands in the way)."""
    return _open(app, username, "token")


def session_cookie(app, username: str) -> tuple[str, str]:
    """A fresh browser session for ``username`` (as :func:`bearer_token`): the session
    cookie's value and its CSRF token."""
    return _open(app, username, "session")


@pytest.fixture()
def admin(app):
    return login(app, "admin")


@pytest.fixture()
def sup(app):
    return login(app, "sup")


@pytest.fixture()
def agent1(app):
    return login(app, "a1")


@pytest.fixture()
def agent2(app):
    return login(app, "a2")


@pytest.fixture()
def agent4(app):
    return login(app, "a4")


@pytest.fixture()
def db(app):
    s = app.state.sessions()
    yield s
    s.close()
