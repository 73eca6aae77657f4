"""Migration 0005 (``auth_sessions``) on a database with users: they are kept, sessions go with
their user, the kind is checked, and downgrade works."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

import models
from models import AuthSession, User, session_scope


def _count(url: str, sql: str):
    eng = create_engine(url)
    try:
        with eng.connect() as c:
            return c.execute(text(sql)).scalar()
    finally:
        eng.dispose()


def test_upgrade_keeps_users_and_sessions_go_with_their_user(db_url):
    from alembic import command
    command.downgrade(models.db.alembic_config(db_url), "0004")  # the fixture is at head
    assert "auth_sessions" not in models.db.table_names(db_url)
    eng = create_engine(db_url)
    with eng.begin() as c:
        c.execute(text("INSERT INTO users (username, password_hash, role, active, created_at, "
                       "password_one_time) VALUES ('sup', 'x', 'supervisor', true, "
                       "CURRENT_TIMESTAMP, false)"))
    eng.dispose()
    models.upgrade(db_url)
    assert models.current_revision(db_url) == models.head_revision()
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    with session_scope(db_url) as s:
        uid = s.query(User).filter_by(username="sup").one().id
        s.add_all([AuthSession(id="a" * 64, user_id=uid, kind="session", expires_at=later),
                   AuthSession(id="b" * 64, user_id=uid, kind="token", expires_at=later)])
    with pytest.raises(IntegrityError), session_scope(db_url) as s:
        s.add(AuthSession(id="c" * 64, user_id=uid, kind="cookie", expires_at=later))
    with session_scope(db_url) as s:
        s.delete(s.get(User, uid))
    assert _count(db_url, "SELECT count(*) FROM auth_sessions") == 0  # cascaded
    command.downgrade(models.db.alembic_config(db_url), "0004")
    assert "auth_sessions" not in models.db.table_names(db_url)
    assert _count(db_url, "SELECT count(*) FROM users") == 0
