"""``analyze_file``: a recording or a transcript JSON → the report of one call.

Audio is transcribed first (:class:`transcribe.engine.Transcriber`, one per process).
Call metadata (agent, caller number, ring seconds, who hung up…) comes from ``metadata`` or
from the sidecar beside the file: the same path with its suffix replaced by ``.meta.json``
(``pub-001.stereo.mp3`` → ``pub-001.stereo.meta.json``). For a transcript JSON, the given
metadata is merged over the document's own.
"""
from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any, Mapping

from classifiers.records import Classification
from qa.classification import CallClassifier
from qa.engine import analyze
from qa.recordings import sidecar_path
from qa.records import Report, Transcript, TranscriptFormatError
from qa.settings import get_settings

log = logging.getLogger("hotline_qa.pipeline")

__all__ = ["InputError", "analyze_file", "load_metadata", "sidecar_path", "read_transcript"]

_transcriber = None
_lock = threading.Lock()


class InputError(ValueError):
    """The input file or its metadata cannot be used (message in Chinese and English)."""


def load_metadata(path: Path | str) -> dict[str, Any]:
    """Read a metadata JSON object. Raises :class:`InputError`."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"元数据文件不存在 / metadata file not found: {p}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"元数据不是有效的 JSON / metadata is not valid JSON: {p}: {exc}") \
            from exc
    if not isinstance(data, dict):
        raise InputError(f"元数据必须是 JSON 对象 / metadata must be a JSON object: {p}")
    return data


def read_transcript(path: Path | str) -> Transcript:
    """Read a RULES.md transcript document (a report JSON's ``transcript`` also works).
    Raises :class:`InputError`."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"文件不存在 / file not found: {p}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"转写文件不是有效的 JSON / transcript is not valid JSON: {p}: {exc}") \
            from exc
    if isinstance(data, dict) and "utterances" not in data and \
            isinstance(data.get("transcript"), dict):
        data = data["transcript"]
    try:
        return Transcript.from_dict(data)
    except TranscriptFormatError as exc:
        raise InputError(f"转写文件格式不对 / not a transcript document: {p}: {exc}") from exc


def product_vocabulary(settings=None):
    """The recogniser's domain vocabulary as the product runs it: the vocabulary file
    (``HOTLINE_QA_VOCABULARY`` or the shipped one) plus the estates the centre serves (the
    reports configuration: ``HOTLINE_QA_ESTATES`` or ``qa/config/reports.yaml``)."""
    from qa.reports import default_config
    from transcribe.normalize import Vocabulary
    s = settings or get_settings()
    return Vocabulary.load(s.vocabulary).with_names(default_config(s).estates)


def make_transcriber(settings=None, **kwargs):
    """A :class:`transcribe.engine.Transcriber` with the product's settings and vocabulary
    (:func:`product_vocabulary`); ``kwargs`` go to the transcriber (``options``…)."""
    from transcribe.engine import Transcriber
    s = settings or get_settings()
    if kwargs.get("vocabulary") is None:  # not setdefault: it would load the files anyway
        kwargs["vocabulary"] = product_vocabulary(s)
    return Transcriber(settings=s, **kwargs)


def _get_transcriber():
    global _transcriber
    with _lock:
        if _transcriber is None:
            _transcriber = make_transcriber()
        return _transcriber


def analyze_file(path: Path | str, metadata: Mapping | None = None, *, transcriber=None,
                 classifier: CallClassifier | None | bool = None,
                 classification: Classification | None = None, form=None,
                 config=None, rule_set=None) -> Report:
    """Analyse one call from a file.

    ``path``: an audio file (transcribed first) or a transcript JSON (``.json``).
    ``metadata``: call metadata; default: the sidecar ``<path minus suffix>.meta.json`` when
    present. ``transcriber``: a :class:`transcribe.engine.Transcriber` to reuse (default:
    one per process). ``rule_set``: the rule documents to run
    (:class:`qa.custom_rules.RuleSet`; ``None``: the built-in rules). Other arguments as
    :func:`qa.engine.analyze`.

    Raises :class:`InputError` (missing/malformed file or metadata),
    :class:`transcribe.audio.AudioError` (undecodable recording), FormError/ConfigError.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"文件不存在 / file not found: {p}")
    if not p.is_file():
        raise InputError(f"不是文件 / not a file: {p}")
    meta: dict[str, Any] | None = dict(metadata) if metadata is not None else None
    side = sidecar_path(p)
    if meta is None and side != p and side.is_file():
        meta = load_metadata(side)
    if p.suffix.lower() == ".json":
        transcript = read_transcript(p)
        if meta:
            transcript.metadata.update(meta)
        if transcript.call_id is None:
            transcript.call_id = str(meta.get("call_id")) if meta and meta.get("call_id") \
                else p.name.split(".")[0]
    else:
        tr = transcriber or _get_transcriber()
        call_id = str((meta or {}).get("call_id") or p.name.split(".")[0])
        transcript = tr.transcribe(p, metadata=meta or {}, call_id=call_id)
    return analyze(transcript, classifier=classifier, classification=classification,
                   form=form, config=config, rule_set=rule_set)
