"""Whole-call tests on the 40 scripted calls' true transcripts (tests/data/truth)."""
from __future__ import annotations

import json

import pytest

from classifiers.records import Classification
from qa.engine import analyze
from qa.records import Report, Transcript
from qa.rules import CATALOGUE, red_line_codes

RED = tuple(sorted(red_line_codes()))  # the rule classes marked red_line (the shipped form's)


def _oracle(labels: dict) -> Classification:
    return Classification(call_type=labels["call_type"], call_type_confidence=1.0,
                          complaint_type=labels.get("complaint_type"),
                          complaint_confidence=1.0 if labels.get("complaint_type") else None)


@pytest.fixture(scope="module")
def results(truth_files):
    out = []
    for p in truth_files:
        d = json.loads(p.read_text(encoding="utf-8"))
        rep = analyze(Transcript.from_dict(d), classification=_oracle(d["labels"]))
        out.append((d, rep))
    return out


def _agreement(items) -> float:
    agree = total = 0
    for d, rep in items:
        for f in rep.rules:
            if f.code == "CP01":      # provided by the classifier, not by the rules
                continue
            total += 1
            agree += f.status == d["labels"]["rules"][f.code]
    return agree / total


def test_forty_calls_present(results) -> None:
    assert len(results) == 40


@pytest.mark.parametrize("part", ["tune", "measure"])
def test_agreement_with_labels(results, part) -> None:
    items = [(d, r) for d, r in results
             if (int(d["call_id"][4:]) <= 20) == (part == "tune")]
    assert _agreement(items) >= 0.95


def test_red_lines_all_caught_without_false_alarms(results) -> None:
    for d, rep in results:
        want_red = d["labels"]["red_line"]
        got = {f.code: f.status for f in rep.rules}
        for code in RED:
            if d["labels"]["rules"][code] == "fail":
                assert got[code] == "fail", f"{d['call_id']} {code} missed"
            else:
                assert got[code] != "fail", f"{d['call_id']} {code} false alarm"
        assert rep.red_line == want_red, d["call_id"]


def test_mean_fail_recall(results) -> None:
    tp, n = {}, {}
    for d, rep in results:
        got = {f.code: f.status for f in rep.rules}
        for code, want in d["labels"]["rules"].items():
            if want == "fail" and code != "CP01":
                n[code] = n.get(code, 0) + 1
                tp[code] = tp.get(code, 0) + (got[code] == "fail")
    recalls = [tp[c] / n[c] for c in n]
    assert sum(recalls) / len(recalls) >= 0.85


def test_report_shape_matches_rules_md(results) -> None:
    d, rep = results[6]                      # pub-007: red line
    out = rep.to_dict()
    assert [r["code"] for r in out["rules"]] == list(CATALOGUE)
    for r in out["rules"]:
        assert r["status"] in ("pass", "fail", "n/a")
        assert 0 <= r["confidence"] <= 1
        assert "deduction" in r and "evidence" in r
        if r["status"] == "fail":
            assert r["message"] and r["evidence"]
            for e in r["evidence"]:
                assert set(e) == {"speaker", "start", "end", "text"}
    assert out["call_id"] == "pub-007" and out["red_line"] is True
    assert out["call_type"] == "complaint" and out["complaint_type"] == "vent"
    assert out["transcript"]["utterances"][0]["text"].startswith("您好")
    # JSON round trip
    again = Report.from_dict(json.loads(json.dumps(out, ensure_ascii=False)))
    assert again.to_dict() == out


def test_evidence_points_at_the_words(results) -> None:
    d, rep = results[6]
    po06 = rep.finding("PO06")
    phone = next(e for e in po06.evidence if "幺三九" in e.text)
    utt = next(u for u in rep.transcript.utterances if phone.text in u.text)
    assert utt.start <= phone.start < phone.end <= utt.end
    assert phone.text != utt.text          # the span, not the whole utterance


def test_score_is_100_minus_deductions(results) -> None:
    for _d, rep in results:
        deducted = sum(f.deduction for f in rep.rules)
        assert rep.score == max(0.0, 100.0 - deducted)
        for f in rep.rules:
            assert (f.deduction > 0) == (f.status == "fail" and not f.needs_review) or \
                f.deduction == 0


def test_without_classification_complaint_rules_are_na_with_note(truth_files) -> None:
    d = json.loads(truth_files[1].read_text(encoding="utf-8"))     # pub-002, complaint
    rep = analyze(Transcript.from_dict(d), classifier=False)
    assert rep.call_type is None
    for code in ("CP03", "CP04"):
        f = rep.finding(code)
        assert f.status == "n/a" and f.extra.get("note")
    # SV02 still works from the words
    assert rep.finding("SV02").status == "pass"


def test_unknown_speakers_give_na_not_guesses(truth_files) -> None:
    d = json.loads(truth_files[6].read_text(encoding="utf-8"))     # pub-007
    for u in d["utterances"]:
        u["speaker"] = "unknown"
    rep = analyze(Transcript.from_dict(d), classifier=False)
    for f in rep.rules:
        if f.code in ("GR01", "CL02"):
            continue                        # metadata-based
        assert f.status == "n/a", f.code
    assert rep.finding("GR01").status == "pass"
    assert rep.red_line is False


def test_asr_confidence_lowers_confidence_and_routes_to_review(truth_files) -> None:
    d = json.loads(truth_files[11].read_text(encoding="utf-8"))    # pub-012: PO02 fail
    clean = analyze(Transcript.from_dict(d), classification=_oracle(d["labels"]))
    for u in d["utterances"]:
        u["confidence"] = 0.4
    noisy = analyze(Transcript.from_dict(d), classification=_oracle(d["labels"]))
    assert noisy.finding("PO02").status == "fail"
    assert noisy.finding("PO02").confidence < clean.finding("PO02").confidence
    assert noisy.finding("PO02").needs_review and noisy.finding("PO02").deduction == 0
    assert noisy.score > clean.score
