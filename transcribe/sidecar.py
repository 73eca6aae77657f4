"""The PBX metadata sidecar of a recording: ``<recording minus its suffix>.meta.json``.

``calls/x.stereo.mp3`` → ``calls/x.stereo.meta.json`` (as in ``shared/data/calls``). Every
package that reads recordings (the ``transcribe`` and ``classify`` commands, ingestion, the
workers) finds the sidecar here, so there is one definition of where it lives.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

__all__ = ["SIDECAR_SUFFIX", "sidecar_path", "is_sidecar", "read_sidecar"]

SIDECAR_SUFFIX = ".meta.json"
logger = logging.getLogger("hotline_qa.transcribe.sidecar")


def sidecar_path(path: Path) -> Path:
    """``a/b/x.stereo.mp3`` → ``a/b/x.stereo.meta.json`` (the suffix replaced)."""
    path = Path(path)
    return path.with_name(path.stem + SIDECAR_SUFFIX)


def is_sidecar(path: Path) -> bool:
    return Path(path).name.endswith(SIDECAR_SUFFIX)


def read_sidecar(path: Path) -> dict[str, Any]:
    """The metadata in the sidecar of the recording ``path`` (``{}`` when there is none).

    An unreadable or malformed sidecar does not stop the call: the result is
    ``{"sidecar_error": "<file>: <why>"}`` and a warning is logged; callers that must refuse
    (the terminal commands) check that key.
    """
    side = sidecar_path(path)
    if not side.exists():
        return {}
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        logger.warning("sidecar %s unreadable, ignored: %s", side, exc)
        return {"sidecar_error": f"{side.name}: {exc}"}
    if not isinstance(data, dict):
        logger.warning("sidecar %s is not a JSON object, ignored", side)
        return {"sidecar_error": f"{side.name}: not a JSON object"}
    return data
