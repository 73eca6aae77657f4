"""The scoring form: validation with exact messages, deductions, review routing, grades."""
from __future__ import annotations

import copy

import pytest
import yaml

from qa.records import Finding
from qa.scoring import DEFAULT_FORM_PATH, FormError, load_form, parse_form, score_findings
from qa.rules import CATALOGUE, red_line_codes


@pytest.fixture()
def form_dict() -> dict:
    return yaml.safe_load(DEFAULT_FORM_PATH.read_text(encoding="utf-8"))


def test_default_form_is_valid_and_complete() -> None:
    form = load_form()
    assert set(form.weights) == set(CATALOGUE)
    # the shipped form names no red lines: the rule classes marked red_line (RULES.md)
    assert form.red_lines == red_line_codes() == {"PO03", "PO04", "PO05", "PO06"}
    assert (form.grade_a, form.grade_b) == (90, 75)


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["weights"].pop("SV05"), "weights: missing rule code(s) SV05"),
    (lambda d: d["weights"].__setitem__("ZZ01", 3), "weights.ZZ01: unknown rule code"),
    (lambda d: d["weights"].__setitem__("GR01", "five"), "weights.GR01: must be a number"),
    (lambda d: d["weights"].__setitem__("GR01", -2), "weights.GR01: must be between 0 and 100"),
    (lambda d: d.__setitem__("red_lines", ["PO03", "XX"]), "red_lines: unknown rule code 'XX'"),
    (lambda d: d.__setitem__("review_confidence", 1.5), "review_confidence: must be between 0 and 1"),
    (lambda d: d.__setitem__("grades", {"A": 70, "B": 80}), "grades.A (70) must be above grades.B (80)"),
    (lambda d: d.__setitem__("grades", {"A": 90}), "'grades' must have exactly the thresholds A and B"),
    (lambda d: d.__setitem__("weight", {}), "unknown key 'weight'"),
])
def test_bad_form_rejected_naming_the_problem(form_dict, mutate, message) -> None:
    d = copy.deepcopy(form_dict)
    mutate(d)
    with pytest.raises(FormError) as err:
        parse_form(d)
    assert message in str(err.value)


def test_red_lines_default_to_the_rule_classes_and_a_form_replaces_them(form_dict) -> None:
    d = copy.deepcopy(form_dict)
    d.pop("red_lines", None)
    assert parse_form(d).red_lines == red_line_codes()
    d["red_lines"] = ["PO02", "PO04"]  # one added, three removed
    assert parse_form(d).red_lines == {"PO02", "PO04"}
    d["red_lines"] = []
    assert parse_form(d).red_lines == frozenset()


def test_bad_form_file(tmp_path) -> None:
    p = tmp_path / "form.yaml"
    p.write_text("weights: [", encoding="utf-8")
    with pytest.raises(FormError, match="not valid YAML"):
        load_form(p)
    with pytest.raises(FormError, match="not found"):
        load_form(tmp_path / "nope.yaml")


def test_deductions_and_review_routing() -> None:
    form = load_form()
    findings = [Finding("GR01", "fail", 0.95), Finding("PO03", "fail", 0.9),
                Finding("SV05", "fail", 0.5), Finding("SV04", "pass", 0.99),
                Finding("LI03", "n/a", 0.9)]
    s = score_findings(findings, form)
    assert s.score == 100 - 5 - 20
    assert s.red_line is True
    assert s.needs_review == ["SV05"]
    assert findings[2].needs_review and findings[2].deduction == 0
    assert findings[0].deduction == 5 and findings[3].deduction == 0


def test_low_confidence_red_line_is_not_a_red_line_until_reviewed() -> None:
    s = score_findings([Finding("PO06", "fail", 0.6)], load_form())
    assert s.red_line is False and s.score == 100 and s.needs_review == ["PO06"]


def test_score_floored_at_zero(form_dict) -> None:
    form_dict["weights"] = {c: 50 for c in CATALOGUE}
    form = parse_form(form_dict)
    s = score_findings([Finding("GR01", "fail", 1.0), Finding("GR02", "fail", 1.0),
                        Finding("GR03", "fail", 1.0)], form)
    assert s.score == 0


def test_grades() -> None:
    form = load_form()
    assert form.grade(95) == "A" and form.grade(90) == "A"
    assert form.grade(89.9) == "B" and form.grade(75) == "B"
    assert form.grade(74.9) == "C"
    assert form.grade(99, red_line=True) == "C"
