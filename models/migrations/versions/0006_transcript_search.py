"""transcript search: the utterance index, monitors (saved searches counted over time) and
supervisors' names for call-reason topics

The index is SQLite FTS5 or PostgreSQL ``tsvector``/GIN (``models.search_index``). It is
created empty with tokenizer version 0: the first ``hotline-qa run``/``serve``/``worker`` (or
``hotline-qa search reindex``) fills it from the stored utterances; new and re-analysed calls
are indexed as they are stored.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 18:02:40
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base
from models import search_index

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'monitors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('query', sa.String(length=500), nullable=False),
        sa.Column('sound', sa.Boolean(), nullable=False),
        sa.Column('speaker', sa.String(length=16), nullable=True),
        sa.Column('filters', sa.JSON(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'],
                                name=op.f('fk_monitors_created_by_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_monitors')),
        sa.UniqueConstraint('name', name=op.f('uq_monitors_name')))
    op.create_table(
        'topic_names',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('terms', sa.JSON(), nullable=False),
        sa.Column('merged_into_id', sa.Integer(), nullable=True),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'],
                                name=op.f('fk_topic_names_created_by_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['merged_into_id'], ['topic_names.id'],
                                name=op.f('fk_topic_names_merged_into_id_topic_names'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_topic_names')))
    search_index.create(op.get_bind())


def downgrade() -> None:
    search_index.drop(op.get_bind())
    op.drop_table('topic_names')
    op.drop_table('monitors')
