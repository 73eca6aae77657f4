"""Mono calls whose speaker separation is uncertain: the report is marked for review and fails
that depend on who spoke deduct nothing until a supervisor confirms them."""
from __future__ import annotations

import json

from classifiers.records import Classification
from qa.engine import analyze, speaker_review_reasons
from qa.records import Report, Transcript
from qa.rules import rule_classes


def _doc(truth_files, call_id: str) -> tuple[dict, Classification]:
    d = json.loads(next(p for p in truth_files if p.name.startswith(call_id)).read_text("utf-8"))
    lab = d["labels"]
    cls = Classification(lab["call_type"], 1.0, lab.get("complaint_type"),
                         1.0 if lab.get("complaint_type") else None)
    return {k: d[k] for k in ("call_id", "duration", "metadata", "utterances")}, cls


def test_uncertain_separation_holds_speaker_dependent_fails(truth_files) -> None:
    doc, cls = _doc(truth_files, "pub-019")  # GR01 (ring time) + SV01/SV03 (agent's words)
    sure = analyze(doc, classification=cls)
    assert "review_reasons" not in sure.extra
    sure_fails = {f.code: f for f in sure.rules if f.status == "fail"}
    assert "GR01" in sure_fails and len(sure_fails) >= 2
    assert any(f.deduction > 0 for c, f in sure_fails.items() if c != "GR01")

    unsure_doc = dict(doc, diagnostics={"needs_review": True, "speaker_separation": {
        "needs_review": True, "review_reasons": ["role confidence 0.55 < 0.8"]}})
    rep = analyze(unsure_doc, classification=cls)
    d = rep.to_dict()
    assert d["needs_review"] is True
    assert d["review_reasons"] == ["role confidence 0.55 < 0.8"]
    dependent = {r.code for r in rule_classes() if r.speaker_dependent}
    for f in rep.rules:
        if f.status != "fail":
            continue
        if f.code in dependent:
            assert f.needs_review and f.deduction == 0, f.code
            assert f.extra.get("review_reason") == "speaker_uncertain"
        else:  # GR01 comes from the ring time, not from who spoke
            assert f.deduction == sure_fails[f.code].deduction
    assert rep.finding("GR01").deduction > 0
    assert rep.score == 100 - rep.finding("GR01").deduction
    assert rep.score > sure.score
    # the same fails are found: only their weight waits for a person
    assert {f.code for f in rep.rules if f.status == "fail"} == set(sure_fails)
    # the flag survives the report JSON round trip
    assert Report.from_dict(json.loads(json.dumps(d))).extra["review_reasons"]


def test_speaker_review_reasons() -> None:
    t = Transcript.from_dict({"call_id": "x", "utterances": []})
    assert speaker_review_reasons(t) == []
    t.diagnostics = {"needs_review": False, "speaker_separation": {"review_reasons": []}}
    assert speaker_review_reasons(t) == []
    t.diagnostics = {"needs_review": True}
    assert "说话人" in speaker_review_reasons(t)[0] or "坐席" in speaker_review_reasons(t)[0]
    t.diagnostics = {"needs_review": True, "review_reasons": ["a"],
                     "speaker_separation": {"needs_review": True, "review_reasons": ["a", "b"]}}
    assert speaker_review_reasons(t) == ["a", "b"]
