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
    # Where recognition runs: ``auto`` (a CUDA GPU when CTranslate2 sees one, else the CPU),
    # ``cpu`` or ``cuda``; and its precision: default int8 on the CPU, float16 on a GPU.
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str | None = None
    cpu_threads: int = 2
    # Beam width. Measured (bench/asr.py, pub-001…010, no temperature fallback): beam 5 CER
    # 10.8 % agent / 12.6 % customer at ≈9× real time, beam 3 11.1 / 12.6 % at ≈11-12×,
    # beam 1 12.6 / 13.6 % at ≈13.5×. Beam 3 keeps a stereo call above 10× real time.
    beam_size: int = 3

    def resolved_device(self) -> tuple[str, str]:
        """``(device, compute_type)`` on this machine (:func:`resolve_device`)."""
        import ctranslate2  # noqa: PLC0415 - only when recognising

        return resolve_device(self.device, self.compute_type, ctranslate2.get_cuda_device_count())

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


class DeviceError(ValueError):
    """The configured recognition device is not available here (message in Chinese and English)."""


def resolve_device(requested: str, compute_type: str | None, cuda_devices: int
                   ) -> tuple[str, str]:
    """The device and precision recognition runs with: ``auto`` takes the GPU when there is
    one (``cuda_devices`` > 0); ``cuda`` without one is an error that says what to do. The
    precision is ``compute_type`` when set, else float16 on a GPU and int8 on the CPU.

    >>> resolve_device("auto", None, 0), resolve_device("auto", None, 1)
    (('cpu', 'int8'), ('cuda', 'float16'))
    """
    if requested not in ("auto", "cpu", "cuda"):
        raise DeviceError(f"HOTLINE_QA_DEVICE 只能是 auto、cpu 或 cuda / must be auto, cpu or "
                          f"cuda, not {requested!r}")
    if requested == "cuda" and cuda_devices < 1:
        raise DeviceError("设置了 HOTLINE_QA_DEVICE=cuda，但本机没有可用的 CUDA GPU；请改为 auto 或 "
                          "cpu / HOTLINE_QA_DEVICE=cuda but CTranslate2 sees no CUDA GPU here: "
                          "set it to auto or cpu")
    device = "cuda" if requested == "cuda" or (requested == "auto" and cuda_devices > 0) \
        else "cpu"
    return device, compute_type or ("float16" if device == "cuda" else "int8")
