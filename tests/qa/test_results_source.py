"""One source of truth for stored results (issue #19).

* The Finding rows (with their review state) and the Score rows are what is read after
  storing; ``Call.report`` is the machine's immutable snapshot: ``hotline-qa calls show`` and
  re-scoring do not read current state from it.
* The active scoring form is the only source of red lines, at store and at re-score time: an
  admin's form can add a red line and remove one; the shipped form's red lines are the rule
  classes' ``red_line`` attribute.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from click.testing import CliRunner

from models import Agent, Call, Finding, ScoringForm, User, session_scope
from qa.assessment_store import default_form, recompute, rescore
from qa.records import Finding as RuleFinding
from qa.records import Report, Transcript
from qa.results import store_report
from qa.scoring import load_form, score_findings
from qa.settings import get_settings

MONTH = "2026-11"
AGENT = "A9001"


def _form_yaml(red_lines: list[str], version: int) -> str:
    d = {**default_form().to_dict(), "red_lines": red_lines, "version": version,
         "name": f"红线测试 v{version}"}
    return yaml.safe_dump(d, allow_unicode=True, sort_keys=False)


def _activate(s, red_lines: list[str], version: int):
    """Make a form with these red lines the active one (the newest active row wins)."""
    text = _form_yaml(red_lines, version)
    s.add(ScoringForm(name=f"红线测试 v{version}", version=version, yaml_text=text,
                      sha256=f"{version:064d}", active=True))
    s.flush()
    return load_form(yaml.safe_load(text))


def _report(call_id: str, form, fails: dict[str, float]) -> Report:
    """A report whose listed codes fail with these confidences (every other code passes),
    scored by ``form`` as :func:`qa.engine.analyze` would."""
    findings = [RuleFinding(code, "fail" if code in fails else "pass", fails.get(code, 0.99),
                            message=f"{code} 不合格" if code in fails else None)
                for code in default_form().weights]
    sc = score_findings(findings, form)
    tr = Transcript.from_dict({
        "call_id": call_id, "duration": 30.0,
        "metadata": {"agent_id": AGENT, "started_at": "2026-11-12T10:00:00+08:00"},
        "utterances": [{"speaker": "agent", "start": 0.0, "end": 2.0, "text": "您好"},
                       {"speaker": "customer", "start": 2.5, "end": 4.0, "text": "问一下"}]})
    return Report(call_id=call_id, score=round(sc.score, 1), red_line=sc.red_line,
                  rules=findings, transcript=tr,
                  extra={"score_breakdown": sc.breakdown,
                         "form": {"name": form.name, "version": form.version}})


def _new_call(s, call_id: str) -> Call:
    if s.get(Agent, AGENT) is None:
        s.add(Agent(id=AGENT, name="测试坐席"))
    call = Call(id=call_id, content_sha256=call_id.ljust(64, "0")[:64],
                source_path=f"/in/{call_id}.json", filename=f"{call_id}.json",
                media_type="transcript")
    s.add(call)
    s.flush()
    return call


def _red(s, call_id: str) -> dict[str, bool]:
    return {f.code: f.red_line for f in s.query(Finding).filter_by(call_id=call_id, status="fail")}


def _close_window(s, call: Call) -> None:
    """The appeal window closed: unreviewed red-line fails are confirmed."""
    call.result_available_at = datetime.now(timezone.utc) - timedelta(days=60)
    s.flush()


# --- 1. the rows, not the report JSON --------------------------------------------------------

def test_calls_show_reads_the_finding_rows_and_their_review(db_url, qa_home):
    from qa.calls import calls_cmd
    settings = get_settings()
    with session_scope(db_url) as s:
        call = _new_call(s, "c-show")
        store_report(s, call, _report("c-show", default_form(), {"PO03": 0.95, "GR02": 0.9}),
                     {})
        assert call.score == 75.0
        po03 = s.query(Finding).filter_by(call_id="c-show", code="PO03").one()
        po03.review_state = "overturned"  # a supervisor overturned the red-line fail
        rescore(s, call, settings, "review:PO03:overturned")
        assert call.score == 95.0
    runner = CliRunner()
    out = runner.invoke(calls_cmd, ["show", "c-show", "--db", db_url])
    assert out.exit_code == 0, out.output
    lines = {ln.split()[1]: ln for ln in out.output.splitlines()
             if ln.strip() and ln.strip()[0] in "✗○"}
    assert "-5" in lines["GR02"]
    assert "-20" not in lines["PO03"] and "已推翻" in lines["PO03"]
    assert "95.0" in out.output and "红线 red line: 否" in out.output
    out = runner.invoke(calls_cmd, ["show", "c-show", "--db", db_url, "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    by = {f["code"]: f for f in doc["findings"]}
    assert by["PO03"]["review_state"] == "overturned" and by["PO03"]["deduction"] == 0
    assert by["PO03"]["machine_deduction"] == 20 and by["GR02"]["deduction"] == 5
    assert doc["score"] == 95.0 and doc["machine_score"] == 75.0
    # the machine's report is exported unchanged (the snapshot)
    assert next(f for f in doc["report"]["rules"] if f["code"] == "PO03")["deduction"] == 20


def test_rescore_takes_the_machine_score_from_the_analysis_row(db_url, qa_home):
    settings = get_settings()
    with session_scope(db_url) as s:
        call = _new_call(s, "c-machine")
        store_report(s, call, _report("c-machine", default_form(), {"GR02": 0.9, "SV04": 0.9}),
                     {})
        assert call.score == 92.0
        # the report JSON is a snapshot: nothing that computes current state reads it
        call.report = {**call.report, "score": 10.0}
        f = s.query(Finding).filter_by(call_id="c-machine", code="GR02").one()
        f.review_state = "overturned"
        assert rescore(s, call, settings, "review:GR02:overturned") == 97.0
        f.review_state = "upheld"
        assert rescore(s, call, settings, "review:GR02:upheld") == 92.0
        # a re-analysis stores a new machine score; re-scoring starts from that one
        sv04 = s.query(Finding).filter_by(call_id="c-machine", code="SV04").one()
        sv04.review_state = "overturned"
        store_report(s, call, _report("c-machine", default_form(),
                                      {"GR02": 0.9, "SV04": 0.9, "CL01": 0.9}), {},
                     keep_reviews=True)
        assert call.score == 89.0 + 3  # SV04's overturn is kept
        call.report = None
        assert rescore(s, call, settings, "again") == 92.0


# --- 2. the active form is the only source of red lines --------------------------------------

def test_shipped_red_lines_are_the_rule_classes_attribute():
    from qa.assessment import Grading
    from qa.rules import red_line_codes, rule_classes
    marked = frozenset(r.code for r in rule_classes() if r.red_line)
    assert red_line_codes() == marked == default_form().red_lines
    assert Grading().red_line_codes == marked == Grading.from_form(None).red_line_codes


def test_active_form_adds_and_removes_red_lines_at_store_and_rescore(db_url, qa_home):
    from api.services.calls import detail, review_queue
    settings = get_settings()
    with session_scope(db_url) as s:
        sup = User(username="sup", password_hash="x", role="supervisor")
        s.add(sup)
        # PO02 (称呼用“您”) becomes a red line, PO03 (言语冲突) no longer is one
        form = _activate(s, ["PO02", "PO04", "PO05", "PO06"], 2)
        call = _new_call(s, "c-red")
        store_report(s, call, _report("c-red", form, {"PO02": 0.95, "PO03": 0.95,
                                                       "GR02": 0.9}), {})
        assert call.score == 100 - 3 - 20 - 5
        assert _red(s, "c-red") == {"PO02": True, "PO03": False, "GR02": False}
        assert call.red_line is True
        d = detail(s, sup, "c-red", settings)
        shown = {f["code"]: f["red_line"] for f in d["findings"] if f["status"] == "fail"}
        assert shown == {"PO02": True, "PO03": False, "GR02": False}
        queue = [q for q in review_queue(s, settings) if q["call"]["id"] == "c-red"]
        assert queue and queue[0]["reason"] == "red_line"
        assert {f.code for f in s.query(Finding).filter(
            Finding.id.in_(queue[0]["finding_ids"]))} == {"PO02"}
        _close_window(s, call)
        a = recompute(s, AGENT, MONTH, settings=settings)
        assert [(r.code, r.state) for r in a.red_lines] == [("PO02", "confirmed")]
        assert a.grade == "C"

        # the admin activates a form where only PO03 is a red line; a review re-scores
        _activate(s, ["PO03"], 3)
        gr02 = s.query(Finding).filter_by(call_id="c-red", code="GR02").one()
        gr02.review_state = "upheld"
        rescore(s, call, settings, "review:GR02:upheld")
        assert _red(s, "c-red") == {"PO02": False, "PO03": True, "GR02": False}
        assert call.red_line is True
        a = recompute(s, AGENT, MONTH, settings=settings)
        assert [(r.code, r.state) for r in a.red_lines] == [("PO03", "confirmed")]
        assert a.grade == "C"

        # a form with no red lines at all: none (not the shipped ones)
        _activate(s, [], 4)
        rescore(s, call, settings, "review:GR02:upheld")
        assert _red(s, "c-red") == {"PO02": False, "PO03": False, "GR02": False}
        assert call.red_line is False
        a = recompute(s, AGENT, MONTH, settings=settings)
        assert a.red_lines == [] and a.grade == a.grade_by_score == "C"  # 72 < 75

        # stored again (a fresh analysis) under the form without red lines
        store_report(s, call, _report("c-red", load_form(yaml.safe_load(_form_yaml([], 5))),
                                      {"PO02": 0.95, "PO03": 0.95}), {})
        assert _red(s, "c-red") == {"PO02": False, "PO03": False}
        assert call.red_line is False and call.score == 77.0
        _close_window(s, call)
        a = recompute(s, AGENT, MONTH, settings=settings)
        assert a.red_lines == [] and a.grade == "B"


@pytest.mark.parametrize("red_lines", [["PO03"], []])
def test_grading_follows_the_form_even_when_it_lists_no_red_line(red_lines):
    from qa.assessment import Grading
    form = load_form(yaml.safe_load(_form_yaml(red_lines, 9)))
    assert Grading.from_form(form).red_line_codes == frozenset(red_lines)


def test_activating_a_form_restamps_the_stored_calls_but_not_a_closed_month(db_url, qa_home):
    """The call list's red-line flag and filter read ``Call.red_line``: a new form re-stamps
    it (and the findings') on the stored calls, an overturned fail stays no red line, and a
    closed month keeps what it was judged with."""
    from models import MonthlyAssessment
    from qa.assessment_store import restamp_red_lines
    settings = get_settings()
    with session_scope(db_url) as s:
        form = _activate(s, ["PO03"], 2)
        for cid in ("c-open", "c-over"):
            store_report(s, _new_call(s, cid), _report(cid, form, {"PO02": 0.95, "PO03": 0.95}),
                         {})
        over = s.query(Finding).filter_by(call_id="c-over", code="PO02").one()
        over.review_state = "overturned"
        old = _new_call(s, "c-old")
        store_report(s, old, _report("c-old", form, {"PO02": 0.95}), {})
        old.started_at = datetime(2026, 10, 5, 2, 0, tzinfo=timezone.utc)
        s.add(MonthlyAssessment(agent_id=AGENT, month="2026-10", closed=True, figures={}))
        for c in ("c-open", "c-over", "c-old"):
            s.get(Call, c).status = "done"
        s.flush()
        assert [s.get(Call, c).red_line for c in ("c-open", "c-over", "c-old")] == [
            True, True, False]

        _activate(s, ["PO02"], 3)  # PO02 a red line, PO03 no longer
        assert restamp_red_lines(s, settings) == 2
        assert _red(s, "c-open") == {"PO02": True, "PO03": False}
        assert s.get(Call, "c-open").red_line is True
        assert _red(s, "c-over") == {"PO02": True, "PO03": False}
        assert s.get(Call, "c-over").red_line is False  # its PO02 was overturned
        assert _red(s, "c-old") == {"PO02": False} and s.get(Call, "c-old").red_line is False

        _activate(s, [], 4)
        restamp_red_lines(s, settings)
        assert s.get(Call, "c-open").red_line is False and _red(s, "c-open") == {
            "PO02": False, "PO03": False}
