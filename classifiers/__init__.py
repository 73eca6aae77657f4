"""Call-type and complaint-type classification (words and voice).

``load_default()`` returns the shipped classifier (implements ``qa.classification.CallClassifier``:
``classify(transcript) -> Classification``); ``train(extra_examples)`` rebuilds one, e.g. with
supervisors' corrections. scikit-learn is imported only when one of them is called.
"""
from __future__ import annotations

from typing import Any

from classifiers.records import CALL_TYPES, COMPLAINT_TYPES, Classification

__all__ = ["CALL_TYPES", "COMPLAINT_TYPES", "Classification", "load_default", "train"]


def load_default():
    """The shipped classifier (``classifiers/model/``), cached per process.

    Raises:
        classifiers.model.ClassifierError: the model files are missing or unreadable.
    """
    from classifiers.model import load_default as _load

    return _load()


def train(extra_examples: Any = None, **kwargs: Any):
    """Train a classifier on the corpus plus ``extra_examples`` (see :func:`classifiers.model.train`)."""
    from classifiers.model import train as _train

    return _train(extra_examples, **kwargs)
