"""One runner for every rule's YAML cases (tests/rules/cases/<CODE>.yaml).

A case: ``status`` (expected), ``evidence`` (the text of the finding's first evidence: every
fail pins the words that show it), ``utterances`` as ``[speaker, start, end, text, level_dbfs?]``,
optional ``metadata``, ``diagnostics``, ``classification`` ({call_type, complaint_type}) and
``config`` (overrides of that rule's settings).
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from classifiers.records import Classification
from qa.configuration import ConfigError, load_config
from qa.engine import build_rules
from qa.matching import Matcher
from qa.records import Transcript, Utterance
from qa.rules import CATALOGUE, RuleContext, rule_class, rule_classes

CASES = Path(__file__).resolve().parent / "cases"


def _load():
    out = []
    for path in sorted(CASES.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for i, case in enumerate(doc["cases"]):
            out.append(pytest.param(doc["rule"], case, id=f"{doc['rule']}-{i}-{case['name']}"))
    return out


def _transcript(case: dict) -> Transcript:
    utts = []
    for row in case["utterances"]:
        speaker, start, end, text = row[:4]
        utts.append(Utterance(speaker, float(start), float(end), str(text),
                              level_dbfs=float(row[4]) if len(row) > 4 else None))
    utts.sort(key=lambda u: (u.start, u.end))
    return Transcript(utterances=utts, call_id="case", metadata=dict(case.get("metadata") or {}),
                      diagnostics=case.get("diagnostics"))


def _classification(case: dict) -> Classification | None:
    c = case.get("classification")
    if c is None:
        return None
    return Classification(call_type=c["call_type"], call_type_confidence=1.0,
                          complaint_type=c.get("complaint_type"),
                          complaint_confidence=1.0 if c.get("complaint_type") else None)


@pytest.mark.parametrize("code,case", _load())
def test_case(code: str, case: dict) -> None:
    config = {"rules": {code: case["config"]}} if case.get("config") else None
    rule = next(r for r in build_rules(config) if r.code == code)
    ctx = RuleContext(_transcript(case), _classification(case), Matcher())
    finding = rule.run(ctx)
    assert finding.code == code
    assert finding.status == case["status"], (finding.message, finding.extra)
    assert 0.0 <= finding.confidence <= 1.0
    if finding.status == "fail":
        assert finding.message, "a fail carries a Chinese message"
        assert finding.evidence, "a fail carries evidence"
        for e in finding.evidence:
            assert e.start <= e.end
        assert "evidence" in case, "a fail case pins the words that show it (evidence: …)"
    if "evidence" in case:
        assert finding.evidence and finding.evidence[0].text == case["evidence"], \
            [e.text for e in finding.evidence]


def test_every_rule_has_pass_fail_and_na_cases() -> None:
    for code in CATALOGUE:
        path = CASES / f"{code}.yaml"
        assert path.exists(), f"missing {path.name}"
        statuses = {c["status"] for c in yaml.safe_load(path.read_text("utf-8"))["cases"]}
        want = {"n/a"} if code == "CP01" else {"pass", "fail", "n/a"}
        assert want <= statuses, f"{code}: has {statuses}"


def test_catalogue_complete_and_documented() -> None:
    rules = rule_classes()
    assert [r.code for r in rules] == list(CATALOGUE)
    for r in rules:
        doc = r.doc()
        assert r.name and r.family, r.code
        assert "正例" in doc and "反例" in doc, f"{r.code} docstring needs 正例 and 反例"


@pytest.mark.parametrize("override,fragment", [
    ({"rules": {"XX99": {}}}, "rules.XX99: unknown rule code"),
    ({"rules": {"GR01": {"max_rings": 3}}}, "rules.GR01.max_rings: unknown setting"),
    ({"rules": {"GR01": {"max_ring_seconds": "fifteen"}}}, "rules.GR01.max_ring_seconds: expected a number"),
    ({"rules": {"GR02": {"greeting_phrases": []}}}, "rules.GR02.greeting_phrases: must not be empty"),
    ({"rules": {"GR02": {"greeting_phrases": [""]}}}, "rules.GR02.greeting_phrases[0]"),
    ({"rules": {"PO01": {"apology_phrases": ["@nope"]}}}, "unknown phrase list '@nope'"),
    ({"rules": {"VO01": {"min_dbfs": -35}}, "extra": 1}, "unknown section"),
    ({"rules": {"LI01": {"max_interruptions": -1}}}, "must not be negative"),
])
def test_improper_configuration_raises(override, fragment) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(override)
    assert fragment in str(err.value)


def test_configuration_file_errors(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [1, 2", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.yaml")


def test_rule_rejects_undeclared_settings() -> None:
    with pytest.raises(ValueError, match="unknown config"):
        rule_class("GR01")(max_ring_seconds=15, surprise=1)


def test_shared_phrase_lists_are_resolved() -> None:
    cfg = load_config({"phrases": {"apology": ["请多包涵"]}})
    assert cfg["PO01"]["apology_phrases"] == ("请多包涵",)
    assert "@apology" not in load_config()["PO01"]["apology_phrases"]
