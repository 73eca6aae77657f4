"""Storage: SQLAlchemy ORM, sessions and Alembic migrations.

``from models import Call, Job, session_scope`` — the tables are in :mod:`models.tables`,
engines/sessions/migrations in :mod:`models.db`. This package imports nothing else of the
product.
"""
from models.base import Base, utcnow
from models.db import (current_revision, default_url, get_engine, head_revision, make_engine,
                       session_factory, session_scope, upgrade)
from models.tables import (APPEAL_STATES, CALL_STATUSES, FINDING_STATUSES, JOB_STATES,
                           REVIEW_STATES, ROLES, Acknowledgement, Agent, AlertChannel,
                           AlertDelivery, AlertEvent, AlertSeen, Appeal, AppSetting, AuditLog,
                           AuthSession, Call, Case, CaseCall, CasePromise, Classification,
                           Finding, Holiday, Job, JobAttempt, LoginAttempt, Monitor,
                           MonthlyAssessment, Review, RuleDocument, RuleVersion, Score,
                           ScoringForm, SourceFile, TopicName, User, Utterance)

__all__ = [
    "APPEAL_STATES", "CALL_STATUSES", "FINDING_STATUSES", "JOB_STATES", "REVIEW_STATES", "ROLES",
    "Acknowledgement", "Agent", "AlertChannel", "AlertDelivery", "AlertEvent", "AlertSeen",
    "Appeal", "AppSetting", "AuditLog", "AuthSession", "Base", "Call", "Case", "CaseCall",
    "CasePromise", "Classification", "Finding", "Holiday", "Job", "JobAttempt", "LoginAttempt", "Monitor", "MonthlyAssessment", "Review", "RuleDocument", "RuleVersion", "Score",
    "ScoringForm", "SourceFile", "TopicName", "User", "Utterance", "current_revision",
    "default_url", "get_engine", "head_revision", "make_engine", "session_factory",
    "session_scope", "upgrade", "utcnow",
]
