"""transcript search: the utterance's call, position and speaker in PostgreSQL's index table

A search then counts and orders its hits from the index table and the calls alone (the
utterances are read only for the page shown). The index is emptied and marked version 0: the
first ``hotline-qa run``/``serve``/``worker`` (or ``hotline-qa search reindex``) rebuilds it.
SQLite's FTS index is unchanged (its rowid joins the utterances directly).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 18:20:00
"""
from __future__ import annotations

from alembic import op
from sqlalchemy import text

from models import search_index

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        return
    search_index.add_hit_columns(conn)
    conn.execute(text(f"TRUNCATE {search_index.PG_TABLE}"))
    search_index.set_version(conn, 0)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        return
    conn.execute(text(f"TRUNCATE {search_index.PG_TABLE}"))
    conn.execute(text(f"ALTER TABLE {search_index.PG_TABLE} DROP COLUMN IF EXISTS call_id, "
                      "DROP COLUMN IF EXISTS idx, DROP COLUMN IF EXISTS speaker"))
    search_index._pg_gin(conn)
    search_index.set_version(conn, 0)
