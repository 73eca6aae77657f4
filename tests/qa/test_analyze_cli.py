"""The ``analyze`` and ``rules`` commands and the file pipeline."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from qa.cli import main
from qa.pipeline import InputError, analyze_file, sidecar_path
from qa.rules import CATALOGUE


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture()
def call_json(tmp_path, data_dir):
    src = data_dir / "truth" / "pub-012.truth.json"
    dst = tmp_path / "pub-012.json"
    shutil.copy(src, dst)
    return dst


def test_analyze_json_output_is_the_report(runner, call_json) -> None:
    res = runner.invoke(main, ["analyze", str(call_json), "--no-classifier"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert [r["code"] for r in out["rules"]] == list(CATALOGUE)
    assert out["call_id"] == "pub-012"
    assert out["red_line"] is True
    assert {r["code"] for r in out["rules"] if r["status"] == "fail"} >= {"PO02", "PO03"}
    assert out["transcript"]["utterances"]


def test_analyze_text_summary(runner, call_json) -> None:
    res = runner.invoke(main, ["analyze", str(call_json), "--format", "text", "--no-classifier"])
    assert res.exit_code == 0, res.output
    assert "得分" in res.output and "红线" in res.output
    assert "PO03" in res.output and "00:36" in res.output     # time of the evidence


def test_meta_option_and_sidecar(runner, call_json, tmp_path) -> None:
    meta = tmp_path / "m.json"
    meta.write_text(json.dumps({"ring_seconds": 30}), encoding="utf-8")
    res = runner.invoke(main, ["analyze", str(call_json), "--meta", str(meta), "--no-classifier"])
    gr01 = next(r for r in json.loads(res.output)["rules"] if r["code"] == "GR01")
    assert gr01["status"] == "fail"
    sidecar_path(call_json).write_text(json.dumps({"hangup_by": "agent"}), encoding="utf-8")
    rep = analyze_file(call_json, classifier=False)
    assert rep.finding("CL02").status == "fail"
    assert rep.transcript.metadata["caller_number"] == "18962157034"   # kept


def test_custom_form_changes_the_score(runner, call_json, tmp_path) -> None:
    from qa.scoring import DEFAULT_FORM_PATH
    import yaml
    form = yaml.safe_load(DEFAULT_FORM_PATH.read_text(encoding="utf-8"))
    form["weights"] = {c: 0 for c in CATALOGUE}
    p = tmp_path / "zero.yaml"
    p.write_text(yaml.safe_dump(form, allow_unicode=True), encoding="utf-8")
    res = runner.invoke(main, ["analyze", str(call_json), "--form", str(p), "--no-classifier"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["score"] == 100


def test_bad_form_is_a_clear_error(runner, call_json, tmp_path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("weights: {GR01: 5}\nred_lines: []\nreview_confidence: 0.7\n"
                 "grades: {A: 90, B: 75}\n", encoding="utf-8")
    res = runner.invoke(main, ["analyze", str(call_json), "--form", str(p)])
    assert res.exit_code == 1
    assert "评分表有误" in res.output and "missing rule code(s) GR02" in res.output


def test_bad_config_is_a_clear_error(runner, call_json, tmp_path) -> None:
    p = tmp_path / "rules.yaml"
    p.write_text("rules:\n  GR01:\n    max_ring_seconds: soon\n", encoding="utf-8")
    res = runner.invoke(main, ["analyze", str(call_json), "--config", str(p)])
    assert res.exit_code == 1
    assert "规则配置有误" in res.output and "rules.GR01.max_ring_seconds" in res.output


@pytest.mark.parametrize("content,fragment", [
    ("{not json", "not valid JSON"),
    ('{"utterances": [{"speaker": "boss", "start": 0, "end": 1, "text": "x"}]}', "speaker"),
    ("[1, 2]", "not a transcript document"),
])
def test_bad_transcript_is_a_clear_error(runner, tmp_path, content, fragment) -> None:
    p = tmp_path / "t.json"
    p.write_text(content, encoding="utf-8")
    res = runner.invoke(main, ["analyze", str(p)])
    assert res.exit_code == 1
    assert fragment in res.output
    assert "Traceback" not in res.output


def test_missing_input(runner, tmp_path) -> None:
    res = runner.invoke(main, ["analyze", str(tmp_path / "nope.mp3")])
    assert res.exit_code == 1 and "文件不存在" in res.output
    with pytest.raises(InputError):
        analyze_file(tmp_path)


def test_not_audio_is_a_clear_error(runner, tmp_path) -> None:
    p = tmp_path / "x.mp3"
    p.write_bytes(b"this is not audio at all" * 10)
    res = runner.invoke(main, ["analyze", str(p)])
    assert res.exit_code == 1
    assert "Traceback" not in res.output


def test_rules_listing_and_markdown(runner, tmp_path) -> None:
    res = runner.invoke(main, ["rules"])
    assert res.exit_code == 0
    lines = res.output.strip().splitlines()
    assert [ln.split()[0] for ln in lines] == list(CATALOGUE)
    assert sum("红线" in ln for ln in lines) == 4
    out = tmp_path / "rules.md"
    res = runner.invoke(main, ["rules", "--markdown", "-o", str(out)])
    assert res.exit_code == 0, res.output
    page = out.read_text(encoding="utf-8")
    for code in CATALOGUE:
        assert f"## {code} " in page
    assert page.count("正例") >= 28 and page.count("反例") >= 28


def test_docs_catalogue_is_up_to_date() -> None:
    from pathlib import Path
    from qa.analyze_cli import catalogue_markdown
    page = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
    assert page.read_text(encoding="utf-8") == catalogue_markdown(), \
        "regenerate with: hotline-qa rules --markdown"


@pytest.mark.slow
@pytest.mark.asr
def test_analyze_stereo_recording_end_to_end(runner, data_dir) -> None:
    audio = data_dir / "calls" / "pub-003.stereo.wav"
    res = runner.invoke(main, ["analyze", str(audio), "--no-classifier"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["call_id"] == "pub-003"
    assert out["transcript"]["metadata"]["hangup_by"] == "agent"     # from the sidecar
    st = {r["code"]: r["status"] for r in out["rules"]}
    assert st["GR01"] == "pass" and st["CL02"] == "fail"
    assert st["GR02"] == "pass"
    assert out["transcript"]["utterances"][0]["speaker"] == "agent"
