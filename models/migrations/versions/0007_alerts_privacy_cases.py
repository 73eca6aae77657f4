"""alerts (channels, events, outbox), admin settings (masking policy), complaint/repair cases with
deadlines and promises, the working calendar, agents' acknowledgements (签收)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 18:53:06.384672
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('holidays',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('working', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_holidays'))
    )
    op.create_table('acknowledgements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.String(length=64), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_acknowledgements_call_id_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_acknowledgements_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_acknowledgements')),
    sa.UniqueConstraint('call_id', 'user_id', name='uq_acknowledgements_call_user')
    )
    with op.batch_alter_table('acknowledgements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_acknowledgements_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_acknowledgements_call_id'), ['call_id'], unique=False)

    op.create_table('alert_channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('target', sa.Text(), nullable=False),
    sa.Column('secret', sa.Text(), nullable=True),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('teams', sa.JSON(), nullable=False),
    sa.Column('estates', sa.JSON(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('wecom', 'dingtalk', 'feishu', 'webhook', 'email')", name=op.f('ck_alert_channels_kind')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_alert_channels_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_channels')),
    sa.UniqueConstraint('name', name=op.f('uq_alert_channels_name'))
    )
    op.create_table('alert_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=True),
    sa.Column('agent_id', sa.String(length=64), nullable=True),
    sa.Column('estate', sa.String(length=200), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_alert_events_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_events')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_alert_events_dedupe_key'))
    )
    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_events_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_events_created_at'), ['created_at'], unique=False)

    op.create_table('alert_seen',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('last_event_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alert_seen_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_alert_seen'))
    )
    op.create_table('app_settings',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_app_settings_updated_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_app_settings'))
    )
    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('trade', sa.String(length=16), nullable=True),
    sa.Column('caller_number', sa.String(length=64), nullable=True),
    sa.Column('room', sa.String(length=100), nullable=True),
    sa.Column('estate', sa.String(length=200), nullable=True),
    sa.Column('agent_id', sa.String(length=64), nullable=True),
    sa.Column('matter', sa.Text(), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('opened_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deadlines', sa.JSON(), nullable=False),
    sa.Column('resolved_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('called_back_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('open', 'in_progress', 'resolved', 'closed')", name=op.f('ck_cases_state')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_cases_call_id_calls'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_caller_number'), ['caller_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_room'), ['room'], unique=False)
        batch_op.create_index('ix_cases_state_opened', ['state', 'opened_at'], unique=False)

    op.create_table('alert_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('pending', 'sending', 'sent', 'failed', 'digest', 'dropped')", name=op.f('ck_alert_deliveries_state')),
    sa.ForeignKeyConstraint(['channel_id'], ['alert_channels.id'], name=op.f('fk_alert_deliveries_channel_id_alert_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['alert_events.id'], name=op.f('fk_alert_deliveries_event_id_alert_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_deliveries')),
    sa.UniqueConstraint('event_id', 'channel_id', name='uq_alert_deliveries_event_channel')
    )
    with op.batch_alter_table('alert_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_deliveries_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index('ix_alert_deliveries_state_next', ['state', 'next_attempt_at'], unique=False)

    op.create_table('case_calls',
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('attached_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_case_calls_call_id_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_calls_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('call_id', name=op.f('pk_case_calls'))
    )
    with op.batch_alter_table('case_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_calls_case_id'), ['case_id'], unique=False)

    op.create_table('case_promises',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('due_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('kept_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('open', 'kept', 'broken')", name=op.f('ck_case_promises_state')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_case_promises_call_id_calls'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_promises_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_promises'))
    )
    with op.batch_alter_table('case_promises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_promises_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_case_promises_state_due', ['state', 'due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('case_promises', schema=None) as batch_op:
        batch_op.drop_index('ix_case_promises_state_due')
        batch_op.drop_index(batch_op.f('ix_case_promises_case_id'))

    op.drop_table('case_promises')
    with op.batch_alter_table('case_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_calls_case_id'))

    op.drop_table('case_calls')
    with op.batch_alter_table('alert_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_deliveries_state_next')
        batch_op.drop_index(batch_op.f('ix_alert_deliveries_channel_id'))

    op.drop_table('alert_deliveries')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_state_opened')
        batch_op.drop_index(batch_op.f('ix_cases_room'))
        batch_op.drop_index(batch_op.f('ix_cases_caller_number'))
        batch_op.drop_index(batch_op.f('ix_cases_call_id'))

    op.drop_table('cases')
    op.drop_table('app_settings')
    op.drop_table('alert_seen')
    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_events_created_at'))
        batch_op.drop_index(batch_op.f('ix_alert_events_call_id'))

    op.drop_table('alert_events')
    op.drop_table('alert_channels')
    with op.batch_alter_table('acknowledgements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_acknowledgements_call_id'))
        batch_op.drop_index(batch_op.f('ix_acknowledgements_agent_id'))

    op.drop_table('acknowledgements')
    op.drop_table('holidays')
