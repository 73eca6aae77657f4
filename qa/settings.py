"""One settings object for the whole product, overridable from the environment.

Every field can be set with an environment variable ``HOTLINE_QA_<FIELD>`` (e.g.
``HOTLINE_QA_HOME``, ``HOTLINE_QA_DATABASE_URL``, ``HOTLINE_QA_MODEL``); command-line options
override both.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_QA_", extra="ignore")

    # Where the product keeps its state: database, recordings store, quarantine, model cache.
    home: Path = Field(default_factory=lambda: Path.home() / ".hotline-qa")
    # SQLAlchemy URL; default: SQLite (WAL) file in ``home``.
    database_url: str | None = None

    # --- transcription ---
    # A CTranslate2 Whisper model directory; default: the embedded Whisper base, assembled
    # into ``home/models`` on first use.
    model: Path | None = None
    agent_channel: Literal["left", "right"] = "left"
    max_duration_s: float = 3 * 3600
    compute_type: str = "int8"
    cpu_threads: int = 2
    beam_size: int = 5

    @property
    def model_cache(self) -> Path:
        return self.home / "models"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'hotline-qa.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once from the environment)."""
    return Settings()
