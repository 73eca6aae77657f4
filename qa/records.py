"""Typed records of the rule stage: findings and the per-call report (RULES.md).

``Transcript``, ``Utterance`` and ``Word`` are defined by the producer of transcripts
(:mod:`transcribe.records`) and re-exported here so that the domain core names every record
of the report in one place.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from transcribe.records import Transcript, TranscriptFormatError, Utterance, Word

Status = Literal["pass", "fail", "n/a"]
STATUSES: tuple[str, ...] = ("pass", "fail", "n/a")

__all__ = ["Evidence", "Finding", "Report", "STATUSES", "Status", "Transcript",
           "TranscriptFormatError", "Utterance", "Word"]


@dataclass
class Evidence:
    """The words that show a finding: who said them and where they are in the recording."""

    speaker: str
    start: float
    end: float
    text: str

    @classmethod
    def from_utterance(cls, u: Utterance, text: str | None = None,
                       start: float | None = None, end: float | None = None) -> "Evidence":
        return cls(u.speaker, u.start if start is None else start,
                   u.end if end is None else end, u.text if text is None else text)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Evidence":
        return cls(str(d["speaker"]), float(d["start"]), float(d["end"]), str(d.get("text", "")))

    def to_dict(self) -> dict[str, Any]:
        return {"speaker": self.speaker, "start": self.start, "end": self.end, "text": self.text}


@dataclass
class Finding:
    """One rule's verdict on one call."""

    code: str
    status: str
    confidence: float = 1.0
    message: str | None = None
    evidence: list[Evidence] = field(default_factory=list)
    deduction: float = 0.0
    needs_review: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"{self.code}: status must be one of {STATUSES}, got {self.status!r}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Finding":
        known = {"code", "status", "confidence", "message", "evidence", "deduction",
                 "needs_review"}
        return cls(code=str(d["code"]), status=str(d["status"]),
                   confidence=float(d.get("confidence", 1.0)), message=d.get("message"),
                   evidence=[Evidence.from_dict(e) for e in d.get("evidence") or []],
                   deduction=float(d.get("deduction", 0) or 0),
                   needs_review=bool(d.get("needs_review", False)),
                   extra={k: v for k, v in d.items() if k not in known})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "status": self.status,
                               "confidence": round(self.confidence, 3),
                               "deduction": self.deduction}
        if self.message is not None:
            out["message"] = self.message
        out["evidence"] = [e.to_dict() for e in self.evidence]
        if self.needs_review:
            out["needs_review"] = True
        out.update(self.extra)
        return out


@dataclass
class Report:
    """The report of one call (RULES.md, "The report of one call")."""

    call_id: str | None
    score: float
    red_line: bool
    rules: list[Finding]
    transcript: Transcript
    call_type: str | None = None
    complaint_type: str | None = None
    complaint_confidence: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def finding(self, code: str) -> Finding:
        for f in self.rules:
            if f.code == code:
                return f
        raise KeyError(code)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Report":
        known = {"call_id", "score", "red_line", "rules", "transcript", "call_type",
                 "complaint_type", "complaint_confidence"}
        return cls(call_id=d.get("call_id"), score=float(d["score"]),
                   red_line=bool(d["red_line"]),
                   rules=[Finding.from_dict(f) for f in d["rules"]],
                   transcript=Transcript.from_dict(d["transcript"]),
                   call_type=d.get("call_type"), complaint_type=d.get("complaint_type"),
                   complaint_confidence=d.get("complaint_confidence"),
                   extra={k: v for k, v in d.items() if k not in known})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "call_id": self.call_id, "score": self.score, "red_line": self.red_line,
            "call_type": self.call_type, "complaint_type": self.complaint_type,
            "complaint_confidence": self.complaint_confidence,
            "rules": [f.to_dict() for f in self.rules],
        }
        out.update(self.extra)
        out["transcript"] = self.transcript.to_dict()
        return out
