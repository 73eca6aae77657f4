"""The reliability benchmark in its small mode, with the real pipeline (ASR included):
re-encoded recordings, bad files, a duplicate, a growing file, two SIGKILLs, verification."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.asr
@pytest.mark.postgres
@pytest.mark.redis
def test_reliability_small(tmp_path):
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "reliability.py"), "--small",
         "--source", str(REPO / "tests" / "data" / "calls"), "--work", str(tmp_path / "w")],
        capture_output=True, text=True, timeout=1500, cwd=REPO)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    assert "checks: every good recording processed exactly once" in out.stdout
    assert "RESULT: OK" in out.stdout
