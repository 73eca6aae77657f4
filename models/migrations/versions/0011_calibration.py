"""calibration and sampling (issue #16 part 3): recorded random samples for review (seed, drawn
call ids, who/when), calibration sessions (calls, named reviewers, their blind per-rule scores)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 01:30:52
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('review_samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('date_from', sa.Date(), nullable=False),
    sa.Column('date_to', sa.Date(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=True),
    sa.Column('agent_id', sa.String(length=64), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('population_sha256', sa.String(length=64), nullable=False),
    sa.Column('call_ids', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("purpose IN ('review', 'calibration')", name=op.f('ck_review_samples_purpose')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_review_samples_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_samples'))
    )
    with op.batch_alter_table('review_samples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_samples_created_at'), ['created_at'], unique=False)

    op.create_table('calibration_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=True),
    sa.Column('codes', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('open', 'closed')", name=op.f('ck_calibration_sessions_state')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_calibration_sessions_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sample_id'], ['review_samples.id'], name=op.f('fk_calibration_sessions_sample_id_review_samples'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calibration_sessions'))
    )
    with op.batch_alter_table('calibration_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calibration_sessions_created_at'), ['created_at'], unique=False)

    op.create_table('review_sample_calls',
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('checked_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_review_sample_calls_call_id_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['checked_by'], ['users.id'], name=op.f('fk_review_sample_calls_checked_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sample_id'], ['review_samples.id'], name=op.f('fk_review_sample_calls_sample_id_review_samples'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sample_id', 'call_id', name=op.f('pk_review_sample_calls'))
    )
    with op.batch_alter_table('review_sample_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_sample_calls_call_id'), ['call_id'], unique=False)

    op.create_table('calibration_calls',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_calibration_calls_call_id_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['calibration_sessions.id'], name=op.f('fk_calibration_calls_session_id_calibration_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'call_id', name=op.f('pk_calibration_calls'))
    )
    with op.batch_alter_table('calibration_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calibration_calls_call_id'), ['call_id'], unique=False)

    op.create_table('calibration_reviewers',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('submitted_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['calibration_sessions.id'], name=op.f('fk_calibration_reviewers_session_id_calibration_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calibration_reviewers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'user_id', name=op.f('pk_calibration_reviewers'))
    )
    with op.batch_alter_table('calibration_reviewers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calibration_reviewers_user_id'), ['user_id'], unique=False)

    op.create_table('calibration_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('label', sa.String(length=8), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("label IN ('pass', 'fail', 'n/a')", name=op.f('ck_calibration_scores_label')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_calibration_scores_call_id_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['calibration_sessions.id'], name=op.f('fk_calibration_scores_session_id_calibration_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calibration_scores_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calibration_scores')),
    sa.UniqueConstraint('session_id', 'user_id', 'call_id', 'code', name='uq_calibration_scores_cell')
    )
    with op.batch_alter_table('calibration_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calibration_scores_call_id'), ['call_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('calibration_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calibration_scores_call_id'))

    op.drop_table('calibration_scores')
    with op.batch_alter_table('calibration_reviewers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calibration_reviewers_user_id'))

    op.drop_table('calibration_reviewers')
    with op.batch_alter_table('calibration_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calibration_calls_call_id'))

    op.drop_table('calibration_calls')
    with op.batch_alter_table('review_sample_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_sample_calls_call_id'))

    op.drop_table('review_sample_calls')
    with op.batch_alter_table('calibration_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calibration_sessions_created_at'))

    op.drop_table('calibration_sessions')
    with op.batch_alter_table('review_samples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_samples_created_at'))

    op.drop_table('review_samples')
