"""The product's tables (SQLAlchemy 2 typed declarative mapping).

Conventions:

* times are UTC, timezone-aware (:class:`models.base.UTCDateTime`);
* enumerations are short strings guarded by CHECK constraints; the allowed values are the
  module-level tuples (``ROLES``, ``CALL_STATUSES`` …), so other packages can validate input;
* the per-call report and transcript are stored verbatim as JSON (RULES.md shapes) next to the
  columns that are filtered and aggregated (score, red line, call type …); ``qa`` converts
  between its records and these rows, ``models`` imports nothing of the product.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, Float, ForeignKey, Index,
                        Integer, String, Text, UniqueConstraint, event, exists, false, select,
                        update)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value

from models.base import Base, utcnow

ROLES = ("admin", "supervisor", "agent")
CALL_STATUSES = ("queued", "processing", "done", "failed", "quarantined")
MEDIA_TYPES = ("audio", "transcript")
FINDING_STATUSES = ("pass", "fail", "n/a")
REVIEW_STATES = ("pending", "upheld", "overturned")
REVIEW_DECISIONS = ("upheld", "overturned", "comment")
JOB_STATES = ("queued", "running", "done", "failed", "quarantined")
ATTEMPT_OUTCOMES = ("running", "done", "retry", "failed", "quarantined", "lost")
APPEAL_STATES = ("open", "accepted", "rejected")
FILE_OUTCOMES = ("new", "duplicate", "quarantined", "ignored")
CLASSIFICATION_KINDS = ("model", "correction")
SESSION_KINDS = ("session", "token")
ALERT_CHANNEL_KINDS = ("wecom", "dingtalk", "feishu", "webhook", "email")
ALERT_DELIVERY_STATES = ("pending", "sending", "sent", "failed", "digest", "dropped")
CASE_STATES = ("open", "in_progress", "resolved", "closed")
PROMISE_STATES = ("open", "kept", "broken")
RULE_DOCUMENT_KINDS = ("custom", "override")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# --------------------------------------------------------------------------- people


class Agent(Base):
    """A customer-service agent (客服人员); ``id`` is the phone system's agent id (工号)."""

    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    team: Mapped[str | None] = mapped_column(String(200), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="agent")
    calls: Mapped[list[Call]] = relationship(back_populates="agent")


