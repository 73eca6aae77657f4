"""Agents sign their feedback (签收): only their own scored calls, once, audited; supervisors
see who has not signed; the monthly sheet shows it."""
from __future__ import annotations


def test_an_agent_signs_their_own_call_once(agent1, agent2, sup, db):
    from models import AuditLog, Call
    own = db.query(Call).filter_by(agent_id="A1001", status="done").first()
    other = db.query(Call).filter_by(agent_id="A1002", status="done").first()
    r = agent1.post(f"/api/v1/calls/{own.id}/acknowledge", json={"comment": "收到，会注意"})
    assert r.status_code == 201, r.text
    assert r.json()["comment"] == "收到，会注意" and r.json()["agent_id"] == "A1001"
    again = agent1.post(f"/api/v1/calls/{own.id}/acknowledge", json={})
    assert again.status_code == 409 and "已签收" in again.json()["detail"]
    assert agent1.post(f"/api/v1/calls/{other.id}/acknowledge", json={}).status_code == 404
    r = sup.post(f"/api/v1/calls/{own.id}/acknowledge", json={})
    assert r.status_code == 403 and "客服本人" in r.json()["detail"]
    detail = agent1.get(f"/api/v1/calls/{own.id}").json()
    assert [a["comment"] for a in detail["acknowledgements"]] == ["收到，会注意"]
    assert db.query(AuditLog).filter_by(action="call.acknowledge", object_id=own.id).count() == 1
    month = own.started_at.astimezone().strftime("%Y-%m")
    status = {r["agent_id"]: r for r in sup.get("/api/v1/acknowledgements",
                                                params={"month": "2026-11"}).json()}
    a1 = status["A1001"]
    assert a1["acknowledged"] == 1 and own.id not in a1["missing"]
    assert a1["scored_calls"] == a1["acknowledged"] + len(a1["missing"]) > 1
    assert status["A1002"]["acknowledged"] == 0
    assert agent1.get("/api/v1/acknowledgements", params={"month": month}).status_code == 403
    sheet = sup.get("/api/v1/reports/monthly", params={"month": "2026-11", "format": "json"})
    table = next(t for t in sheet.json()["tables"] if t["title"] == "客服签收情况")
    row = next(r for r in table["rows"] if r["agent_id"] == "A1001")
    assert row["acknowledged"] == 1 and row["missing"] == a1["scored_calls"] - 1


def test_a_call_without_a_result_cannot_be_signed(agent1, db):
    from models import Call
    db.add(Call(id="c-queued", content_sha256="9" * 64, source_path="/q", filename="q.mp3",
                status="queued", agent_id="A1001"))
    db.commit()
    r = agent1.post("/api/v1/calls/c-queued/acknowledge", json={})
    assert r.status_code == 409 and "还没有质检结果" in r.json()["detail"]
