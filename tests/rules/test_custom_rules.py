"""Rule documents (qa.custom_rules): every operator and combination from the YAML cases in
tests/rules/custom/, the invalid documents and their messages, the engine running custom
rules and overrides, and three built-in rules re-expressed as documents giving the same
statuses on all 40 shared calls."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from qa.custom_rules import (CONDITIONS, RuleDocumentError, RuleSet, evaluate_document,
                             parse_document)
from qa.engine import analyze
from qa.scoring import FormError, load_form, parse_form
from tests.rules.test_cases import _transcript

HERE = Path(__file__).resolve().parent
CUSTOM = HERE / "custom"
EXAMPLES = HERE.parents[1] / "examples" / "rules"
TRUTH = HERE.parent / "data" / "truth"


def _cases():
    out = []
    for path in sorted(CUSTOM.glob("*.yaml")):
        if path.stem == "invalid":
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for i, case in enumerate(doc["cases"]):
            out.append(pytest.param(case.get("document", doc.get("document")), case,
                                    id=f"{path.stem}-{i}-{case['name']}"))
    return out


@pytest.mark.parametrize("document,case", _cases())
def test_case(document: dict, case: dict) -> None:
    doc = parse_document(document)
    c = case.get("classification") or {}
    finding = evaluate_document(doc, _transcript(case), call_type=c.get("call_type"),
                                complaint_type=c.get("complaint_type"))
    assert finding.code == doc.code
    assert finding.status == case["status"], (finding.message, finding.extra,
                                              [e.text for e in finding.evidence])
    assert 0.0 <= finding.confidence <= 1.0
    if finding.status == "fail":
        assert finding.message, "a fail carries a Chinese message"
        assert finding.evidence, "a fail carries evidence"


def test_every_operator_has_a_case() -> None:
    text = "".join(p.read_text("utf-8") for p in CUSTOM.glob("*.yaml") if p.stem != "invalid")
    used = {op for op in CONDITIONS if f"{op}:" in text}
    assert used == set(CONDITIONS)
    for key in ("first_seconds", "last_seconds", "first_turns", "last_turns",
                "opening_seconds", "exclude", "min_count", "match: exact", "any_utterance",
                "examples", "act:", "equals", "exists", "override"):
        assert key in text, key
    statuses = {c.values[1]["status"] for c in _cases()}
    assert statuses == {"pass", "fail", "n/a"}


def _invalid():
    doc = yaml.safe_load((CUSTOM / "invalid.yaml").read_text(encoding="utf-8"))
    return [pytest.param(c["document"], c["errors"], id=c["name"]) for c in doc["cases"]]


@pytest.mark.parametrize("document,errors", _invalid())
def test_invalid_document_names_every_mistake(document, errors) -> None:
    with pytest.raises(RuleDocumentError) as info:
        parse_document(document)
    got = info.value.errors
    for want in errors:
        assert any(want in e for e in got), f"{want!r} not in {got}"
    assert len(got) == len(errors), got      # nothing reported twice or spuriously
    for e in got:
        assert ": " in e and " / " in e, f"an error says where, in Chinese and English: {e}"


def test_yaml_text_and_mapping_give_the_same_document() -> None:
    text = (EXAMPLES / "X010-leak-hotline.yaml").read_text("utf-8")
    a, b = parse_document(text), parse_document(yaml.safe_load(text))
    assert a.code == b.code == "X010" and a.sha256 == b.sha256 and a.text == text
    assert a.weight == 5.0 and a.red_line is False and a.kind == "custom"


def _shared_calls() -> list[dict]:
    files = sorted(TRUTH.glob("*.truth.json"))
    assert len(files) == 40
    return [json.loads(p.read_text("utf-8")) for p in files]


def test_three_builtin_rules_re_expressed_give_the_same_statuses_on_the_shared_calls():
    pairs = {"CL01": "X901-farewell", "SV04": "X902-thanks-for-call",
             "GR03": "X903-offer-help"}
    docs = {c: parse_document((EXAMPLES / f"{n}.yaml").read_text("utf-8"))
            for c, n in pairs.items()}
    rs = RuleSet(docs.values())
    seen = {"pass": 0, "fail": 0}
    for call in _shared_calls():
        report = analyze(call, rule_set=rs, classifier=False)
        for code, doc in docs.items():
            builtin, custom = report.finding(code), report.finding(doc.code)
            assert custom.status == builtin.status, (call["call_id"], code)
            seen[builtin.status] = seen.get(builtin.status, 0) + 1
    assert seen["pass"] > 40 and seen["fail"] >= 3, seen   # both outcomes are exercised


def test_engine_runs_custom_rules_after_the_catalogue_and_scores_them():
    doc = parse_document({"code": "X020", "name": "禁用语“不归我管”", "red_line": True,
                          "weight": 7, "passes_when": {"not": {"phrase": {
                              "phrases": ["不归我管"]}}}})
    call = {"call_id": "c1", "utterances": [
        {"speaker": "agent", "start": 0, "end": 3, "text": "您好，阳光花园物业服务中心，请问有什么可以帮您？"},
        {"speaker": "customer", "start": 3, "end": 6, "text": "电梯坏了。"},
        {"speaker": "agent", "start": 6, "end": 9, "text": "这个不归我管，感谢您的来电，再见。"}]}
    plain = analyze(call, classifier=False)
    report = analyze(call, classifier=False, rule_set=RuleSet([doc]))
    codes = [f.code for f in report.rules]
    assert codes[:28] == [f.code for f in plain.rules] and codes[28:] == ["X020"]
    x = report.finding("X020")
    assert x.status == "fail" and x.deduction == 7 and "不归我管" in x.evidence[0].text
    assert report.red_line and not plain.red_line
    assert report.score == pytest.approx(plain.score - 7)


def test_the_form_weight_of_a_custom_code_wins_over_the_documents():
    form = load_form(None).to_dict()
    form["weights"]["X020"] = 2
    form["red_lines"] = [*form["red_lines"], "X020"]
    parsed = parse_form(form)
    assert parsed.weights["X020"] == 2 and "X020" in parsed.red_lines
    doc = parse_document({"code": "X020", "name": "试", "weight": 9,
                          "passes_when": {"phrase": {"phrases": ["不存在的话"]}}})
    merged = RuleSet([doc]).form(parsed)
    assert merged.weights["X020"] == 2
    with pytest.raises(FormError, match="weights.ZZ01: unknown rule code"):
        parse_form({**form, "weights": {**form["weights"], "ZZ01": 1}})


def test_an_override_changes_the_builtin_rule_in_the_engine():
    call = {"call_id": "c2", "utterances": [
        {"speaker": "agent", "start": 0, "end": 3, "text": "好的，多谢您打来，再见。"}]}
    doc = parse_document((EXAMPLES / "SV04-override.yaml").read_text("utf-8")
                         .replace("谢谢您打来电话", "多谢您打来"))
    assert analyze(call, classifier=False).finding("SV04").status == "fail"
    report = analyze(call, classifier=False, rule_set=RuleSet([doc]))
    assert report.finding("SV04").status == "pass"
    assert [f.code for f in report.rules][-1] == "CP04"   # an override adds no code


def test_one_active_document_per_code():
    doc = parse_document((EXAMPLES / "X010-leak-hotline.yaml").read_text("utf-8"))
    with pytest.raises(RuleDocumentError, match="同一编号只能有一个"):
        RuleSet([doc, doc])
