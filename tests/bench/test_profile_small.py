"""The per-stage profile benchmark (bench/profile.py, issue #17) on one short stereo call:
every stage row is printed, the shares add up to the call, the windows are counted."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.asr
def test_profile_bench_quick():
    out = subprocess.run([sys.executable, str(REPO / "bench" / "profile.py"), "--quick"],
                         capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    for row in ("decode", "VAD (Silero)", "encoder (CT2 encode)", "decoder (CT2 generate)",
                "word alignment (CT2 align)", "sound-alike correction", "classify",
                "dialogue acts", "rules", "store (SQLite)", "= call wall time"):
        assert row in text, row
    shares = [float(m) for m in re.findall(r"^  (?![=]).{34} +[\d.]+ +([\d.]+) %", text, re.M)]
    assert 99.0 <= sum(shares) <= 101.0  # self times: the rows add up to the call
    agent = re.search(r"agent +speech heard +([\d.]+) s +windows +(\d+)", text)
    assert agent and float(agent.group(1)) > 10 and int(agent.group(2)) >= 1
    assert re.search(r"× real time", text) and "peak memory (max RSS)" in text
