"""Where recognition runs (HOTLINE_QA_DEVICE, issue 17): auto takes a GPU when CTranslate2
sees one, else the CPU; float16 on a GPU, int8 on the CPU unless set; cuda on a machine
without a GPU stops the commands that start workers with a message that says what to do."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import ctranslate2
import pytest

from transcribe.settings import DeviceError, TranscribeSettings, resolve_device

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("requested,compute,gpus,expected", [
    ("auto", None, 0, ("cpu", "int8")),
    ("auto", None, 2, ("cuda", "float16")),
    ("cpu", None, 1, ("cpu", "int8")),
    ("cuda", None, 1, ("cuda", "float16")),
    ("auto", "int8_float16", 1, ("cuda", "int8_float16")),
    ("cpu", "float32", 0, ("cpu", "float32")),
])
def test_the_device_and_precision_chosen(requested, compute, gpus, expected):
    assert resolve_device(requested, compute, gpus) == expected


def test_cuda_without_a_gpu_and_unknown_devices_are_refused():
    with pytest.raises(DeviceError, match="HOTLINE_QA_DEVICE=cuda.*auto 或 cpu"):
        resolve_device("cuda", None, 0)
    with pytest.raises(DeviceError, match="auto, cpu or cuda"):
        resolve_device("gpu", None, 0)


def test_this_machine_and_the_environment(monkeypatch):
    monkeypatch.setenv("HOTLINE_QA_DEVICE", "cpu")
    monkeypatch.setenv("HOTLINE_QA_COMPUTE_TYPE", "float32")
    assert TranscribeSettings().resolved_device() == ("cpu", "float32")
    monkeypatch.delenv("HOTLINE_QA_DEVICE")
    monkeypatch.delenv("HOTLINE_QA_COMPUTE_TYPE")
    gpus = ctranslate2.get_cuda_device_count()
    assert TranscribeSettings().resolved_device() == (
        ("cuda", "float16") if gpus else ("cpu", "int8"))


@pytest.mark.skipif(ctranslate2.get_cuda_device_count() > 0, reason="this machine has a GPU")
def test_worker_with_cuda_on_a_machine_without_a_gpu_stops_with_the_reason(tmp_path):
    env = {**os.environ, "HOTLINE_QA_DEVICE": "cuda", "HOTLINE_QA_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "qa.cli", "worker"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "没有可用的 CUDA GPU" in out.stderr and "set it to auto or cpu" in out.stderr
