"""monitors: their own alert threshold (calls a day that mention them)

``alert_calls`` NULL: the setting ``alert_monitor_calls`` applies; 0: the monitor raises no
alert.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 16:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("alert_calls", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("monitors") as batch:
        batch.drop_column("alert_calls")
