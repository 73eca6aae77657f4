"""Monthly assessment: A/B/C by average, red lines pending/confirmed/overturned, fail rates."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from qa.assessment import (CallOutcome, FindingOutcome, Grading, assess_all, assess_month,
                           iso_week_range, parse_month, team_summaries)

NOW = datetime(2026, 12, 20, tzinfo=timezone.utc)


def call(cid, score, *findings, agent="A1", day=5, available=None, team="一班"):
    started = datetime(2026, 11, day, 10, 0)
    return CallOutcome(call_id=cid, agent_id=agent, started_at=started, score=score,
                       findings=list(findings), team=team,
                       result_available_at=available or datetime(2026, 11, day, 11,
                                                                 tzinfo=timezone.utc))


def test_grade_by_average_thresholds():
    calls = [call("c1", 95), call("c2", 85)]
    a = assess_month("A1", "2026-11", calls, now=NOW)
    assert (a.calls, a.average_score, a.grade) == (2, 90.0, "A")
    assert assess_month("A1", "2026-11", [call("c1", 80)], now=NOW).grade == "B"
    assert assess_month("A1", "2026-11", [call("c1", 74.9)], now=NOW).grade == "C"
    custom = Grading(thresholds={"A": 95, "B": 60})
    assert assess_month("A1", "2026-11", [call("c1", 80)], grading=custom, now=NOW).grade == "B"
    assert assess_month("A1", "2026-11", [call("c1", 90)], grading=custom, now=NOW).grade == "B"


def test_other_agents_and_months_are_ignored():
    calls = [call("c1", 60), call("c2", 100, agent="A2"),
             CallOutcome("c3", "A1", datetime(2026, 10, 31, 23, 59), 10)]
    a = assess_month("A1", "2026-11", calls, now=NOW)
    assert a.calls == 1 and a.average_score == 60
    assert assess_month("A9", "2026-11", calls, now=NOW).grade is None


def test_upheld_red_line_forces_c_and_overturn_restores():
    f = FindingOutcome("PO03", "fail", deduction=20)
    calls = [call("c1", 80, f), call("c2", 100)]
    # window still open, not reviewed: pending, grade by score
    early = datetime(2026, 11, 6, tzinfo=timezone.utc)
    a = assess_month("A1", "2026-11", calls, now=early)
    assert a.red_lines_pending == 1 and a.grade == "A" and "待复核" in a.outlook
    f.review_state = "upheld"
    a = assess_month("A1", "2026-11", calls, now=early)
    assert a.red_lines_confirmed == 1 and a.grade == "C" and a.grade_by_score == "A"
    f.review_state = "overturned"
    a = assess_month("A1", "2026-11", calls, now=early)
    assert a.red_lines_overturned == 1 and a.grade == "A"
    assert a.average_score == 100  # the overturned deduction is given back


def test_window_closing_confirms_unless_appeal_accepted_or_open():
    f = FindingOutcome("PO06", "fail", deduction=20)
    calls = [call("c1", 100, f, available=datetime(2026, 11, 5, tzinfo=timezone.utc))]
    before = datetime(2026, 11, 11, tzinfo=timezone.utc)
    after = datetime(2026, 11, 13, tzinfo=timezone.utc)
    assert assess_month("A1", "2026-11", calls, now=before).grade == "A"
    assert assess_month("A1", "2026-11", calls, now=after).grade == "C"
    f.appeal_state = "open"
    assert assess_month("A1", "2026-11", calls, now=after).red_lines_pending == 1
    f.appeal_state = "rejected"
    assert assess_month("A1", "2026-11", calls, now=after).grade == "C"
    f.appeal_state = "accepted"
    a = assess_month("A1", "2026-11", calls, now=after)
    assert a.grade == "A" and a.red_lines_overturned == 1
    # closing the month closes the window even before 7 days
    f.appeal_state = None
    assert assess_month("A1", "2026-11", calls, now=before, closed=True).grade == "C"


def test_non_red_line_fail_does_not_force_c():
    f = FindingOutcome("PO01", "fail", deduction=5, review_state="upheld")
    a = assess_month("A1", "2026-11", [call("c1", 95, f)], now=NOW)
    assert a.grade == "A" and not a.red_lines


def test_low_confidence_fail_deducts_only_when_upheld():
    f = FindingOutcome("SV04", "fail", deduction=0, needs_review=True)
    g = Grading(weights={"SV04": 8})
    calls = [call("c1", 95, f)]
    assert assess_month("A1", "2026-11", calls, grading=g, now=NOW).average_score == 95
    f.review_state = "upheld"
    assert assess_month("A1", "2026-11", calls, grading=g, now=NOW).average_score == 87
    assert assess_month("A1", "2026-11", calls, grading=g, now=NOW).pending_reviews == 0


def test_fail_rates_use_effective_status():
    calls = [call("c1", 90, FindingOutcome("GR02", "fail", 5)),
             call("c2", 90, FindingOutcome("GR02", "fail", 5, review_state="overturned")),
             call("c3", 90, FindingOutcome("GR02", "pass")),
             call("c4", 90, FindingOutcome("GR02", "n/a"))]
    rates = assess_month("A1", "2026-11", calls, now=NOW).fail_rates
    assert rates["GR02"] == {"applicable": 3, "failed": 1, "rate": pytest.approx(0.3333)}


def test_assess_all_and_teams():
    calls = [call("c1", 95), call("c2", 70, agent="A2"), call("c3", 80, agent="A3", team="二班")]
    out = assess_all("2026-11", calls, now=NOW)
    assert [a.agent_id for a in out] == ["A1", "A2", "A3"]
    teams = {t.team: t for t in team_summaries(out)}
    assert teams["一班"].grades == {"A": 1, "B": 0, "C": 1}
    assert teams["一班"].average_score == 82.5


def test_grading_from_form_dict():
    g = Grading.from_form({"red_line_codes": ["PO03"], "grade_thresholds": {"A": 92, "B": 80},
                           "weights": {"GR02": 5}})
    assert g.red_line_codes == frozenset({"PO03"}) and g.grade(91) == "B"
    assert g.weights == {"GR02": 5.0}


@pytest.mark.parametrize("bad", ["2026-13", "2026/11", "", "26-11"])
def test_bad_month(bad):
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_month(bad)


def test_iso_week():
    monday, nxt = iso_week_range("2026-W47")
    assert monday.isoweekday() == 1 and (nxt - monday).days == 7
    with pytest.raises(ValueError, match="YYYY-Www"):
        iso_week_range("2026-47")


def test_grading_from_shipped_scoring_form():
    from qa.scoring import load_form
    form = load_form()
    g = Grading.from_form(form)
    assert g.thresholds == {"A": form.grade_a, "B": form.grade_b}
    assert g.red_line_codes == form.red_lines and g.weights
