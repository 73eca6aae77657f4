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
