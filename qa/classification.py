"""The interface through which complaint-dependent rules get the call's type.

Any object with a ``classify(transcript) -> Classification`` method satisfies it; the
shipped implementation lives in :mod:`classifiers`.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from classifiers.records import Classification
from transcribe.records import Transcript


@runtime_checkable
class CallClassifier(Protocol):
    def classify(self, transcript: Transcript) -> Classification:
        """Return the call type and, for complaints, the complaint type."""
        ...
