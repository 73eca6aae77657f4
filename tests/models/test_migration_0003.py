"""Migration 0003 on a database with data: nothing is lost (no table copy that would cascade
deletes), ``calls.review_pending`` is backfilled from the findings, and downgrade works."""
from __future__ import annotations

from sqlalchemy import create_engine, text

import models


def _count(url: str, sql: str):
    eng = create_engine(url)
    try:
        with eng.connect() as c:
            return c.execute(text(sql)).scalar()
    finally:
        eng.dispose()


def test_upgrade_keeps_data_and_backfills_review_pending(db_url):
    from alembic import command
    command.downgrade(models.db.alembic_config(db_url), "0002")  # the fixture is at head
    assert models.current_revision(db_url) == "0002"
    eng = create_engine(db_url)
    with eng.begin() as c:
        c.execute(text("INSERT INTO agents (id, name, active, created_at) "
                       "VALUES ('A1', 'a', true, CURRENT_TIMESTAMP)"))
        for cid, review in (("c1", "pending"), ("c2", "upheld"), ("c3", None)):
            c.execute(text(
                "INSERT INTO calls (id, content_sha256, source_path, filename, size_bytes, "
                "media_type, metadata, agent_id, status, needs_review, created_at, updated_at) "
                "VALUES (:id, :sha, '/x', 'x.json', 0, 'transcript', '{}', 'A1', 'done', false, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"id": cid, "sha": cid * 20})
            c.execute(text("INSERT INTO utterances (call_id, idx, speaker, start, \"end\", text) "
                           "VALUES (:id, 0, 'agent', 0, 1, '您好')"), {"id": cid})
            c.execute(text(
                "INSERT INTO findings (call_id, code, status, confidence, deduction, "
                "needs_review, red_line, evidence, review_state) VALUES (:id, 'PO01', :st, 0.9, "
                "0, false, false, '[]', :rs)"),
                {"id": cid, "st": "pass" if review is None else "fail",
                 "rs": review or "pending"})
    eng.dispose()
    models.upgrade(db_url)
    assert models.current_revision(db_url) == models.head_revision()
    assert _count(db_url, "SELECT count(*) FROM findings") == 3
    assert _count(db_url, "SELECT count(*) FROM utterances") == 3
    pending = _count(db_url, "SELECT string_agg(id, ',') FROM calls WHERE review_pending"
                     if db_url.startswith("postgresql") else
                     "SELECT group_concat(id) FROM calls WHERE review_pending")
    assert pending == "c1"
    # and back to 0002: the rows stay
    command.downgrade(models.db.alembic_config(db_url), "0002")
    assert _count(db_url, "SELECT count(*) FROM findings") == 3
    assert _count(db_url, "SELECT count(*) FROM utterances") == 3
