"""The classifier's output record."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CALL_TYPES: tuple[str, ...] = ("complaint", "repair", "inquiry", "suggestion", "other")
COMPLAINT_TYPES: tuple[str, ...] = ("resolve", "vent", "expectation")
#: The Chinese names of the types, as ``RULES.md`` names them: the one home of these labels
#: (pages, reports, cues, the dashboard's script).
CALL_TYPE_ZH: dict[str, str] = {"complaint": "投诉", "repair": "报修", "inquiry": "咨询/查询",
                                "suggestion": "意见建议", "other": "其他"}
COMPLAINT_TYPE_ZH: dict[str, str] = {"resolve": "解决问题", "vent": "纯粹发泄",
                                     "expectation": "为了某种期待"}


@dataclass
class Classification:
    """Call type and (for complaints) complaint type, with calibrated probabilities.

    ``cues`` are human-readable reasons (Chinese) that drove the decision, for the
    supervisor's "why"; ``source`` says whether voice features were used
    (``"text+voice"``) or only words (``"text"``).
    """

    call_type: str
    call_type_confidence: float
    complaint_type: str | None = None
    complaint_confidence: float | None = None
    call_type_probabilities: dict[str, float] = field(default_factory=dict)
    complaint_probabilities: dict[str, float] = field(default_factory=dict)
    cues: list[str] = field(default_factory=list)
    source: str = "text"

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_type": self.call_type, "call_type_confidence": self.call_type_confidence,
            "complaint_type": self.complaint_type,
            "complaint_confidence": self.complaint_confidence,
            "call_type_probabilities": self.call_type_probabilities,
            "complaint_probabilities": self.complaint_probabilities,
            "cues": self.cues, "source": self.source,
        }
