"""Review, appeals, the A/B/C + red-line rule as people change findings, month close, review
queue, and the admin/supervisor resources (rules, forms, users, reports, audit)."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

from openpyxl import load_workbook

MONTH = "2026-11"


def red_fail(db, agent_id):
    from models import Finding
    return next(f for f in db.query(Finding).filter_by(status="fail", red_line=True)
                if f.call.agent_id == agent_id)


def assessment(client, agent_id):
    r = client.get(f"/api/v1/assessments/{agent_id}/{MONTH}")
    assert r.status_code == 200, r.text
    return r.json()


def test_red_line_upheld_forces_c_and_overturn_restores(sup, db):
    f = red_fail(db, "A1004")
    before = assessment(sup, "A1004")
    assert before["red_lines_pending"] >= 1 and before["red_lines_confirmed"] == 0
    others = [r for r in before["red_lines"] if r["finding_id"] != f.id]
    # overturn every other red line of the month so only f decides
    for r in others:
        assert sup.post(f"/api/v1/findings/{r['finding_id']}/review",
                        json={"decision": "overturn", "comment": "误判"}).status_code == 200
    r = sup.post(f"/api/v1/findings/{f.id}/review", json={"decision": "uphold", "comment": "属实"})
    assert r.status_code == 200 and r.json()["review_state"] == "upheld"
    a = assessment(sup, "A1004")
    assert a["grade"] == "C" and a["red_lines_confirmed"] == 1
    assert "禁止行为" in a["outlook"]
    r = sup.post(f"/api/v1/findings/{f.id}/review", json={"decision": "overturn", "comment": "复听后推翻"})
    assert r.status_code == 200
    a = assessment(sup, "A1004")
    assert a["red_lines_confirmed"] == 0 and a["grade"] == a["grade_by_score"]
    # the overturned deduction is given back to the call
    call = sup.get(f"/api/v1/calls/{f.call_id}").json()
    assert call["score"] > before_score(db, f.call_id)


def before_score(db, call_id):
    from models import Call
    from qa.assessment_store import machine_score
    return machine_score(db, db.get(Call, call_id))


def test_window_closed_confirms_and_accepted_appeal_overturns(sup, agent4, db):
    from models import Call
    f = red_fail(db, "A1004")
    for r in assessment(sup, "A1004")["red_lines"]:
        if r["finding_id"] != f.id:
            sup.post(f"/api/v1/findings/{r['finding_id']}/review", json={"decision": "overturn"})
    r = agent4.post(f"/api/v1/findings/{f.id}/appeals", json={"reason": "客户先骂人，我是在复述"})
    assert r.status_code == 201, r.text
    appeal = r.json()
    assert appeal["state"] == "open"
    # the window closes while the appeal is open: still pending, not C
    db.get(Call, f.call_id).result_available_at = datetime.now(timezone.utc) - timedelta(days=30)
    db.commit()
    a = assessment(sup, "A1004")
    assert a["red_lines_confirmed"] == 0 and a["red_lines_pending"] == 1
    # agent cannot decide; supervisor accepts → overturned, final
    assert agent4.post(f"/api/v1/appeals/{appeal['id']}/decision",
                       json={"decision": "accept", "reply": "x"}).status_code == 403
    r = sup.post(f"/api/v1/appeals/{appeal['id']}/decision",
                 json={"decision": "accept", "reply": "复听属实，申诉成立"})
    assert r.status_code == 200 and r.json()["state"] == "accepted"
    a = assessment(sup, "A1004")
    assert a["red_lines_overturned"] >= 1 and a["red_lines_confirmed"] == 0
    assert a["grade"] != "C" or a["grade_by_score"] == "C"
    again = sup.post(f"/api/v1/appeals/{appeal['id']}/decision",
                     json={"decision": "reject", "reply": "改主意"})
    assert again.status_code == 409 and "最终" in again.json()["detail"]
    # the agent sees the reply on their call
    mine = agent4.get(f"/api/v1/calls/{f.call_id}").json()
    fd = next(x for x in mine["findings"] if x["id"] == f.id)
    assert fd["appeals"][0]["reply"] == "复听属实，申诉成立"


def test_rejected_appeal_after_window_makes_month_c(sup, agent4, db):
    f = red_fail(db, "A1004")
    r = agent4.post(f"/api/v1/findings/{f.id}/appeals", json={"reason": "我认为没有问题"})
    aid = r.json()["id"]
    assert sup.post(f"/api/v1/appeals/{aid}/decision",
                    json={"decision": "reject", "reply": "录音证据明确"}).status_code == 200
    a = assessment(sup, "A1004")
    assert a["grade"] == "C" and a["red_lines_confirmed"] >= 1


def test_unreviewed_red_line_confirmed_when_window_closes(sup, db):
    from models import Call
    f = red_fail(db, "A1002")
    assert assessment(sup, "A1002")["red_lines_confirmed"] == 0
    for c in db.query(Call).filter_by(agent_id="A1002"):
        c.result_available_at = datetime.now(timezone.utc) - timedelta(days=8)
    db.commit()
    a = assessment(sup, "A1002")
    assert a["grade"] == "C" and a["red_lines_confirmed"] >= 1
    assert any(r["finding_id"] == f.id and r["state"] == "confirmed" for r in a["red_lines"])


def test_appeal_rules(agent1, agent4, sup, db, app):
    from models import Call, Finding
    own_fail = next(f for f in db.query(Finding).filter_by(status="fail")
                    if f.call.agent_id == "A1004")
    own_pass = next(f for f in db.query(Finding).filter_by(status="pass")
                    if f.call.agent_id == "A1004")
    r = agent4.post(f"/api/v1/findings/{own_pass.id}/appeals", json={"reason": "合格项申诉"})
    assert r.status_code == 409
    r = agent4.post(f"/api/v1/findings/{own_fail.id}/appeals", json={"reason": ""})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "reason"
    # supervisors do not appeal
    assert sup.post(f"/api/v1/findings/{own_fail.id}/appeals",
                    json={"reason": "主管代申诉"}).status_code == 403
    # window: 7 days after the result by default, configurable
    call = db.get(Call, own_fail.call_id)
    call.result_available_at = datetime.now(timezone.utc) - timedelta(days=7, hours=1)
    db.commit()
    r = agent4.post(f"/api/v1/findings/{own_fail.id}/appeals", json={"reason": "来晚了的申诉"})
    assert r.status_code == 409 and "申诉期已过" in r.json()["detail"]
    app.state.settings.appeal_window_days = 10
    r = agent4.post(f"/api/v1/findings/{own_fail.id}/appeals", json={"reason": "窗口延长后申诉"})
    assert r.status_code == 201
    r = agent4.post(f"/api/v1/findings/{own_fail.id}/appeals", json={"reason": "再申诉一次"})
    assert r.status_code == 409 and "只能申诉一次" in r.json()["detail"]


def test_agent_cannot_review(agent1, db):
    from models import Finding
    f = next(f for f in db.query(Finding).filter_by(status="fail")
             if f.call.agent_id == "A1001")
    r = agent1.post(f"/api/v1/findings/{f.id}/review", json={"decision": "overturn"})
    assert r.status_code == 403 and "主管" in r.json()["detail"]
    assert agent1.get("/api/v1/review-queue").status_code == 403
    assert agent1.post(f"/api/v1/assessments/{MONTH}/close", json={}).status_code == 403


def test_review_validation(sup, db):
    from models import Finding
    p = db.query(Finding).filter_by(status="pass").first()
    r = sup.post(f"/api/v1/findings/{p.id}/review", json={"decision": "uphold"})
    assert r.status_code == 409
    f = db.query(Finding).filter_by(status="fail").first()
    r = sup.post(f"/api/v1/findings/{f.id}/review", json={"decision": "maybe"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "decision"
    assert sup.post("/api/v1/findings/999999/review",
                    json={"decision": "uphold"}).status_code == 404


def test_month_close_freezes(sup, agent4, db):
    f = red_fail(db, "A1004")
    r = sup.post(f"/api/v1/assessments/{MONTH}/close", json={})
    assert r.status_code == 200
    closed = {a["agent_id"]: a for a in r.json()}
    assert set(closed) == {"A1001", "A1002", "A1003", "A1004", "A1005"}
    assert all(a["closed"] for a in closed.values())
    # closing closes every window: unreviewed red lines are confirmed
    assert closed["A1004"]["grade"] == "C"
    r = sup.post(f"/api/v1/findings/{f.id}/review", json={"decision": "overturn"})
    assert r.status_code == 409 and "关账" in r.json()["detail"]
    r = agent4.post(f"/api/v1/findings/{f.id}/appeals", json={"reason": "关账后申诉"})
    assert r.status_code == 409 and "关账" in r.json()["detail"]
    assert assessment(agent4, "A1004") == closed["A1004"]


def test_assessments_list_and_outlook(sup, agent1):
    all_ = sup.get("/api/v1/assessments", params={"month": MONTH}).json()
    assert {a["agent_id"] for a in all_} == {"A1001", "A1002", "A1003", "A1004", "A1005"}
    a1 = next(a for a in all_ if a["agent_id"] == "A1001")
    assert a1["calls"] == 8 and a1["agent_name"] == "张伟" and a1["team"] == "一班"
    assert a1["fail_rates"] and a1["outlook"]
    assert sup.get("/api/v1/assessments", params={"month": "2026-13"}).status_code == 422
    assert sup.get("/api/v1/assessments/NOPE/2026-11").status_code == 404


def test_review_queue_order(sup, db):
    from models import Finding
    # make one non-red-line fail low-confidence so the queue has that tier too
    f = next(f for f in db.query(Finding).filter_by(status="fail", red_line=False))
    f.needs_review, f.confidence = True, 0.3
    db.commit()
    q = sup.get("/api/v1/review-queue", params={"limit": 100}).json()
    reasons = [x["reason"] for x in q]
    assert reasons[0] == "red_line" and "low_confidence" in reasons
    order = {"red_line": 0, "low_confidence": 1, "sample": 2}
    assert [order[r] for r in reasons] == sorted(order[r] for r in reasons)
    assert len({x["call"]["id"] for x in q}) == len(q)
    # reviewing every red line of a call removes it from the head of the queue
    head = q[0]
    for fid in head["finding_ids"]:
        sup.post(f"/api/v1/findings/{fid}/review", json={"decision": "uphold"})
    q2 = sup.get("/api/v1/review-queue", params={"limit": 100}).json()
    assert head["call"]["id"] not in {x["call"]["id"] for x in q2 if x["reason"] == "red_line"}


def test_sampling_share(sup, app):
    app.state.settings.review_sample_share = 1.0
    q = sup.get("/api/v1/review-queue", params={"limit": 500}).json()
    samples = [x for x in q if x["reason"] == "sample"]
    assert samples and all(not x["call"]["failed_rules"] for x in samples)
    app.state.settings.review_sample_share = 0.0
    q = sup.get("/api/v1/review-queue", params={"limit": 500}).json()
    assert not [x for x in q if x["reason"] == "sample"]


def test_reports_export(sup, agent1):
    r = sup.get("/api/v1/reports/monthly", params={"month": MONTH, "format": "xlsx"})
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    ws = wb[wb.sheetnames[0]]
    assert ws["A2"].value == "工号" and ws.max_row == 2 + 5
    r = sup.get("/api/v1/reports/complaints", params={"month": MONTH, "format": "json"})
    doc = r.json()
    assert doc["complaints"] == 14 and doc["tables"][1]["title"] == "按场景"
    r = sup.get("/api/v1/reports/weekly", params={"week": "2026-W47", "format": "csv"})
    assert r.status_code == 200 and "投诉总数" in r.content.decode("utf-8-sig")
    r = sup.get("/api/v1/reports/weekly", params={"format": "csv"})
    assert r.status_code == 422 and "周" in r.json()["detail"]
    assert agent1.get("/api/v1/reports/monthly", params={"month": MONTH}).status_code == 403


def test_rules_catalogue(agent1):
    r = agent1.get("/api/v1/rules")
    assert r.status_code == 200
    codes = [x["code"] for x in r.json()]
    assert codes and codes == sorted(codes, key=codes.index)


def test_users_admin_only(admin, sup, agent1, anon):
    assert sup.get("/api/v1/users").status_code == 403
    assert agent1.post("/api/v1/users", json={"username": "x1", "password": "long-enough-1",
                                              "role": "admin"}).status_code == 403
    r = admin.post("/api/v1/users", json={"username": "zhao", "password": "long-enough-1",
                                          "role": "agent", "agent_id": "A1003"})
    assert r.status_code == 201 and r.json()["agent_id"] == "A1003"
    uid = r.json()["id"]
    dup = admin.post("/api/v1/users", json={"username": "zhao", "password": "long-enough-1",
                                            "role": "agent", "agent_id": "A1003"})
    assert dup.status_code == 409
    bad = admin.post("/api/v1/users", json={"username": "qian", "password": "long-enough-1",
                                            "role": "agent"})
    assert bad.status_code == 422 and "工号" in bad.json()["detail"]
    assert admin.post("/api/v1/users", json={"username": "sun", "password": "short",
                                             "role": "supervisor"}).status_code == 422
    r = admin.patch(f"/api/v1/users/{uid}", json={"active": False})
    assert r.status_code == 200 and not r.json()["active"]
    assert anon.post("/api/v1/auth/login", json={"username": "zhao",
                                                 "password": "long-enough-1"}).status_code == 401
    me = admin.get("/api/v1/auth/me").json()["user"]["id"]
    assert admin.patch(f"/api/v1/users/{me}", json={"role": "agent", "agent_id": "A1001"}
                       ).status_code == 409
    assert admin.post("/api/v1/agents", json={"id": "A2001", "name": "周", "team": "三班"}
                      ).status_code == 201
    assert "A2001" in {a["id"] for a in sup.get("/api/v1/agents").json()}


def test_forms_admin(admin, sup):
    assert sup.get("/api/v1/forms").status_code == 200
    r = admin.post("/api/v1/forms", json={"yaml_text": "- just\n- a list\n"})
    assert r.status_code == 422
    r = admin.post("/api/v1/forms", json={"yaml_text": "weights: {GR02: 5}\n: bad: yaml:"})
    assert r.status_code == 422
    assert sup.post("/api/v1/forms", json={"yaml_text": "a: 1"}).status_code == 403


def test_audit_log_records_people(sup, admin, db):
    from models import Finding
    f = db.query(Finding).filter_by(status="fail").first()
    sup.post(f"/api/v1/findings/{f.id}/review", json={"decision": "uphold", "comment": "核实"})
    rows = sup.get("/api/v1/audit", params={"object_type": "finding",
                                            "object_id": str(f.id)}).json()
    assert rows[0]["actor"] == "sup" and rows[0]["action"] == "finding.uphold"
    assert rows[0]["details"]["after"] == "upheld" and rows[0]["at"]
    admin.post("/api/v1/users", json={"username": "li", "password": "long-enough-1",
                                      "role": "supervisor"})
    assert any(r["action"] == "user.create" and r["actor"] == "admin"
               for r in admin.get("/api/v1/audit").json())
