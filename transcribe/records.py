"""Typed records of the transcript document (RULES.md, "The transcript document").

These records are the contract between the recogniser and everything after it: the
transcriber produces them, the rules, the classifier and storage consume them, and a
transcript JSON from an outside system is read into them with :meth:`Transcript.from_dict`.

``to_dict()`` writes exactly the RULES.md shape: optional fields that are unset are left out,
unknown metadata keys are kept as they came.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Speaker = Literal["agent", "customer", "unknown"]
SPEAKERS: tuple[str, ...] = ("agent", "customer", "unknown")


class TranscriptFormatError(ValueError):
    """A transcript document does not have the shape of RULES.md."""


def _num(d: dict, key: str, where: str, required: bool = True) -> float | None:
    v = d.get(key)
    if v is None:
        if required:
            raise TranscriptFormatError(f"{where}: missing '{key}'")
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TranscriptFormatError(f"{where}: '{key}' must be a number, got {v!r}")
    return float(v)


@dataclass
class Word:
    """One recognised word with its times in seconds from the start of the recording."""

    start: float
    end: float
    text: str
    probability: float | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "word") -> "Word":
        if not isinstance(d, dict):
            raise TranscriptFormatError(f"{where}: must be an object")
        return cls(start=_num(d, "start", where), end=_num(d, "end", where),
                   text=str(d.get("text", "")),
                   probability=_num(d, "probability", where, required=False))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start, "end": self.end, "text": self.text}
        if self.probability is not None:
            out["probability"] = self.probability
        return out


@dataclass
class Utterance:
    """One turn of one party.

    ``level_dbfs`` is the speaker's active speech level over the utterance (dBFS), when
    measured from audio; ``confidence`` is the recogniser's confidence (0-1).
    """

    speaker: str
    start: float
    end: float
    text: str
    words: list[Word] | None = None
    confidence: float | None = None
    level_dbfs: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "utterance") -> "Utterance":
        if not isinstance(d, dict):
            raise TranscriptFormatError(f"{where}: must be an object")
        speaker = d.get("speaker")
        if speaker not in SPEAKERS:
            raise TranscriptFormatError(
                f"{where}: 'speaker' must be one of {', '.join(SPEAKERS)}, got {speaker!r}")
        start, end = _num(d, "start", where), _num(d, "end", where)
        if end < start:
            raise TranscriptFormatError(f"{where}: 'end' ({end}) is before 'start' ({start})")
        words = d.get("words")
        if words is not None and not isinstance(words, list):
            raise TranscriptFormatError(f"{where}: 'words' must be a list")
        known = {"speaker", "start", "end", "text", "words", "confidence", "level_dbfs"}
        return cls(
            speaker=speaker, start=start, end=end, text=str(d.get("text", "")),
            words=None if words is None else [
                Word.from_dict(w, f"{where}.words[{i}]") for i, w in enumerate(words)],
            confidence=_num(d, "confidence", where, required=False),
            level_dbfs=_num(d, "level_dbfs", where, required=False),
            extra={k: v for k, v in d.items() if k not in known},
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"speaker": self.speaker, "start": self.start, "end": self.end,
                               "text": self.text}
        if self.words is not None:
            out["words"] = [w.to_dict() for w in self.words]
        if self.confidence is not None:
            out["confidence"] = self.confidence
        if self.level_dbfs is not None:
            out["level_dbfs"] = self.level_dbfs
        out.update(self.extra)
        return out


@dataclass
class Transcript:
    """A whole call: metadata, time-ordered utterances, and the recogniser's diagnostics."""

    utterances: list[Utterance] = field(default_factory=list)
    call_id: str | None = None
    duration: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def by(self, speaker: str) -> list[Utterance]:
        """The utterances of one party, in time order."""
        return [u for u in self.utterances if u.speaker == speaker]

    @property
    def has_unknown_speakers(self) -> bool:
        return any(u.speaker == "unknown" for u in self.utterances)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Transcript":
        if not isinstance(d, dict):
            raise TranscriptFormatError("transcript: must be a JSON object")
        utts = d.get("utterances")
        if not isinstance(utts, list):
            raise TranscriptFormatError("transcript: 'utterances' must be a list")
        meta = d.get("metadata") or {}
        if not isinstance(meta, dict):
            raise TranscriptFormatError("transcript: 'metadata' must be an object")
        diag = d.get("diagnostics")
        if diag is not None and not isinstance(diag, dict):
            raise TranscriptFormatError("transcript: 'diagnostics' must be an object")
        known = {"call_id", "duration", "metadata", "utterances", "diagnostics"}
        utterances = [Utterance.from_dict(u, f"utterances[{i}]") for i, u in enumerate(utts)]
        utterances.sort(key=lambda u: (u.start, u.end))
        return cls(
            utterances=utterances,
            call_id=None if d.get("call_id") is None else str(d["call_id"]),
            duration=_num(d, "duration", "transcript", required=False),
            metadata=dict(meta), diagnostics=None if diag is None else dict(diag),
            extra={k: v for k, v in d.items() if k not in known},
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.call_id is not None:
            out["call_id"] = self.call_id
        if self.duration is not None:
            out["duration"] = self.duration
        out["metadata"] = dict(self.metadata)
        out["utterances"] = [u.to_dict() for u in self.utterances]
        if self.diagnostics is not None:
            out["diagnostics"] = self.diagnostics
        out.update(self.extra)
        return out
