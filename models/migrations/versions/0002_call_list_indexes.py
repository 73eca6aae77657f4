"""indexes for the call list at scale (web UI, bench/web.py)

Newest-first paging reads ``calls(started_at, id)`` only (the page's rows are loaded by id
afterwards), score filters use ``calls.score``, and the review-state filter finds the calls
with a fail in that state from ``findings(status, review_state, call_id)`` alone.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 05:00:00
"""
from __future__ import annotations

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index('ix_calls_started_at', ['started_at', 'id'], unique=False)
        batch_op.create_index('ix_calls_score', ['score'], unique=False)
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index('ix_findings_status_review_call',
                              ['status', 'review_state', 'call_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index('ix_findings_status_review_call')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_score')
        batch_op.drop_index('ix_calls_started_at')