class User(Base):
    """A login of the web app: an admin, a supervisor (质检主管) or an agent (linked to
    :class:`Agent`). ``password_hash`` is an argon2 hash written by ``api``."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"),
                                                 index=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    #: set by someone else (first admin, generated, admin reset): must be changed first
    password_one_time: Mapped[bool] = mapped_column(Boolean, default=False,
                                                    server_default=false())

    agent: Mapped[Agent | None] = relationship(back_populates="users")


class LoginAttempt(Base):
    """One login try, for throttling (failures per username / per address in a window)."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),
                      Index("ix_login_attempts_ip_at", "ip", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150))
    ip: Mapped[str | None] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuthSession(Base):
    """A signed-in browser session (``kind='session'``) or API bearer token (``'token'``),
    held on the server: the signed cookie / token carries a random id whose SHA-256 is ``id``.
    Signing out deletes the row; disabling the user or changing the password deletes all of the
    user's rows, so a replayed cookie or token no longer authenticates (and re-enabling the user
    revives nothing). Written by ``api.security``."""

    __tablename__ = "auth_sessions"
    __table_args__ = (CheckConstraint(_in("kind", SESSION_KINDS), name="kind"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ip: Mapped[str | None] = mapped_column(String(64))


# --------------------------------------------------------------------------- calls


class Call(Base):
    """One recorded call (or transcript document) and its latest analysis.

    ``id`` is a stable text id (``c-`` + the first 16 hex digits of the content hash unless
    the input named one). ``source_path`` is where the file was found, ``store_path`` where
    the product keeps its copy (the tidy store, or the quarantine folder). ``meta`` is the call
    metadata (RULES.md transcript ``metadata``: agent id, start time, caller number, ring
    seconds, who hung up …). ``report`` is the RULES.md report JSON of the latest analysis;
    ``timings`` the per-stage seconds (``decode``, ``transcribe``, ``rules``, ``store`` …).

    ``report`` is the machine's snapshot, written once per analysis and never changed:
    reviews and appeals change the :class:`Finding` rows (``review_state``), add
    :class:`Score` rows and update ``score``/``red_line``/``needs_review`` here. Whatever shows
    or computes current results (fails, deductions, score, red lines) reads those; the report
    is read only to export the machine's report and for machine input it alone keeps (the
    transcript as analysed, ``review_reasons``, classifier cues). The machine's score is the
    ``Score`` row with ``reason='analysis'``.
    """

    __tablename__ = "calls"
    __table_args__ = (
        CheckConstraint(_in("status", CALL_STATUSES), name="status"),
        CheckConstraint(_in("media_type", MEDIA_TYPES), name="media_type"),
        Index("ix_calls_agent_started", "agent_id", "started_at"),
        Index("ix_calls_status_created", "status", "created_at"),
        # the call list: default order (newest first) and score range / order (0002)
        Index("ix_calls_started_at", "started_at", "id"),
        Index("ix_calls_score", "score"),
        # the "review pending" filter: newest first and its count from the index alone (0003)
        Index("ix_calls_review_pending_started", "review_pending", "started_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    source_path: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(String(500))
    store_path: Mapped[str | None] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    media_type: Mapped[str] = mapped_column(String(20), default="audio")
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)

    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    caller_number: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None]
    duration: Mapped[float | None] = mapped_column(Float)

    status: Mapped[str] = mapped_column(String(20), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float)
    red_line: Mapped[bool | None] = mapped_column(Boolean)
    call_type: Mapped[str | None] = mapped_column(String(32), index=True)
    call_type_confidence: Mapped[float | None] = mapped_column(Float)
    complaint_type: Mapped[str | None] = mapped_column(String(32))
    complaint_confidence: Mapped[float | None] = mapped_column(Float)
    confidences: Mapped[dict[str, Any] | None]
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    #: some fail of this call awaits a supervisor (``review_state='pending'``); kept in step
    #: with the findings on every flush (:func:`_sync_review_pending`), denormalised for the
    #: call list's "review pending" filter (0003)
    review_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    scenario: Mapped[str | None] = mapped_column(String(100))
    estate: Mapped[str | None] = mapped_column(String(200), index=True)
    follow_up_status: Mapped[str | None] = mapped_column(String(32))
    result_available_at: Mapped[datetime | None]
    timings: Mapped[dict[str, Any] | None]
    #: the machine's report as analysed (immutable snapshot; current state: findings, scores)
    report: Mapped[dict[str, Any] | None]

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    processed_at: Mapped[datetime | None]

    agent: Mapped[Agent | None] = relationship(back_populates="calls")
    utterances: Mapped[list[Utterance]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="Utterance.idx")
    findings: Mapped[list[Finding]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="Finding.code")
    classifications: Mapped[list[Classification]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="Classification.id")
    scores: Mapped[list[Score]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="Score.id")
    job: Mapped[Job | None] = relationship(back_populates="call", cascade="all, delete-orphan")


class Utterance(Base):
    """One turn of the call's transcript (speaker ``agent``/``customer``/``unknown``)."""

    __tablename__ = "utterances"
    __table_args__ = (UniqueConstraint("call_id", "idx", name="uq_utterances_call_idx"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(16))
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text, default="")
    confidence: Mapped[float | None] = mapped_column(Float)
    level_dbfs: Mapped[float | None] = mapped_column(Float)
    words: Mapped[list[Any] | None]

    call: Mapped[Call] = relationship(back_populates="utterances")


class Finding(Base):
    """One rule's verdict on one call (RULES.md finding) and its human review state.

    ``review_state`` is ``pending`` until a supervisor upholds or overturns it; only fails
    are normally reviewed. ``extra`` keeps finding fields this schema does not name.
    """

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("call_id", "code", name="uq_findings_call_code"),
        CheckConstraint(_in("status", FINDING_STATUSES), name="status"),
        CheckConstraint(_in("review_state", REVIEW_STATES), name="review_state"),
        # rule-failed filter from the index alone (0003; replaces (code, status))
        Index("ix_findings_code_status_review_call", "code", "status", "review_state",
              "call_id"),
        # calls with a fail in a review state (pending / upheld / overturned), index only (0002)
        Index("ix_findings_status_review_call", "status", "review_state", "call_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    deduction: Mapped[float] = mapped_column(Float, default=0.0)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    #: a fail of a red-line code of the active scoring form (set when stored and re-scored)
    red_line: Mapped[bool] = mapped_column(Boolean, default=False)
    message: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    extra: Mapped[dict[str, Any] | None]
    review_state: Mapped[str] = mapped_column(String(16), default="pending")
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None]
    review_comment: Mapped[str | None] = mapped_column(Text)

    call: Mapped[Call] = relationship(back_populates="findings")
    reviews: Mapped[list[Review]] = relationship(back_populates="finding",
                                                 cascade="all, delete-orphan")
    appeals: Mapped[list[Appeal]] = relationship(back_populates="finding",
                                                 cascade="all, delete-orphan")


class Classification(Base):
    """A call-type / complaint-type decision: the model's (``kind='model'``) or a supervisor's
    correction (``kind='correction'``). Corrections with ``use_for_training`` are the extra
    training examples the classifiers learn from."""

    __tablename__ = "classifications"
    __table_args__ = (CheckConstraint(_in("kind", CLASSIFICATION_KINDS), name="kind"),
                      Index("ix_classifications_call_kind", "call_id", "kind"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="model")
    call_type: Mapped[str] = mapped_column(String(32))
    call_type_confidence: Mapped[float | None] = mapped_column(Float)
    complaint_type: Mapped[str | None] = mapped_column(String(32))
    complaint_confidence: Mapped[float | None] = mapped_column(Float)
    probabilities: Mapped[dict[str, Any] | None]
    cues: Mapped[list[Any] | None]
    source: Mapped[str | None] = mapped_column(String(32))
    model_version: Mapped[str | None] = mapped_column(String(100))
    use_for_training: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    call: Mapped[Call] = relationship(back_populates="classifications")


class Score(Base):
    """A score of a call under one scoring form version (``current`` marks the one shown;
    re-scoring after a review adds a row and moves ``current``). Each analysis writes a row
    with ``reason='analysis'``: the machine's score, which re-scoring starts from."""

    __tablename__ = "scores"
    __table_args__ = (Index("ix_scores_call_current", "call_id", "current"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    form_name: Mapped[str | None] = mapped_column(String(100))
    form_version: Mapped[str | None] = mapped_column(String(50))
    score: Mapped[float] = mapped_column(Float)
    red_line: Mapped[bool] = mapped_column(Boolean, default=False)
    breakdown: Mapped[dict[str, Any] | None]
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    call: Mapped[Call] = relationship(back_populates="scores")


# --------------------------------------------------------------------------- ingestion, jobs


class SourceFile(Base):
    """A file seen in the watched folder: what ingestion decided about it.

    One row per path + content; lets a rescan skip files already handled without hashing them
    again (same path, size and mtime), and remembers exact duplicates (``outcome='duplicate'``,
    ``call_id`` = the call that has the same content).
    """

    __tablename__ = "source_files"
    __table_args__ = (CheckConstraint(_in("outcome", FILE_OUTCOMES), name="outcome"),
                      Index("ix_source_files_sha", "content_sha256"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(1000), unique=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    """The durable work item of one call: recorded before any processing, claimed atomically
    by one worker at a time under a lease (``lease_owner`` / ``lease_expires_at``, extended by
    heartbeats). A worker that dies leaves its lease to expire (or to be released by its
    supervisor); the job is then claimed again. ``attempts`` counts claims; transient errors
    wait until ``next_attempt_at`` (backoff); permanent ones end in ``failed``/``quarantined``
    with ``last_error``."""

    __tablename__ = "jobs"
    __table_args__ = (CheckConstraint(_in("state", JOB_STATES), name="state"),
                      Index("ix_jobs_state_next", "state", "next_attempt_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"),
                                         unique=True)
    kind: Mapped[str] = mapped_column(String(32), default="analyze")
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    call: Mapped[Call] = relationship(back_populates="job")
    attempt_log: Mapped[list[JobAttempt]] = relationship(
        back_populates="job", cascade="all, delete-orphan", order_by="JobAttempt.number")


class JobAttempt(Base):
    """One claim of a job by a worker and how it ended (``lost`` = the worker died)."""

    __tablename__ = "job_attempts"
    __table_args__ = (CheckConstraint(_in("outcome", ATTEMPT_OUTCOMES), name="outcome"),
                      UniqueConstraint("job_id", "number", name="uq_job_attempts_job_number"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    error: Mapped[str | None] = mapped_column(Text)
    timings: Mapped[dict[str, Any] | None]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    job: Mapped[Job] = relationship(back_populates="attempt_log")


# --------------------------------------------------------------------------- review, appeal


class Review(Base):
    """A supervisor's decision on a finding (upheld / overturned) or a comment on a call."""

    __tablename__ = "reviews"
    __table_args__ = (CheckConstraint(_in("decision", REVIEW_DECISIONS), name="decision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    finding_id: Mapped[int | None] = mapped_column(
        ForeignKey("findings.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    finding: Mapped[Finding | None] = relationship(back_populates="reviews")


class Appeal(Base):
    """An agent's appeal against a finding, and the supervisor's answer."""

    __tablename__ = "appeals"
    __table_args__ = (CheckConstraint(_in("state", APPEAL_STATES), name="state"),
                      Index("ix_appeals_state_created", "state", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"),
                                            index=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"),
                                                 index=True)
    filed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="open")
    reply: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    finding: Mapped[Finding] = relationship(back_populates="appeals")


# --------------------------------------------------------------------------- assessment, forms


class MonthlyAssessment(Base):
    """An agent's month (``month`` = ``YYYY-MM``): live figures until ``closed``; once closed,
    ``figures`` is frozen (average, call count, grade, red lines …) and never recomputed."""

    __tablename__ = "monthly_assessments"
    __table_args__ = (UniqueConstraint("agent_id", "month", name="uq_monthly_agent_month"),
                      CheckConstraint("grade IS NULL OR grade IN ('A', 'B', 'C')", name="grade"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7), index=True)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    grade: Mapped[str | None] = mapped_column(String(1))
    average_score: Mapped[float | None] = mapped_column(Float)
    call_count: Mapped[int] = mapped_column(Integer, default=0)
    red_line: Mapped[bool] = mapped_column(Boolean, default=False)
    figures: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ScoringForm(Base):
    """A version of a scoring form (the YAML text as uploaded); one ``active`` per name."""

    __tablename__ = "scoring_forms"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_scoring_forms_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    yaml_text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditLog(Base):
    """Who did what, when, to which object (reviews, appeals, user changes, exports …)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(150))
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str | None] = mapped_column(String(50))
    object_id: Mapped[str | None] = mapped_column(String(100))
    details: Mapped[dict[str, Any] | None]
    ip: Mapped[str | None] = mapped_column(String(64))


# --------------------------------------------------------------------------- search

class Monitor(Base):
    """A saved transcript search whose hits are counted over time (dashboard, weekly report).

    ``filters`` holds the call-list filters it is restricted to (estate, call type …) as the
    search API takes them; the transcript index itself is ``models.search_index``."""

    __tablename__ = "monitors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    query: Mapped[str] = mapped_column(String(500))
    sound: Mapped[bool] = mapped_column(Boolean, default=False)
    speaker: Mapped[str | None] = mapped_column(String(16))
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # calls a day mentioning it that raise an alert (qa.alerts); None: the setting
    # ``alert_monitor_calls``; 0: no alert
    alert_calls: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TopicName(Base):
    """A supervisor's name for a discovered call-reason topic, found again in later periods
    by its term signature (``terms``: term -> weight); ``merged_into_id`` joins it to
    another named topic."""

    __tablename__ = "topic_names"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    terms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("topic_names.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --------------------------------------------------------------------------- alerts

class AlertChannel(Base):
    """Where alerts go: a WeCom / DingTalk / Feishu robot, a JSON webhook or e-mail recipients
    (``target``: the webhook URL or comma-separated addresses), for which ``events``
    (red_line, low_score, monitor, overdue_case) and which agent teams / estates (empty: all).
    ``secret`` is the channel's signing secret or password, encrypted (never shown again)."""

    __tablename__ = "alert_channels"
    __table_args__ = (CheckConstraint(_in("kind", ALERT_CHANNEL_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(Text)
    events: Mapped[list[Any]] = mapped_column(default=list)
    teams: Mapped[list[Any]] = mapped_column(default=list)
    estates: Mapped[list[Any]] = mapped_column(default=list)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertEvent(Base):
    """Something people must hear about (a red line, a low score, a monitor crossing its count,
    an overdue case), written in the transaction of what caused it; ``dedupe_key`` makes the
    same cause one event."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"),
                                                index=True)
    agent_id: Mapped[str | None] = mapped_column(String(64))
    estate: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AlertDelivery(Base):
    """The outbox: one event to one channel, sent by the workers with retries and back-off."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("event_id", "channel_id",
                                       name="uq_alert_deliveries_event_channel"),
                      CheckConstraint(_in("state", ALERT_DELIVERY_STATES), name="state"),
                      Index("ix_alert_deliveries_state_next", "state", "next_attempt_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("alert_events.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("alert_channels.id", ondelete="CASCADE"),
                                            index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertSeen(Base):
    """The newest alert event a user has seen (the in-app badge counts the newer ones)."""

    __tablename__ = "alert_seen"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)


# --------------------------------------------------------------------------- settings

class AppSetting(Base):
    """A setting an admin changes in the web interface (e.g. the masking policy), as JSON."""

    __tablename__ = "app_settings"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --------------------------------------------------------------------------- cases

class Case(Base):
    """A complaint or repair followed up to its end, with the standards' deadlines: the
    department's answer, a site survey, the repair, the call-back to the customer. Later
    calls about the same matter attach to it (:class:`CaseCall`)."""

    __tablename__ = "cases"
    __table_args__ = (CheckConstraint(_in("state", CASE_STATES), name="state"),
                      Index("ix_cases_state_opened", "state", "opened_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"),
                                                index=True)
    kind: Mapped[str] = mapped_column(String(16))
    trade: Mapped[str | None] = mapped_column(String(16))
    caller_number: Mapped[str | None] = mapped_column(String(64), index=True)
    room: Mapped[str | None] = mapped_column(String(100), index=True)
    estate: Mapped[str | None] = mapped_column(String(200))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    matter: Mapped[str] = mapped_column(Text, default="")
    terms: Mapped[list[Any]] = mapped_column(default=list)
    state: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadlines: Mapped[dict[str, Any]] = mapped_column(default=dict)
    resolved_at: Mapped[datetime | None]
    called_back_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CaseCall(Base):
    """A call that belongs to a case (the first one and later ones about the same matter)."""

    __tablename__ = "case_calls"

    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"),
                                         primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(32), default="opened")
    attached_at: Mapped[datetime] = mapped_column(default=utcnow)


class CasePromise(Base):
    """What an agent promised the caller (明天上午给您回电, 三个工作日内), dated; kept when a
    call-back is recorded in time, broken when the time passes without one (言而无信)."""

    __tablename__ = "case_promises"
    __table_args__ = (CheckConstraint(_in("state", PROMISE_STATES), name="state"),
                      Index("ix_case_promises_state_due", "state", "due_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="open")
    kept_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Holiday(Base):
    """A day of the working calendar that differs from Monday–Friday: a public holiday
    (``working`` false) or a weekend working day (调休, ``working`` true)."""

    __tablename__ = "holidays"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    working: Mapped[bool] = mapped_column(Boolean, default=False)


# --------------------------------------------------------------------------- acknowledgement

class Acknowledgement(Base):
    """An agent's signature under a scored call (签收), with an optional comment; separate
    from appealing."""

    __tablename__ = "acknowledgements"
    __table_args__ = (UniqueConstraint("call_id", "user_id", name="uq_acknowledgements_call_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    agent_id: Mapped[str | None] = mapped_column(String(64), index=True)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- rule studio

class RuleDocument(Base):
    """A supervisor's rule (规则工作室): a custom check (``kind='custom'``, code ``X001``…) or
    an override of a built-in rule's phrase lists and thresholds (``'override'``, the built-in
    code, e.g. ``SV04``). Its texts are the :class:`RuleVersion` rows; ``active_version`` is
    the one the analysis runs (``None``: not in use)."""

    __tablename__ = "rule_documents"
    __table_args__ = (CheckConstraint(_in("kind", RULE_DOCUMENT_KINDS), name="kind"),)

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    active_version: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    versions: Mapped[list[RuleVersion]] = relationship(
        back_populates="document", cascade="all, delete-orphan", order_by="RuleVersion.version")


class RuleVersion(Base):
    """One saved text of a rule document (the YAML as written, never changed afterwards),
    numbered 1, 2, … per code; ``name``/``red_line``/``weight`` are copied from the parsed
    document for listing."""

    __tablename__ = "rule_versions"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_rule_versions_code_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(ForeignKey("rule_documents.code", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    yaml_text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    red_line: Mapped[bool] = mapped_column(Boolean, default=False)
    weight: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    document: Mapped[RuleDocument] = relationship(back_populates="versions")


# --------------------------------------------------------------------------- denormalised state


def pending_review_exists(call_id_col: Any = None) -> Any:
    """SQL: whether the call (``calls.id`` by default) has a fail pending review."""
    return exists().where(Finding.call_id == (Call.id if call_id_col is None else call_id_col),
                          Finding.status == "fail", Finding.review_state == "pending")


@event.listens_for(Session, "after_flush")
def _sync_review_pending(session: Session, flush_context: Any) -> None:
    """Keep ``calls.review_pending`` in step with the findings written in this flush (new,
    changed or deleted findings: analysis, review, appeal decision, re-analysis)."""
    ids = {o.call_id for o in (*session.new, *session.dirty, *session.deleted)
           if isinstance(o, Finding) and o.call_id is not None}
    if not ids:
        return
    conn = session.connection()
    conn.execute(update(Call.__table__).where(Call.__table__.c.id.in_(ids))
                 .values(review_pending=pending_review_exists(Call.__table__.c.id)))
    values = dict(conn.execute(select(Call.__table__.c.id, Call.__table__.c.review_pending)
                               .where(Call.__table__.c.id.in_(ids))).all())
    for obj in session.identity_map.values():
        if isinstance(obj, Call) and obj.id in values:
            set_committed_value(obj, "review_pending", bool(values[obj.id]))


# --------------------------------------------------------------------------- calibration and sampling

SAMPLE_PURPOSES = ("review", "calibration")
CALIBRATION_STATES = ("open", "closed")


class ReviewSample(Base):
    """A recorded random draw of calls for review (随机抽检), alongside the priority queue.

    ``size`` calls were drawn with ``random.Random(seed)`` from the ``population`` calls
    analysed in the local dates ``date_from``…``date_to`` (inclusive; ``month`` when the draw
    was for a month), sorted by id (``population_sha256`` hashes those ids, so the draw can be
    repeated and checked). ``call_ids`` is the draw as made, in order, never changed; the
    :class:`ReviewSampleCall` rows are the same calls for queries. Reviews of these calls count
    as the sample's (unbiased) reviews. ``purpose='calibration'``: drawn for a calibration
    session."""

    __tablename__ = "review_samples"
    __table_args__ = (CheckConstraint(_in("purpose", SAMPLE_PURPOSES), name="purpose"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    purpose: Mapped[str] = mapped_column(String(16), default="review")
    seed: Mapped[int] = mapped_column(BigInteger)
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    month: Mapped[str | None] = mapped_column(String(7))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    population_sha256: Mapped[str] = mapped_column(String(64))
    call_ids: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    calls: Mapped[list[ReviewSampleCall]] = relationship(
        cascade="all, delete-orphan", order_by="ReviewSampleCall.position")


class ReviewSampleCall(Base):
    """A call drawn in a :class:`ReviewSample`; ``checked_at``/``checked_by``: a supervisor
    marked it as looked at (its fails decided, its passes seen)."""

    __tablename__ = "review_sample_calls"

    sample_id: Mapped[int] = mapped_column(ForeignKey("review_samples.id", ondelete="CASCADE"),
                                           primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)
    checked_at: Mapped[datetime | None]
    checked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class CalibrationSession(Base):
    """A calibration session (校准): two or more supervisors score the same calls blind, rule by
    rule (``codes``), and their agreement with each other and with the machine is measured."""

    __tablename__ = "calibration_sessions"
    __table_args__ = (CheckConstraint(_in("state", CALIBRATION_STATES), name="state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="open")
    sample_id: Mapped[int | None] = mapped_column(
        ForeignKey("review_samples.id", ondelete="SET NULL"))
    codes: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    closed_at: Mapped[datetime | None]

    calls: Mapped[list[CalibrationCall]] = relationship(
        cascade="all, delete-orphan", order_by="CalibrationCall.position")
    reviewers: Mapped[list[CalibrationReviewer]] = relationship(
        cascade="all, delete-orphan", order_by="CalibrationReviewer.user_id")


class CalibrationCall(Base):
    """A call scored in a :class:`CalibrationSession`."""

    __tablename__ = "calibration_calls"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("calibration_sessions.id", ondelete="CASCADE"), primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)


class CalibrationReviewer(Base):
    """A supervisor named to score a session; ``submitted_at``: their scores are final (only
    then may they see the machine's verdicts and the others' scores)."""

    __tablename__ = "calibration_reviewers"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("calibration_sessions.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)
    submitted_at: Mapped[datetime | None]


class CalibrationScore(Base):
    """One reviewer's verdict (``pass``/``fail``/``n/a``) on one rule of one call of a session
    (a draft until the reviewer submits)."""

    __tablename__ = "calibration_scores"
    __table_args__ = (UniqueConstraint("session_id", "user_id", "call_id", "code",
                                       name="uq_calibration_scores_cell"),
                      CheckConstraint(_in("label", FINDING_STATUSES), name="label"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("calibration_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
