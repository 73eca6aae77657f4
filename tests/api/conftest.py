"""API test fixtures: a migrated SQLite database seeded once per session with the 40 truth
calls (reports from the rule engine with an oracle classification when it is available, else
from the truth labels), copied fresh for every test; users of every role; logged-in clients."""
from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

DATA = Path(__file__).resolve().parents[1] / "data"
RED = {"PO03", "PO04", "PO05", "PO06"}
PASSWORD = "correct-horse-1"
USERS = [("admin", "admin", None), ("sup", "supervisor", None), ("a1", "agent", "A1001"),
         ("a2", "agent", "A1002"), ("a4", "agent", "A1004")]
AGENTS = [("A1001", "张伟", "一班"), ("A1002", "王芳", "一班"), ("A1003", "李娜", "二班"),
          ("A1004", "刘洋", "二班"), ("A1005", "陈静", "二班")]


def _report(truth: dict) -> dict:
    """The call's report: the rule engine with an oracle classification if present, else the
    truth labels as findings (deduction 5, red lines 20)."""
    doc = {k: truth[k] for k in ("call_id", "duration", "metadata", "utterances") if k in truth}
    labels = truth["labels"]
    try:
        from classifiers.records import Classification
        from qa.engine import analyze
        from qa.records import Transcript
        cls = Classification(labels["call_type"], 1.0, labels.get("complaint_type"),
                             1.0 if labels.get("complaint_type") else None)
        return analyze(Transcript.from_dict(doc), classification=cls).to_dict()
    except ImportError:
        pass
    rules = []
    for code, st in labels["rules"].items():
        ded = (20 if code in RED else 5) if st == "fail" else 0
        rules.append({"code": code, "status": st, "confidence": 0.9, "deduction": ded,
                      "evidence": [], **({"message": f"{code} 不合格"} if st == "fail" else {})})
    score = max(0.0, 100 - sum(r["deduction"] for r in rules))
    return {"call_id": truth["call_id"], "score": score,
            "red_line": any(r["status"] == "fail" and r["code"] in RED for r in rules),
            "call_type": labels["call_type"], "complaint_type": labels.get("complaint_type"),
            "complaint_confidence": None, "rules": rules, "transcript": doc}


def seed(url: str) -> None:
    from api.security import hash_password
    from models import Agent, Call, Finding, User, Utterance, session_scope, upgrade
    from qa.reports import extract_estate, extract_scenario

    upgrade(url)
    now = datetime.now(timezone.utc)
    pw = hash_password(PASSWORD)
    audio = {"pub-001": DATA / "calls" / "pub-001.stereo.mp3",
             "pub-002": DATA / "calls" / "pub-002.mono.wav"}
    with session_scope(url) as db:
        for aid, name, team in AGENTS:
            db.add(Agent(id=aid, name=name, team=team))
        db.flush()
        for username, role, agent in USERS:
            db.add(User(username=username, password_hash=pw, role=role, agent_id=agent))
        for path in sorted((DATA / "truth").glob("*.truth.json")):
            truth = json.loads(path.read_text(encoding="utf-8"))
            rep = _report(truth)
            meta = truth["metadata"]
            cid = truth["call_id"]
            started = datetime.fromisoformat(meta["started_at"]).astimezone(timezone.utc)
            src = audio.get(cid)
            call = Call(id=cid, content_sha256=hashlib.sha256(cid.encode()).hexdigest(),
                        source_path=str(src or path), filename=(src or path).name,
                        store_path=str(src or path), media_type="audio" if src else "transcript",
                        meta=meta, agent_id=meta["agent_id"], caller_number=meta.get(
                            "caller_number"), started_at=started, duration=truth.get("duration"),
                        status="done", score=rep["score"], red_line=rep["red_line"],
                        call_type=rep.get("call_type"), complaint_type=rep.get("complaint_type"),
                        needs_review=any(r.get("needs_review") for r in rep["rules"]),
                        scenario=extract_scenario(rep["transcript"]),
                        estate=extract_estate(rep["transcript"]),
                        follow_up_status="open" if rep.get("call_type") == "complaint" else None,
                        result_available_at=now - timedelta(days=1), report=rep,
                        processed_at=now)
            for i, u in enumerate(truth["utterances"]):
                call.utterances.append(Utterance(idx=i, speaker=u["speaker"], start=u["start"],
                                                 end=u["end"], text=u["text"],
                                                 level_dbfs=u.get("level_dbfs")))
            for r in rep["rules"]:
                call.findings.append(Finding(
                    code=r["code"], status=r["status"], confidence=r.get("confidence", 1.0),
                    deduction=r.get("deduction", 0), needs_review=bool(r.get("needs_review")),
                    red_line=r["code"] in RED, message=r.get("message"),
                    evidence=r.get("evidence", [])))
            db.add(call)


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
