"""One settings object for the whole product, overridable from the environment.

Every field can be set with an environment variable ``HOTLINE_QA_<FIELD>`` (e.g.
``HOTLINE_QA_HOME``, ``HOTLINE_QA_DATABASE_URL``, ``HOTLINE_QA_MODEL``); command-line options
override both.
"""
from __future__ import annotations

import logging
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import SettingsConfigDict

from transcribe.settings import TranscribeSettings


class Settings(TranscribeSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_QA_", extra="ignore")

    # Home, model, vocabulary, channel and recogniser fields: see TranscribeSettings.
    # SQLAlchemy URL; default: SQLite (WAL) file in ``home``.
    database_url: str | None = None

    # --- web app, review, assessment, reports (api/, qa/assessment.py, qa/reports.py) ---
    # Signs session cookies. Unset: a random key is generated once and kept in
    # ``home/secret_key`` (mode 600). A known placeholder is rejected.
    secret_key: str | None = None
    session_max_age_s: int = 12 * 3600
    # Cookies only over HTTPS (set true behind TLS).
    secure_cookies: bool = False
    # Login throttling (api/security.py): failures within the window past this many for a
    # username (from anywhere but an address the user signed in from), or past 4 times as many
    # for an address, make the next try wait login_backoff_s, doubling with every further
    # failure, at most the window (a backoff, not a lock-out of the real user).
    login_max_failures: int = 5
    login_window_s: int = 15 * 60
    login_backoff_s: int = 30
    # Uploads through the API: largest accepted file.
    upload_max_bytes: int = 200 * 1024 * 1024
    # An upload lands in ``home/uploads`` and is moved into the store as its call is recorded;
    # what is left there (a ``.part`` of an interrupted transfer, a file of a server stopped
    # mid-upload) is tidied (qa.ingest.clean_uploads) once not written for this long (s).
    upload_stale_s: float = 3600.0
    # Days after a call's result is first available during which an agent may appeal.
    appeal_window_days: float = 7.0
    # Share of machine-passed calls sampled into the review queue (0-1).
    review_sample_share: float = 0.1
    # Local time zone of the call centre (months and weeks of reports).
    timezone: str = "Asia/Shanghai"
    # Estates (小区) for complaint statistics and the recogniser: ``estates`` (see
    # TranscribeSettings); default: the list in ``qa/config/reports.yaml``.
    reports_config: Path | None = None
    # The web server of ``hotline-qa serve`` / ``run``.
    host: str = "127.0.0.1"
    port: int = 8000

    # --- ingestion and workers (qa/ingest.py, qa/worker.py) ---
    # Tidy store of accepted recordings and the quarantine of bad ones (default: in ``home``).
    store_dir: Path | None = None
    quarantine_dir: Path | None = None
    # How a recording enters the store: copy (original untouched), link (hard link, falls
    # back to copy across file systems) or move (removed from the watched folder).
    store_mode: Literal["copy", "link", "move"] = "copy"
    # Regex on the file name; named groups become metadata keys (date/time → started_at).
    filename_pattern: str | None = (
        r"(?P<date>\d{8})_(?P<time>\d{6})_(?P<agent_id>[^_]+)_(?P<caller_number>\d+)\.\w+$")
    # File suffixes taken as calls (``.meta.json`` sidecars never are).
    ingest_suffixes: str = ".mp3,.wav,.m4a,.aac,.flac,.ogg,.opus,.amr,.wma,.mp4,.3gp,.json"
    # A file is complete when its size and mtime have not changed for this long (s).
    stable_s: float = 2.0
    # A recording without sidecar waits this long after its last change for one (s).
    sidecar_wait_s: float = 5.0
    # Full rescan of the watched tree besides file-system events (s).
    rescan_s: float = 30.0
    # Embedded worker processes; executor "celery" sends jobs to Celery workers instead.
    workers: int = 1
    executor: Literal["embedded", "celery"] = "embedded"
    broker_url: str = "redis://127.0.0.1:6379/0"
    # A claimed job is another worker's again when its lease (extended by heartbeats) runs out.
    job_lease_s: float = 120.0
    job_max_attempts: int = 4
    # Wait before retry n after a transient error: retry_backoff_s * 2**(n-1) (s).
    retry_backoff_s: float = 5.0
    # Celery queue the jobs are sent to (several installations may share one Redis).
    celery_queue: str = "hotline-qa"
    # "module:function" analysing one stored file (path, metadata, media_type, form=) -> Report
    # (form: the active scoring form, None for the shipped one);
    # default: qa.pipeline.analyze_file with one transcriber per worker process.
    analyzer: str | None = None

    # --- alerts (qa/alerts.py, qa/alert_sender.py) ---
    # A call scored under this is a low-score alert (None: no low-score alerts).
    alert_low_score: float | None = 60.0
    # A monitor (关注词) is an alert when this many calls of one local day mention it.
    alert_monitor_calls: int = 5
    # Messages per channel per minute (a channel's options.max_per_minute overrides); the
    # excess is folded into one digest message.
    alert_rate_per_minute: int = 20
    # Local hour of the daily digest of channels in digest mode (options.mode: daily).
    alert_digest_hour: int = 18
    # The sender: poll interval, lease of a claimed delivery, attempts, back-off
    # (retry n waits alert_retry_backoff_s * 2**(n-1), at most an hour), HTTP timeout, and how
    # often overdue cases, broken promises and monitors are checked (s).
    alert_poll_s: float = 1.0
    alert_lease_s: float = 60.0
    alert_max_attempts: int = 6
    alert_retry_backoff_s: float = 10.0
    alert_http_timeout_s: float = 10.0
    alert_check_s: float = 60.0
    # Where the links in messages point (default: http://host:port).
    alert_base_url: str | None = None
    # E-mail channels: the SMTP server (a channel's options smtp_host … override).
    alert_smtp_host: str = "127.0.0.1"
    alert_smtp_port: int = 25
    alert_smtp_user: str | None = None
    alert_smtp_password: str | None = None
    alert_smtp_starttls: bool = False
    alert_smtp_from: str = "hotline-qa@localhost"

    @property
    def effective_store_dir(self) -> Path:
        return self.store_dir or self.home / "store"

    @property
    def effective_uploads_dir(self) -> Path:
        """Where API uploads land before their call is recorded (``home/uploads``)."""
        return Path(self.home) / "uploads"

    @property
    def effective_quarantine_dir(self) -> Path:
        return self.quarantine_dir or self.home / "quarantine"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'hotline-qa.db'}"


