"""Personal data through the API: agents see it masked (call detail, transcript, call list,
search, cases), supervisors see it by default and get masked export files; only admins
change the policy (audited); supervisors reveal one call for a while in their session
(audited), agents cannot; the recording with the personal data beeped out."""
from __future__ import annotations

import io
import wave

from models import AuditLog


def _texts(detail: dict) -> str:
    return "\n".join(u["text"] for u in detail["transcript"]["utterances"])


def test_agents_see_the_call_masked_supervisors_in_clear(agent1, sup):
    mine = agent1.get("/api/v1/calls/pub-001").json()
    said = _texts(mine)
    assert "幺三九，****，七七三五" in said and "*栋*单元**零二" in said and "*先生" in said
    assert "幺六二四" not in said and "一零零二" not in said
    assert mine["caller_number"] == "139****7735"
    assert mine["metadata"]["caller_number"] == "139****7735"
    assert mine["case"]["room"] == "*栋*单元**02" and mine["case"]["caller_number"] == "139****7735"
    listed = agent1.get("/api/v1/calls").json()["items"]
    assert all("*" in (c["caller_number"] or "*") for c in listed)
    clear = sup.get("/api/v1/calls/pub-001").json()
    assert "幺三九，幺六二四，七七三五" in _texts(clear)
    assert clear["case"]["room"] == "9栋2单元1002"
    assert clear["caller_number"] == "13916247735"


def test_cases_are_masked_for_agents(agent1, sup):
    case_id = sup.get("/api/v1/calls/pub-001").json()["case"]["id"]
    assert agent1.get(f"/api/v1/cases/{case_id}").json()["room"] == "*栋*单元**02"
    assert sup.get(f"/api/v1/cases/{case_id}").json()["room"] == "9栋2单元1002"


def test_search_results_are_masked_for_agents(agent1, sup):
    r = agent1.get("/api/v1/search", params={"q": "一零零二"})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert items, "the agent's own call says the room"
    for it in items:
        assert "一零零二" not in it["text"] and "**零二" in it["text"]
        assert "".join(s["text"] for s in it["segments"]) == it["text"]
        assert "*" in (it["call"]["caller_number"] or "*")
    clear = sup.get("/api/v1/search", params={"q": "一零零二"}).json()["items"]
    assert any("一零零二" in it["text"] for it in clear)


def test_only_admins_change_the_policy_and_it_is_audited(admin, sup, agent1, db):
    assert agent1.get("/api/v1/privacy/policy").status_code == 403
    policy = sup.get("/api/v1/privacy/policy").json()
    assert policy["roles"]["agent"]["api"] and not policy["roles"]["supervisor"]["api"]
    assert policy["roles"]["supervisor"]["exports"] and policy["reveal_minutes"] == 15
    body = {"roles": {"supervisor": {"api": True, "pages": True}}, "reveal_minutes": 10}
    assert sup.put("/api/v1/privacy/policy", json=body).status_code == 403
    r = admin.put("/api/v1/privacy/policy", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["roles"]["supervisor"]["api"] and r.json()["roles"]["agent"]["api"]
    assert admin.put("/api/v1/privacy/policy",
                     json={"roles": {"guest": {"api": True}}}).status_code == 422
    assert admin.put("/api/v1/privacy/policy", json={"kinds": ["dna"]}).status_code == 422
    assert db.query(AuditLog).filter_by(action="privacy.policy").count() == 1
    # supervisors now see the API masked
    assert sup.get("/api/v1/calls/pub-001").json()["case"]["room"] == "*栋*单元**02"


def test_a_supervisor_reveals_one_call_audited_an_agent_cannot(admin, sup, agent1, db):
    admin.put("/api/v1/privacy/policy", json={"roles": {"supervisor": {"api": True}}})
    assert "幺六二四" not in _texts(sup.get("/api/v1/calls/pub-001").json())
    assert agent1.post("/api/v1/calls/pub-001/reveal").status_code == 403
    assert sup.post("/api/v1/calls/no-such-call/reveal").status_code == 404
    r = sup.post("/api/v1/calls/pub-001/reveal")
    assert r.status_code == 200, r.text
    assert r.json()["minutes"] == 15
    entry = db.query(AuditLog).filter_by(action="call.reveal", object_id="pub-001").one()
    assert entry.actor == "sup" and entry.details["session"]
    assert "幺六二四" in _texts(sup.get("/api/v1/calls/pub-001").json())
    assert "幺六二四" not in _texts(sup.get("/api/v1/calls/pub-002").json())  # that call only
    from tests.api.conftest import login
    other = login(sup.app, "sup")  # another session of the same supervisor: still masked
    assert "幺六二四" not in _texts(other.get("/api/v1/calls/pub-001").json())
    assert "幺六二四" not in _texts(agent1.get("/api/v1/calls/pub-001").json())


def test_a_reveal_ends(admin, sup, db):
    from datetime import timedelta
    admin.put("/api/v1/privacy/policy", json={"roles": {"supervisor": {"api": True}}})
    sup.post("/api/v1/calls/pub-001/reveal")
    entry = db.query(AuditLog).filter_by(action="call.reveal").one()
    entry.at = entry.at - timedelta(minutes=16)
    db.commit()
    assert "幺六二四" not in _texts(sup.get("/api/v1/calls/pub-001").json())


def test_exports_are_masked_for_supervisors_json_is_the_api(sup, admin):
    csv = sup.get("/api/v1/reports/weekly", params={"week": "2026-W45", "format": "csv"})
    assert csv.status_code == 200
    text = csv.content.decode("utf-8-sig")
    assert "*栋*单元**02" in text and "9栋2单元1002" not in text and "13916247735" not in text
    doc = sup.get("/api/v1/reports/weekly", params={"week": "2026-W45", "format": "json"})
    assert "9栋2单元1002" in doc.text
    admin.put("/api/v1/privacy/policy", json={"roles": {"supervisor": {"exports": False}}})
    csv = sup.get("/api/v1/reports/weekly", params={"week": "2026-W45", "format": "csv"})
    assert "9栋2单元1002" in csv.content.decode("utf-8-sig")


def test_masked_audio_is_beeped_wav(agent1, sup):
    plain = sup.get("/api/v1/calls/pub-001/audio")
    assert plain.status_code == 200 and plain.headers["content-type"] == "audio/mpeg"
    r = agent1.get("/api/v1/calls/pub-001/audio", params={"masked": 1})
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(r.content)) as w:
        assert w.getnchannels() == 2 and w.getnframes() > w.getframerate() * 30
    part = agent1.get("/api/v1/calls/pub-001/audio", params={"masked": 1},
                      headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
