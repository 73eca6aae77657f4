"""The reliability benchmark in its small mode, with the real pipeline (ASR included):
re-encoded recordings, bad files, a duplicate, a growing file, two SIGKILLs, verification;
and its availability cases (issue 20): the peak memory of very long calls, a year-1 file
name among good recordings."""
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
        [sys.executable, str(REPO / "bench" / "reliability.py"), "--small", "--cases", "folder",
         "--source", str(REPO / "tests" / "data" / "calls"), "--work", str(tmp_path / "w")],
        capture_output=True, text=True, timeout=1500, cwd=REPO)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    assert "checks: every good recording processed exactly once" in out.stdout
    assert "RESULT: OK" in out.stdout


@pytest.mark.slow
@pytest.mark.asr
def test_reliability_availability_cases(tmp_path):
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "reliability.py"), "--cases", "long,bad-date",
         "--long-wav-min", "60", "--source", str(REPO / "tests" / "data" / "calls"),
         "--work", str(tmp_path / "w")],
        capture_output=True, text=True, timeout=1500, cwd=REPO)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    assert "1.0 h silent mono WAV" in out.stdout and "MB per minute of audio" in out.stdout
    assert "0.5 h silent stereo FLAC" in out.stdout and "CHECK FAILED" not in out.stdout
    assert "health while running: 200 ok, ingestion running" in out.stdout
    assert "health once stopped: 503" in out.stdout
    assert "ingestion went on past the year-1 file" in out.stdout
    assert "RESULT: OK" in out.stdout
