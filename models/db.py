"""Engines, sessions and schema migrations.

* :func:`make_engine` — an engine for a URL; SQLite files get WAL journaling, foreign keys and
  a busy timeout so that several worker processes can share one database file.
* :func:`session_scope` — a transaction as a context manager (commit on success, rollback on
  error).
* :func:`upgrade` — run the Alembic migrations (``models/migrations``) up to ``head``.

``models`` does not import the rest of the product; :func:`default_url` reads the same
environment variables as ``qa.settings`` (``HOTLINE_QA_DATABASE_URL``, ``HOTLINE_QA_HOME``)
for the ``db`` command and for callers that pass no URL.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("hotline_qa.models")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 60_000

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def default_url() -> str:
    """The database URL from the environment: ``HOTLINE_QA_DATABASE_URL``, else a SQLite file
    ``hotline-qa.db`` in ``HOTLINE_QA_HOME`` (default ``~/.hotline-qa``)."""
    url = os.environ.get("HOTLINE_QA_DATABASE_URL")
    if url:
        return url
    home = Path(os.environ.get("HOTLINE_QA_HOME") or Path.home() / ".hotline-qa")
    return f"sqlite:///{home / 'hotline-qa.db'}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API connection
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def make_engine(url: str | None = None, **kwargs) -> Engine:
    """Create an engine for ``url`` (default: :func:`default_url`).

    SQLite: the parent folder is created, and every connection gets ``journal_mode=WAL``,
    ``foreign_keys=ON`` and a busy timeout of 60 s; transactions start with ``BEGIN
    IMMEDIATE`` only where the caller asks (see :func:`session_scope`). PostgreSQL URLs
    written ``postgresql://`` use the psycopg 3 driver.

    Raises:
        sqlalchemy.exc.ArgumentError: the URL is not a database URL.
    """
    url = url or default_url()
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        engine = create_engine(u, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(u, **kwargs)


def get_engine(url: str | None = None) -> Engine:
    """A process-wide cached engine per URL (create it with :func:`make_engine` once)."""
    url = url or default_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def dispose_engines() -> None:
    """Close the cached engines (e.g. in a child process after ``fork``)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=False)
        _engines.clear()


def session_factory(engine: Engine | str | None = None) -> sessionmaker[Session]:
    """A ``sessionmaker`` bound to ``engine`` (an Engine, a URL, or the default URL)."""
    if not isinstance(engine, Engine):
        engine = get_engine(engine)
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine | str | None = None) -> Iterator[Session]:
    """One transaction: ``with session_scope() as s: ...`` commits when the block ends and
    rolls back (re-raising) when it raises.

    ``engine`` is an Engine, a URL, or ``None`` for :func:`default_url`. Objects stay usable
    after the commit (``expire_on_commit=False``).
    """
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None):
    """The Alembic configuration of the product's migrations for ``url``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", (url or default_url()).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (default: the newest schema).

    Creates the SQLite file if needed. Safe to run again (already current: nothing happens).

    Raises:
        sqlalchemy.exc.OperationalError: the database cannot be reached.
    """
    from alembic import command

    url = url or default_url()
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # concurrent upgrades wait for each other
                conn.execute(text("SELECT pg_advisory_xact_lock(7243190)"))
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()
    log.info("database %s at revision %s", make_url(url).render_as_string(hide_password=True),
             revision)


def current_revision(url: str | None = None) -> str | None:
    """The Alembic revision the database is at (``None``: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest revision shipped with the product."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def table_names(url_or_engine: Engine | str | None = None) -> list[str]:
    """The tables present in a database (for checks and diagnostics)."""
    engine = url_or_engine if isinstance(url_or_engine, Engine) else make_engine(url_or_engine)
    return sorted(inspect(engine).get_table_names())
