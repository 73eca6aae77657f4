"""``hotline-qa rules test``: the rule studio's dry run from the command line, on transcript
files (their labels as verdicts) and on stored calls (SQLite and PostgreSQL, supervisors'
verdicts); an invalid document exits 2 listing every problem. ``hotline-qa rules`` still
lists the catalogue."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from models import session_scope
from qa.cli import main
from qa.rules import CATALOGUE
from rule_helpers import DATA, custom, seed_call, truth, uphold_fails

TRUTH = DATA / "truth"


def _agent_says(call_id: str, phrase: str) -> bool:
    return any(phrase in u["text"] for u in truth(call_id)["utterances"]
               if u["speaker"] == "agent")


@pytest.fixture()
def runner():
    return CliRunner()


def test_the_catalogue_is_still_listed(runner):
    res = runner.invoke(main, ["rules"])
    assert res.exit_code == 0, res.output
    assert [line.split()[0] for line in res.output.splitlines()] == list(CATALOGUE)


def test_files_and_folders_with_labels(runner, tmp_path):
    doc = tmp_path / "x001.yaml"
    doc.write_text(custom("X001", "稍等"), encoding="utf-8")
    res = runner.invoke(main, ["rules", "test", str(doc), "--calls", str(TRUTH),
                               "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    ids = sorted(p.name.split(".")[0] for p in TRUTH.glob("*.truth.json"))
    fails = {c for c in ids if not _agent_says(c, "稍等")}
    assert out["calls"] == len(ids) and out["source"] == "files"
    assert out["counts"] == {"pass": len(ids) - len(fails), "fail": len(fails), "n/a": 0}
    assert {i["call_id"] for i in out["items"] if i["status"] == "fail"} == fails
    assert out["verdicts"]["calls"] == 0 and out["precision"] is None  # X001 is not labelled
    # an override of a labelled rule: the labels are the verdicts; text output
    sv04 = tmp_path / "sv04.yaml"
    sv04.write_text("override: SV04\nsettings:\n  thanks_phrases: {add: [感谢您的耐心]}\n",
                    encoding="utf-8")
    files = [str(TRUTH / "pub-003.truth.json"), str(TRUTH / "pub-007.truth.json")]
    res = runner.invoke(main, ["rules", "test", str(sv04), "--calls", files[0],
                               "--calls", files[1]])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("规则 SV04") and "试运行 2 通" in lines[0]
    want = {c: truth(c)["labels"]["rules"]["SV04"] for c in ("pub-003", "pub-007")}
    for cid, status in want.items():
        row = next(line for line in lines if line.startswith(cid))
        assert ("不合格" if status == "fail" else "合格") in row
    assert lines[-1].startswith("对照 SV04 的标注（2 通）：准确率")


def test_an_invalid_document_exits_2_listing_every_problem(runner, tmp_path):
    from qa.custom_rules import RuleDocumentError, parse_document
    bad = "code: X1\nname: ''\nweight: 500\npasses_when: {phrase: {phrases: []}}\n"
    doc = tmp_path / "bad.yaml"
    doc.write_text(bad, encoding="utf-8")
    with pytest.raises(RuleDocumentError) as exc:
        parse_document(bad)
    assert len(exc.value.errors) >= 3
    res = runner.invoke(main, ["rules", "test", str(doc), "--calls", str(TRUTH)])
    assert res.exit_code == 2
    assert "规则文档有误 / invalid rule document" in res.output
    for e in exc.value.errors:
        assert f"  - {e}" in res.output
    assert runner.invoke(main, ["rules", "test", str(tmp_path / "none.yaml")]).exit_code == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    ok = tmp_path / "ok.yaml"
    ok.write_text(custom("X001", "稍等"), encoding="utf-8")
    res = runner.invoke(main, ["rules", "test", str(ok), "--calls", str(empty)])
    assert res.exit_code == 1 and "no transcript files" in res.output
    res = runner.invoke(main, ["rules", "test", str(ok), "--calls", str(TRUTH), "--last", "3"])
    assert res.exit_code == 2


def test_stored_calls_with_supervisors_verdicts(runner, tmp_path, db_url, monkeypatch):
    from qa.settings import Settings, get_settings
    monkeypatch.setenv("HOTLINE_QA_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    settings = Settings(home=tmp_path / "home", database_url=db_url)
    ids = ["pub-001", "pub-003", "pub-005", "pub-007"]
    with session_scope(db_url) as s:
        for cid in ids:
            seed_call(s, cid, settings)
        # the built-in SV04's fails, reviewed: upheld ones are true fails
        upheld = uphold_fails(s, "SV04")
    sv04 = tmp_path / "sv04.yaml"
    sv04.write_text("override: SV04\nsettings:\n  thanks_phrases: {add: [再见]}\n",
                    encoding="utf-8")
    res = runner.invoke(main, ["rules", "test", str(sv04), "--db", db_url, "--last", "3",
                               "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["calls"] == 3 and out["source"] == "stored"
    # the last three by start time
    newest = sorted(ids, key=lambda c: truth(c)["metadata"]["started_at"])[-3:]
    assert {i["call_id"] for i in out["items"]} == set(newest)
    got = {i["call_id"]: i for i in out["items"]}
    assert {c for c, i in got.items() if i["verdict"] == "fail"} == upheld & set(newest)
    tp = sum(1 for i in got.values() if i["verdict"] == "fail" and i["status"] == "fail")
    assert out["verdicts"]["true_fail"] == tp
    if upheld & set(newest):
        assert out["recall"] == round(tp / len(upheld & set(newest)), 4)
    # a date range, text output
    day = truth("pub-001")["metadata"]["started_at"][:10]
    res = runner.invoke(main, ["rules", "test", str(sv04), "--db", db_url, "--from", day,
                               "--to", day])
    assert res.exit_code == 0, res.output
    assert "试运行 1 通" in res.output.splitlines()[0] and "pub-001" in res.output
    res = runner.invoke(main, ["rules", "test", str(sv04), "--db", db_url,
                               "--from", "2026-12-01", "--to", "2026-11-01"])
    assert res.exit_code == 2 and "date_from" in res.output
    get_settings.cache_clear()
