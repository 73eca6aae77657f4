"""Call-type and complaint-type classification (words and voice)."""
from classifiers.records import CALL_TYPES, COMPLAINT_TYPES, Classification

__all__ = ["CALL_TYPES", "COMPLAINT_TYPES", "Classification"]
