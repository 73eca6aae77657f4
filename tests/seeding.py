"""Test databases seeded with the 40 scripted calls, written the way the product writes them.

Each truth transcript is analysed by :func:`qa.engine.analyze` with the truth labels as the
classification (an oracle, so that API/UI tests do not depend on the classifier's guesses) and
stored by :func:`qa.worker.store_report` — the workers' own code — so the rows (utterances,
findings, classification, score, the agent's month) are what a real run leaves. Results are
dated a day back (``result_available_at``) so that appeal windows are open.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
AGENTS = [("A1001", "张伟", "一班"), ("A1002", "王芳", "一班"), ("A1003", "李娜", "二班"),
          ("A1004", "刘洋", "二班"), ("A1005", "陈静", "二班")]


def seed_truth_calls(url: str, users: list[tuple[str, str, str | None]], password: str, *,
                     audio: dict[str, Path] | None = None,
                     display_names: dict[str, str] | None = None) -> None:
    """Migrate ``url``; add the agents, ``users`` ``(username, role, agent id)`` with
    ``password``, and the 40 truth calls (those in ``audio`` with their recording)."""
    from api.security import hash_password
    from classifiers.records import Classification
    from models import Agent, Call, User, session_scope, upgrade
    from qa.engine import analyze
    from qa.records import Transcript
    from qa.results import store_report

    upgrade(url)
    audio = audio or {}
    pw = hash_password(password)
    with session_scope(url) as db:
        for aid, name, team in AGENTS:
            db.add(Agent(id=aid, name=name, team=team))
        db.flush()
        for username, role, agent in users:
            db.add(User(username=username, password_hash=pw, role=role, agent_id=agent,
                        display_name=(display_names or {}).get(username)))
        for path in sorted((DATA / "truth").glob("*.truth.json")):
            truth = json.loads(path.read_text(encoding="utf-8"))
            labels, cid = truth["labels"], truth["call_id"]
            doc = {k: truth[k] for k in ("call_id", "duration", "metadata", "utterances")
                   if k in truth}
            oracle = Classification(labels["call_type"], 1.0, labels.get("complaint_type"),
                                    1.0 if labels.get("complaint_type") else None,
                                    cues=["测试：标注的类型"])
            report = analyze(Transcript.from_dict(doc), classification=oracle)
            src = audio.get(cid, path)
            call = Call(id=cid, content_sha256=hashlib.sha256(cid.encode()).hexdigest(),
                        source_path=str(src), filename=src.name, store_path=str(src),
                        media_type="audio" if cid in audio else "transcript",
                        meta=truth["metadata"], status="processing")
            db.add(call)
            db.flush()
            store_report(db, call, report, {})
            call.result_available_at = datetime.now(timezone.utc) - timedelta(days=1)


def add_reason_calls(db, docs, times, *, greeting: bool = False) -> None:
    """Add analysed calls whose caller states ``docs[i].text`` (``qa.topics.ReasonDoc``),
    started at ``times[i]``, optionally after the agent's greeting (not committed)."""
    from models import Call, Utterance
    for d, when in zip(docs, times):
        c = Call(id=d.call_id, content_sha256=(d.call_id * 64)[:64], filename=d.call_id,
                 source_path="/x", status="done", estate=d.estate, started_at=when)
        said = [("agent", "您好，物业服务中心，请问有什么可以帮您？")] if greeting else []
        said.append(("customer", d.text))
        c.utterances = [Utterance(idx=i, speaker=spk, start=1.0 + 5 * i, end=4.5 + 5 * i,
                                  text=t) for i, (spk, t) in enumerate(said)]
        db.add(c)


def add_user(app, username: str, role: str, password: str, *,
             display_name: str | None = None) -> None:
    """One more user in ``app``'s database (``app.state.sessions``), password hashed as the
    product hashes it."""
    from api.security import hash_password
    from models import User
    with app.state.sessions() as db:
        db.add(User(username=username, password_hash=hash_password(password), role=role,
                    display_name=display_name))
        db.commit()