_process_settings: Settings | None = None


@lru_cache(maxsize=1)
def _environment_settings() -> Settings:
    return Settings()


def get_settings() -> Settings:
    """The process-wide settings: those given to :func:`use_settings`, else read once from
    the environment. ``get_settings.cache_clear()`` forgets both (tests)."""
    s = _process_settings
    return s if s is not None else _environment_settings()


def use_settings(settings: Settings | None) -> None:
    """Make ``settings`` this process's settings (a worker process runs with its parent's,
    whatever its environment says); ``None``: read the environment again on next use."""
    global _process_settings
    _process_settings = settings


def _forget() -> None:
    use_settings(None)
    _environment_settings.cache_clear()


get_settings.cache_clear = _forget  # type: ignore[attr-defined]


UNSAFE_SECRETS = {"changeme", "change-me", "secret", "dev", "development", "please-change-me"}


def resolve_secret_key(settings: Settings) -> str:
    """The app's secret key (it signs sessions and keys the alert channels' stored secrets):
    ``settings.secret_key``, else one generated once and kept in ``home/secret_key`` (mode
    600; a process that loses the race to create it reads the winner's).

    Raises:
        ValueError: the configured key is a known placeholder or shorter than 16 characters.
    """
    key = settings.secret_key
    if key:
        if key.lower() in UNSAFE_SECRETS or len(key) < 16:
            raise ValueError("HOTLINE_QA_SECRET_KEY 不安全（占位符或少于 16 个字符）/ "
                             "unsafe secret key: use a random string of 16+ characters")
        return key
    path = Path(settings.home) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
            logging.getLogger("hotline_qa").info("generated a new secret key in %s", path)
    return path.read_text().strip()


def require_device(settings: "Settings") -> tuple[str, str]:
    """The recognition device and precision (``HOTLINE_QA_DEVICE``, ``HOTLINE_QA_COMPUTE_TYPE``)
    for a command that starts workers: a device that is not here stops it at once with the
    message (:class:`click.ClickException`), before any recording waits on it."""
    import click  # noqa: PLC0415 - the commands' library, not the core's

    from transcribe.settings import DeviceError  # noqa: PLC0415
    try:
        return settings.resolved_device()
    except DeviceError as exc:
        raise click.ClickException(str(exc)) from exc
