"""``hotline-qa transcribe`` / ``hotline-qa models`` through the real CLI group."""
from __future__ import annotations

import json

from click.testing import CliRunner

from qa.cli import main


def test_bad_audio_is_a_clear_error(qa_home, data_dir):
    r = CliRunner().invoke(main, ["transcribe", str(data_dir / "bad" / "text.wav")])
    assert r.exit_code == 1
    assert "不是音频文件" in r.output and "Traceback" not in r.output


def test_bad_model_dir_is_a_clear_error(qa_home, tmp_path, data_dir):
    r = CliRunner().invoke(main, ["transcribe", "--model", str(tmp_path),
                                  str(data_dir / "calls" / "pub-001.stereo.mp3")])
    assert r.exit_code == 1 and "model.bin" in r.output


def test_models_install_and_info(qa_home):
    r = CliRunner().invoke(main, ["models", "install"])
    assert r.exit_code == 0, r.output
    assert "145,217,532" in r.output
    r = CliRunner().invoke(main, ["models", "info"])
    info = json.loads(r.output)
    assert info["size"] == 145_217_532 and info["path"].startswith(str(qa_home))
