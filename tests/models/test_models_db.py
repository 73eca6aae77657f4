"""Storage: migrations, constraints and session handling on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

import models
from models import (Agent, Appeal, Call, Classification, Finding, Job, JobAttempt,
                    MonthlyAssessment, Review, Score, User, Utterance, session_scope)
from models.base import Base
from models.cli import db_cmd
from models import search_index
from models.db import make_engine, table_names

EXPECTED_TABLES = {"agents", "users", "login_attempts", "auth_sessions", "calls", "utterances", "findings",
                   "classifications", "scores", "source_files", "jobs", "job_attempts",
                   "reviews", "appeals", "monthly_assessments", "scoring_forms", "audit_log",
                   "monitors", "topic_names", "search_state", "alert_channels", "alert_events",
                   "alert_deliveries", "alert_seen", "app_settings", "cases", "case_calls",
                   "case_promises", "holidays", "acknowledgements"}


def _call(cid: str = "c-1", sha: str = "a" * 64, **kw) -> Call:
    return Call(id=cid, content_sha256=sha, source_path=f"/in/{cid}.mp3", filename=f"{cid}.mp3",
                **kw)


def test_upgrade_creates_every_table_and_matches_the_orm(db_url):
    assert EXPECTED_TABLES <= set(table_names(db_url))
    assert models.current_revision(db_url) == models.head_revision()
    engine = make_engine(db_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "compare_type": True, "include_name": search_index.include_name})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diff == []
    models.upgrade(db_url)  # idempotent


def test_call_with_transcript_findings_and_review_round_trip(db_url):
    started = datetime(2026, 11, 2, 1, 15, tzinfo=timezone.utc)
    with session_scope(db_url) as s:
        s.add(Agent(id="A1001", name="王芳", team="一组"))
        s.add(User(username="sup", password_hash="x", role="supervisor"))
        call = _call(agent_id="A1001", started_at=started, meta={"caller_number": "139"},
                     score=86.0, red_line=False, report={"score": 86.0, "rules": []})
        call.utterances = [Utterance(idx=0, speaker="agent", start=0.5, end=3.9,
                                     text="您好，阳光物业服务中心", words=[{"start": 0.5}])]
        call.findings = [Finding(code="PO01", status="fail", confidence=0.88, deduction=5,
                                 evidence=[{"speaker": "agent", "start": 25.9, "end": 28.1,
                                            "text": "等一下"}])]
        call.classifications = [Classification(call_type="complaint", complaint_type="vent")]
        call.scores = [Score(score=86.0, form_name="default", form_version="1")]
        call.job = Job()
        s.add(call)
    with session_scope(db_url) as s:
        call = s.get(Call, "c-1")
        assert call.started_at == started and call.started_at.tzinfo is not None
        assert call.meta == {"caller_number": "139"}
        assert call.utterances[0].text == "您好，阳光物业服务中心"
        f = call.findings[0]
        assert (f.status, f.review_state, f.evidence[0]["text"]) == ("fail", "pending", "等一下")
        assert call.job.state == "queued" and call.job.attempts == 0
        sup = s.scalar(select(User).where(User.username == "sup"))
        s.add(Review(call_id="c-1", finding_id=f.id, reviewer_id=sup.id, decision="upheld"))
        s.add(Appeal(finding_id=f.id, call_id="c-1", agent_id="A1001", reason="客户没听清"))
        s.add(MonthlyAssessment(agent_id="A1001", month="2026-11", figures={"avg": 86.0}))
    with session_scope(db_url) as s:
        s.delete(s.get(Call, "c-1"))
    with session_scope(db_url) as s:
        for table in (Utterance, Finding, Classification, Score, Job, Review, Appeal):
            assert s.scalars(select(table)).all() == [], table.__tablename__
        assert s.get(Agent, "A1001") is not None


@pytest.mark.parametrize("bad", ["dup_sha", "bad_role", "bad_fk", "bad_status", "dup_month"])
def test_constraints_are_enforced(db_url, bad):
    with session_scope(db_url) as s:
        s.add(Agent(id="A1", name="a"))
        s.add(_call())
    with pytest.raises(IntegrityError):
        with session_scope(db_url) as s:
            if bad == "dup_sha":
                s.add(_call("c-2"))
            elif bad == "bad_role":
                s.add(User(username="u", password_hash="x", role="root"))
            elif bad == "bad_fk":
                s.add(Utterance(call_id="nope", idx=0, speaker="agent", start=0, end=1))
            elif bad == "bad_status":
                s.add(_call("c-3", "b" * 64, status="half-done"))
            else:
                s.add(MonthlyAssessment(agent_id="A1", month="2026-11"))
                s.flush()
                s.add(MonthlyAssessment(agent_id="A1", month="2026-11"))
    with session_scope(db_url) as s:  # the failed transaction left nothing behind
        assert len(s.scalars(select(Call)).all()) == 1


def test_session_scope_rolls_back_on_error(db_url):
    with pytest.raises(RuntimeError):
        with session_scope(db_url) as s:
            s.add(_call())
            s.flush()
            raise RuntimeError("boom")
    with session_scope(db_url) as s:
        assert s.get(Call, "c-1") is None


def test_job_attempts_are_numbered_once(db_url):
    with session_scope(db_url) as s:
        call = _call()
        call.job = Job()
        s.add(call)
        s.flush()
        s.add(JobAttempt(job_id=call.job.id, number=1, worker="w1"))
    with pytest.raises(IntegrityError):
        with session_scope(db_url) as s:
            job = s.scalar(select(Job))
            s.add(JobAttempt(job_id=job.id, number=1, worker="w2"))


def test_naive_times_are_taken_as_utc(db_url):
    with session_scope(db_url) as s:
        s.add(_call(started_at=datetime(2026, 1, 1, 8, 0)))
    with session_scope(db_url) as s:
        got = s.get(Call, "c-1").started_at
        assert got == datetime(2026, 1, 1, 8, 0, tzinfo=timezone.utc)
        assert got - datetime(2026, 1, 1, tzinfo=timezone.utc) == timedelta(hours=8)


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 10_000
    engine.dispose()


def test_db_upgrade_command(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_QA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HOTLINE_QA_DATABASE_URL", raising=False)
    runner = CliRunner()
    res = runner.invoke(db_cmd, ["upgrade"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "home" / "hotline-qa.db").exists()
    assert "calls" in table_names(f"sqlite:///{tmp_path / 'home' / 'hotline-qa.db'}")
    res = runner.invoke(db_cmd, ["upgrade", "--db",
                                 "postgresql+psycopg://postgres@127.0.0.1:1/none"])
    assert res.exit_code == 1 and "无法升级数据库" in res.output
