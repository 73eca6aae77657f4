"""Shared fixtures: paths to the test data shipped in tests/data and to the optional shared set."""
from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
REPO = TESTS.parent
# The shared evaluation set (present on development machines, not required by the tests).
SHARED = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def truth_files() -> list[Path]:
    """The 40 scripted calls' true transcripts with labels (copied from shared/data/calls)."""
    return sorted((DATA / "truth").glob("*.truth.json"))


@pytest.fixture()
def qa_home(tmp_path, monkeypatch) -> Path:
    """A fresh data directory for one test (HOTLINE_QA_HOME)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOTLINE_QA_HOME", str(home))
    from qa.settings import get_settings
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


# --- databases (storage tests run against both SQLite and the PostgreSQL server) ---
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _pg_available() -> bool:
    try:
        import psycopg
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres",
                             connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001 - any failure means "no server"
        return False


@pytest.fixture()
def pg_url():
    """A throwaway PostgreSQL database (created empty, dropped afterwards); its URL."""
    import uuid

    import psycopg
    if not _pg_available():
        pytest.skip("PostgreSQL server at 127.0.0.1:5432 not reachable")
    name = f"hqa_test_{uuid.uuid4().hex[:12]}"
    dsn = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    from models.db import dispose_engines
    dispose_engines()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """An empty, migrated database URL: SQLite in tmp_path, then a throwaway PostgreSQL one."""
    from models.db import upgrade
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'qa.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    upgrade(url)
    return url
