"""The interface through which rules read the dialogue acts of a call.

Any object with ``tag(transcript) -> list[dict[str, float]]`` (one ``{act: probability}`` per
utterance, in order) satisfies it; the shipped implementation is
:class:`classifiers.acts.ActTagger`. :func:`default_tagger` loads it once per process and
returns ``None`` (logged once) when it is unavailable: rules then decide on their phrase
lists alone, as before the act layer existed.
"""
from __future__ import annotations

import logging
import threading
from typing import Protocol, runtime_checkable

from transcribe.records import Transcript

log = logging.getLogger("hotline_qa.acts")

_lock = threading.Lock()
_tagger: "ActSource | None" = None
_loaded = False


@runtime_checkable
class ActSource(Protocol):
    def tag(self, transcript: Transcript) -> list[dict[str, float]]:
        """One ``{act: probability}`` per utterance of ``transcript``."""
        ...


def default_tagger() -> ActSource | None:
    """The shipped act model (``classifiers.acts.load_default()``), or ``None``."""
    global _tagger, _loaded
    with _lock:
        if not _loaded:
            _loaded = True
            try:
                from classifiers.acts import load_default

                _tagger = load_default()
            except Exception as exc:  # noqa: BLE001 - any failure means "phrase lists only"
                log.warning("dialogue-act model unavailable, rules use phrase lists only: %s",
                            exc)
                _tagger = None
        return _tagger
