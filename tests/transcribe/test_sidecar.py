"""Where a recording's PBX metadata sidecar lives and how a bad one is reported."""
from __future__ import annotations

import json
from pathlib import Path

from transcribe.sidecar import is_sidecar, read_sidecar, sidecar_path


def test_sidecar_path_replaces_only_the_last_suffix():
    assert sidecar_path(Path("a/b/pub-001.stereo.mp3")) == Path("a/b/pub-001.stereo.meta.json")
    assert sidecar_path(Path("录音 1.wav")) == Path("录音 1.meta.json")
    assert is_sidecar(Path("x.stereo.meta.json")) and not is_sidecar(Path("x.mp3"))


def test_read_sidecar_good_missing_and_bad(tmp_path):
    rec = tmp_path / "call.wav"
    assert read_sidecar(rec) == {}
    sidecar_path(rec).write_text(json.dumps({"agent_id": "A1"}), encoding="utf-8")
    assert read_sidecar(rec) == {"agent_id": "A1"}
    sidecar_path(rec).write_text("{not json", encoding="utf-8")
    assert read_sidecar(rec)["sidecar_error"].startswith("call.meta.json: ")
    sidecar_path(rec).write_text("[1, 2]", encoding="utf-8")
    assert read_sidecar(rec) == {"sidecar_error": "call.meta.json: not a JSON object"}
