"""Settings of the transcription stage, overridable from the environment (``HOTLINE_QA_*``).

The product's full settings (:class:`qa.settings.Settings`) extend this class, so one
environment configures both; ``transcribe`` itself never imports the packages above it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TranscribeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_QA_", extra="ignore")

    # Where the product keeps its state: database, recordings store, quarantine, model cache.
    home: Path = Field(default_factory=lambda: Path.home() / ".hotline-qa")
    # A CTranslate2 Whisper model directory; default: the embedded Whisper base, assembled
    # into ``home/models`` on first use.
    model: Path | None = None
    # Domain vocabulary YAML of the recogniser (hotwords, terms, estate names); default: the one
    # shipped in transcribe/vocabulary.yaml.
    vocabulary: Path | None = None
    # The estates (小区) the centre serves, comma-separated (e.g. "阳光花园,翠湖苑"): the
    # recogniser corrects names that sound like them; the product's reports count calls by
    # them (default there: the list in ``qa/config/reports.yaml``).
    estates: str | None = None
    agent_channel: Literal["left", "right"] = "left"
    max_duration_s: float = 3 * 3600
    compute_type: str = "int8"
    cpu_threads: int = 2
    # Beam width. Measured (bench/asr.py, pub-001…010, no temperature fallback): beam 5 CER
    # 10.8 % agent / 12.6 % customer at ≈9× real time, beam 3 11.1 / 12.6 % at ≈11-12×,
    # beam 1 12.6 / 13.6 % at ≈13.5×. Beam 3 keeps a stereo call above 10× real time.
    beam_size: int = 3

    def estate_names(self) -> list[str]:
        """The ``estates`` setting as a list (empty when unset)."""
        return [e.strip() for e in (self.estates or "").split(",") if e.strip()]

    @property
    def model_cache(self) -> Path:
        return self.home / "models"


def get_transcribe_settings() -> TranscribeSettings:
    """The transcription settings, read from the environment at each call (cheap; only
    used where the caller passed no explicit value)."""
    return TranscribeSettings()
