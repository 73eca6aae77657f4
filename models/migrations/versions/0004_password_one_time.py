"""users.password_one_time: a password set by someone else must be changed at first sign-in

The first admin's printed password, a generated password and one an admin sets for another
user are one-time: until the user chooses their own, every API route and page except
changing the password, "who am I" and signing out is refused. Existing users keep working
(``false``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 08:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ALTER (no batch copy of the table on SQLite)
    op.add_column('users', sa.Column('password_one_time', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('password_one_time')
