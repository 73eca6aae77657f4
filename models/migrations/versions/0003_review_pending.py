"""calls.review_pending (denormalised) and a covering rule-failed index for the call list

The "review pending" filter matched about half the calls at 100 000 calls and the page spent
most of its time counting them through the findings; ``calls.review_pending`` (kept in step
with the findings on every ORM flush, see ``models.tables._sync_review_pending``) with the
index ``calls(review_pending, started_at, id)`` gives the page and its exact count from one
index range. The rule-failed filter reads ``findings(code, status, review_state, call_id)``
alone (replaces ``findings(code, status)``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ALTERs, no batch mode: a batch "move and copy" of ``calls`` on SQLite would drop
    # the table and, with foreign keys on, cascade-delete every finding and utterance
    op.add_column('calls', sa.Column('review_pending', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.execute("UPDATE calls SET review_pending = EXISTS (SELECT 1 FROM findings f "
               "WHERE f.call_id = calls.id AND f.status = 'fail' "
               "AND f.review_state = 'pending')")
    op.create_index('ix_calls_review_pending_started', 'calls',
                    ['review_pending', 'started_at', 'id'], unique=False)
    op.create_index('ix_findings_code_status_review_call', 'findings',
                    ['code', 'status', 'review_state', 'call_id'], unique=False)
    op.drop_index('ix_findings_code_status', table_name='findings')


def downgrade() -> None:
    op.create_index('ix_findings_code_status', 'findings', ['code', 'status'], unique=False)
    op.drop_index('ix_findings_code_status_review_call', table_name='findings')
    op.drop_index('ix_calls_review_pending_started', table_name='calls')
    op.drop_column('calls', 'review_pending')  # SQLite >= 3.35 drops in place
