"""``hotline-qa classify`` / ``train`` through the real command group."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from qa.cli import main


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_classify_transcript_prints_types_probabilities_and_cues(data_dir):
    r = run("classify", str(data_dir / "truth" / "pub-002.truth.json"))
    assert r.exit_code == 0, r.output
    assert "来电类型 call type: complaint 投诉" in r.output
    assert "投诉类型 complaint type: vent 纯粹发泄" in r.output
    assert "依据 cues:" in r.output and "愤怒" in r.output


def test_classify_json_and_text_only(data_dir):
    r = run("classify", "--json", "--text-only", str(data_dir / "truth" / "pub-014.truth.json"))
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["call_type"] == "complaint" and d["complaint_type"] == "expectation"
    assert d["source"] == "text"


def test_classify_bad_input_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{not json", "utf-8")
    r = run("classify", str(bad))
    assert r.exit_code == 1 and "不是有效的 JSON" in r.output
    wrong = tmp_path / "y.json"
    wrong.write_text(json.dumps({"utterances": [{"speaker": "boss", "start": 0, "end": 1}]}), "utf-8")
    r = run("classify", str(wrong))
    assert r.exit_code == 1 and "转写文件格式有误" in r.output
    txt = tmp_path / "z.txt"
    txt.write_text("hello", "utf-8")
    r = run("classify", str(txt))
    assert r.exit_code == 1 and "无法识别的文件类型" in r.output


def test_classify_missing_model_dir(tmp_path, data_dir):
    r = run("classify", "--model", str(tmp_path), str(data_dir / "truth" / "pub-002.truth.json"))
    assert r.exit_code == 1 and "找不到分类模型" in r.output


@pytest.mark.slow
@pytest.mark.asr
def test_classify_a_recording(data_dir):
    """Audio in: our transcriber runs first, the voice model uses its measurements."""
    r = run("classify", "--json", str(data_dir / "calls" / "pub-001.stereo.mp3"))
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["call_type"] in ("complaint", "repair", "inquiry", "suggestion", "other")
    assert d["cues"]
