"""indexes for the call list at scale (web UI, bench/web.py)

Newest-first paging and score filters use ``calls.started_at`` / ``calls.score``; the
review-state filter checks "a fail pending review" per call from
``findings(call_id, status, review_state)`` without reading the rows.

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
        batch_op.create_index('ix_calls_started_at', ['started_at'], unique=False)
        batch_op.create_index('ix_calls_score', ['score'], unique=False)
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index('ix_findings_call_status_review',
                              ['call_id', 'status', 'review_state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index('ix_findings_call_status_review')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_score')
        batch_op.drop_index('ix_calls_started_at')
