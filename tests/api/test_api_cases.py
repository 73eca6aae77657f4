"""Complaint and repair cases through the API: opened from the stored calls with the standards'
deadlines and the agent's dated promise, overdue once the time has passed, call-back and
resolution recorded by a supervisor (audited), the working calendar, who may see what."""
from __future__ import annotations

from datetime import datetime, timezone


def test_a_repair_call_opens_a_case_with_deadlines_and_the_promise(sup, agent1, agent2, db):
    detail = sup.get("/api/v1/calls/pub-001").json()
    case = detail["case"]
    assert case and case["kind"] == "repair" and case["room"] == "9栋2单元1002"
    assert case["caller_number"] == "13916247735" and case["agent_id"] == "A1001"
    due = {d["name"]: d["due_at"][:10] for d in case["deadlines"]}
    assert due == {"survey": "2026-11-03", "fix": "2026-11-05"}  # Monday 08:47: 1 and 3 wd
    assert case["overdue"]  # it is later than that now, and the case is open
    promise = case["promises"][0]
    assert "十点半" in promise["text"] and promise["due_at"].startswith("2026-11-02T10:30")
    assert promise["state"] == "broken" and case["broken_promises"] == 1
    # the agent of the call sees the case; another agent does not
    assert agent1.get(f"/api/v1/cases/{case['id']}").status_code == 200
    assert agent2.get(f"/api/v1/cases/{case['id']}").status_code == 404
    listed = {c["id"] for c in sup.get("/api/v1/cases", params={"overdue": "true"}).json()}
    assert case["id"] in listed
    inquiries = {c["id"] for c in sup.get("/api/v1/cases").json()}
    from models import Call, Case
    kinds = {db.get(Call, c.call_id).call_type for c in db.query(Case).filter(
        Case.id.in_(inquiries))}
    assert kinds <= {"complaint", "repair"}


def test_call_back_and_resolution_are_recorded(sup, agent1, db):
    cid = sup.get("/api/v1/calls/pub-001").json()["case"]["id"]
    assert agent1.patch(f"/api/v1/cases/{cid}", json={"state": "resolved"}).status_code == 403
    r = sup.patch(f"/api/v1/cases/{cid}", json={"state": "resolved"})
    assert r.status_code == 200, r.text
    body = r.json()
    cb = next(d for d in body["deadlines"] if d["name"] == "callback")
    assert body["state"] == "resolved" and not cb["met"] and not body["overdue"] or cb
    r = sup.patch(f"/api/v1/cases/{cid}", json={"called_back": True})
    assert r.json()["called_back_at"] is not None
    assert next(d for d in r.json()["deadlines"] if d["name"] == "callback")["met"]
    from models import AuditLog
    assert db.query(AuditLog).filter_by(action="case.update", object_id=str(cid)).count() == 2
    assert sup.get("/api/v1/cases/999999").status_code == 404


def test_the_working_calendar(sup, admin):
    days = {d["day"]: d for d in sup.get("/api/v1/calendar/holidays",
                                         params={"year": 2026}).json()}
    assert not days["2026-10-01"]["working"] and days["2026-10-10"]["working"]
    assert sup.put("/api/v1/calendar/holidays/2026-12-31",
                   json={"day": "2026-12-31", "name": "公司年会"}).status_code == 403
    r = admin.put("/api/v1/calendar/holidays/2026-12-31",
                  json={"day": "2026-12-31", "name": "公司年会", "working": False})
    assert r.status_code == 200
    days = {d["day"]: d for d in sup.get("/api/v1/calendar/holidays",
                                         params={"year": 2026}).json()}
    assert days["2026-12-31"]["name"] == "公司年会"
    assert admin.delete("/api/v1/calendar/holidays/2026-12-31").status_code == 204
    assert admin.delete("/api/v1/calendar/holidays/2026-12-31").status_code == 404


def test_the_weekly_report_lists_open_cases(sup):
    r = sup.get("/api/v1/reports/weekly", params={"week": "2026-W45", "format": "json"})
    table = next(t for t in r.json()["tables"] if t["title"].startswith("未结案件"))
    row = next(x for x in table["rows"] if x["room"] == "9栋2单元1002")
    assert row["kind"] == "报修" and "上门查看" in row["overdue"] and row["promises"] == 1
    assert datetime.now(timezone.utc).year >= 2026


def test_the_follow_up_status_and_the_case_agree(sup, db):
    from models import Call
    complaint = next(c for c in db.query(Call).filter_by(call_type="complaint")
                     if sup.get(f"/api/v1/calls/{c.id}").json()["case"])
    case = sup.get(f"/api/v1/calls/{complaint.id}").json()["case"]
    if case["calls"][0]["call_id"] != complaint.id:
        return  # attached to an earlier call's case: its first call leads
    r = sup.patch(f"/api/v1/calls/{complaint.id}/follow-up",
                  json={"follow_up_status": "resolved"})
    assert r.status_code == 200, r.text
    assert sup.get(f"/api/v1/cases/{case['id']}").json()["state"] == "resolved"
    sup.patch(f"/api/v1/cases/{case['id']}", json={"state": "in_progress"})
    assert sup.get(f"/api/v1/calls/{complaint.id}").json()["follow_up_status"] == "in_progress"
