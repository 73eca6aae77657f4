"""Calls: list filters and paging, detail, audio with Range, upload, corrections, follow-up,
and the authorisation matrix (an agent never sees another agent's call by any route)."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"


def ids(r):
    assert r.status_code == 200, r.text
    return {c["id"] for c in r.json()["items"]}


def test_supervisor_lists_all_with_paging(sup):
    r = sup.get("/api/v1/calls", params={"page_size": 15})
    body = r.json()
    assert body["total"] == 40 and len(body["items"]) == 15
    page3 = sup.get("/api/v1/calls", params={"page_size": 15, "page": 3}).json()
    assert len(page3["items"]) == 10
    all_ids = ids(sup.get("/api/v1/calls", params={"page_size": 100}))
    assert len(all_ids) == 40
    first = body["items"][0]
    assert first["started_at"] >= body["items"][-1]["started_at"]  # newest first


def test_filters(sup, db):
    from models import Call, Finding
    assert ids(sup.get("/api/v1/calls", params={"agent_id": "A1001"})) == {
        c.id for c in db.query(Call).filter_by(agent_id="A1001")}
    # local dates: 2026-11-02 .. 2026-11-03 → pub-001, pub-002, pub-003
    assert ids(sup.get("/api/v1/calls", params={"date_from": "2026-11-02",
                                                "date_to": "2026-11-03"})) == {
        "pub-001", "pub-002", "pub-003"}
    low = ids(sup.get("/api/v1/calls", params={"score_max": 70}))
    assert low == {c.id for c in db.query(Call).filter(Call.score <= 70)}
    assert low and ids(sup.get("/api/v1/calls", params={"score_min": 70.01})).isdisjoint(low)
    po06 = ids(sup.get("/api/v1/calls", params={"rule_failed": "PO06"}))
    assert po06 == {f.call_id for f in db.query(Finding).filter_by(code="PO06", status="fail")}
    assert po06
    complaints = ids(sup.get("/api/v1/calls", params={"call_type": "complaint"}))
    vent = ids(sup.get("/api/v1/calls", params={"complaint_type": "vent"}))
    assert vent and vent < complaints
    assert ids(sup.get("/api/v1/calls", params={"red_line": "true"})) == {
        c.id for c in db.query(Call).filter_by(red_line=True)}
    pending = ids(sup.get("/api/v1/calls", params={"review_state": "pending"}))
    none = ids(sup.get("/api/v1/calls", params={"review_state": "none"}))
    assert pending and pending.isdisjoint(none) and len(pending | none) == 40


def test_filter_validation_messages(sup):
    r = sup.get("/api/v1/calls", params={"date_from": "2026-13-01"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "date_from"
    r = sup.get("/api/v1/calls", params={"date_from": "2026-11-05", "date_to": "2026-11-01"})
    assert r.status_code == 422 and "开始日期" in r.json()["detail"]
    r = sup.get("/api/v1/calls", params={"review_state": "maybe"})
    assert r.status_code == 422
    r = sup.get("/api/v1/calls", params={"page_size": 0})
    assert r.status_code == 422


def test_agent_sees_only_own_calls(agent1, db):
    from models import Call
    own = {c.id for c in db.query(Call).filter_by(agent_id="A1001")}
    assert ids(agent1.get("/api/v1/calls", params={"page_size": 100})) == own
    # asking for another agent's calls by filter gives nothing
    assert ids(agent1.get("/api/v1/calls", params={"agent_id": "A1002"})) == set()


def test_detail(sup):
    r = sup.get("/api/v1/calls/pub-007")
    assert r.status_code == 200
    d = r.json()
    assert d["agent_id"] == "A1004" and d["transcript"]["utterances"]
    assert len(d["findings"]) == 28
    fails = [f for f in d["findings"] if f["status"] == "fail"]
    assert any(f["red_line"] for f in fails) and all(f["message"] for f in fails)
    assert d["metadata"]["caller_number"] and d["scenario"] == "噪音"
    assert sup.get("/api/v1/calls/nope").status_code == 404


OTHER_CALL = "pub-002"  # agent A1002's call with audio


@pytest.mark.parametrize("method,path,body", [
    ("get", "/api/v1/calls/{cid}", None),
    ("get", "/api/v1/calls/{cid}/audio", None),
    ("get", "/api/v1/findings/{fid}", None),
    ("post", "/api/v1/findings/{fid}/appeals", {"reason": "我没有这样说"}),
    ("get", "/api/v1/assessments/A1002/2026-11", None),
])
def test_agent_cannot_reach_another_agents_data(agent1, db, method, path, body):
    from models import Finding
    fid = next(f.id for f in db.query(Finding).filter_by(status="fail")
               if f.call.agent_id == "A1002")
    r = getattr(agent1, method)(path.format(cid=OTHER_CALL, fid=fid),
                                **({"json": body} if body else {}))
    assert r.status_code == 404, r.text
    assert OTHER_CALL not in r.text and "A1002" not in r.text


def test_agent_cannot_see_other_appeals_or_assessments(agent1, agent2, db):
    from models import Finding
    f = next(f for f in db.query(Finding).filter_by(status="fail")
             if f.call.agent_id == "A1002")
    r = agent2.post(f"/api/v1/findings/{f.id}/appeals", json={"reason": "理由充分的申诉"})
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    assert agent1.get(f"/api/v1/appeals/{aid}").status_code == 404
    assert agent1.get("/api/v1/appeals").json() == []
    assert [a["id"] for a in agent2.get("/api/v1/appeals").json()] == [aid]
    mine = agent1.get("/api/v1/assessments", params={"month": "2026-11"}).json()
    assert [a["agent_id"] for a in mine] == ["A1001"]


def test_audio_full_and_range(agent1, sup):
    path = DATA / "calls" / "pub-001.stereo.mp3"
    size = path.stat().st_size
    full = agent1.get("/api/v1/calls/pub-001/audio")
    assert full.status_code == 200 and full.headers["content-type"] == "audio/mpeg"
    assert full.content == path.read_bytes() and full.headers["accept-ranges"] == "bytes"
    part = agent1.get("/api/v1/calls/pub-001/audio", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == path.read_bytes()[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    tail = sup.get("/api/v1/calls/pub-001/audio", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == path.read_bytes()[-10:]
    bad = sup.get("/api/v1/calls/pub-001/audio", headers={"Range": f"bytes={size}-"})
    assert bad.status_code == 416
    # a transcript-only call has no audio
    assert sup.get("/api/v1/calls/pub-010/audio").status_code == 404


def test_extreme_dates_and_huge_ranges_are_refused_not_500(sup):
    for params in ({"date_to": "9999-12-31"}, {"date_from": "0001-01-01"},
                   {"date_from": "0001-01-01", "date_to": "9999-12-31"}):
        r = sup.get("/api/v1/calls", params=params)
        assert r.status_code == 422, (params, r.text)
        assert "日期超出范围" in r.json()["detail"] and "out of range" in r.json()["detail"]
    assert sup.get("/api/v1/calls", params={"date_from": "1970-01-01",
                                            "date_to": "2999-12-31"}).json()["total"] == 40
    r = sup.get("/api/v1/calls/pub-001/audio", headers={"Range": "bytes=" + "9" * 5000 + "-"})
    assert r.status_code == 416
    r = sup.get("/api/v1/calls/pub-001/audio", headers={"Range": "bytes=0-" + "9" * 5000})
    assert r.status_code == 416


def test_close_month_body_is_bounded(sup):
    ids = [f"X{i:05d}" for i in range(20_000)]
    r = sup.post("/api/v1/assessments/2026-11/close", json={"agent_ids": ids})
    assert r.status_code == 422
    (err,) = r.json()["detail"]
    assert err["field"] == "agent_ids" and "项数过多" in err["message"]
    r = sup.post("/api/v1/assessments/2026-11/close",
                 json={"agent_ids": ["A1001", "A1001", "nobody"]})  # repeats and unknowns: skipped
    assert r.status_code == 200 and [a["agent_id"] for a in r.json()] == ["A1001"]


def test_upload_enqueues_a_job(sup, db, app):
    wav = (DATA / "calls" / "pub-003.stereo.wav").read_bytes()
    r = sup.post("/api/v1/calls/upload", files={"file": ("来电 录音.wav", wav, "audio/wav")},
                 data={"metadata": '{"agent_id": "A1003", "started_at": "2026-11-20T10:00:00+08:00"}'})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued" and not body["duplicate"]
    from models import Call, Job
    db.expire_all()
    call = db.get(Call, body["call_id"])
    assert call.agent_id == "A1003" and call.media_type == "audio"
    assert db.query(Job).filter_by(call_id=call.id).one().state == "queued"
    assert Path(call.store_path).read_bytes() == wav
    again = sup.post("/api/v1/calls/upload", files={"file": ("copy.wav", wav, "audio/wav")})
    assert again.status_code == 202 and again.json()["duplicate"]
    assert again.json()["call_id"] == body["call_id"]


def test_upload_validation(sup, agent1, app):
    r = sup.post("/api/v1/calls/upload", files={"file": ("x.wav", b"not audio at all", "audio/wav")})
    assert r.status_code == 422 and "录音" in r.json()["detail"]
    r = sup.post("/api/v1/calls/upload", files={"file": ("x.exe", b"MZ...", "application/x")})
    assert r.status_code == 422 and "不支持" in r.json()["detail"]
    r = sup.post("/api/v1/calls/upload", files={"file": ("x.wav", b"", "audio/wav")})
    assert r.status_code == 422 and "空" in r.json()["detail"]
    r = sup.post("/api/v1/calls/upload", files={"file": ("x.wav", b"RIFF", "audio/wav")},
                 data={"metadata": "{not json"})
    assert r.status_code == 422 and "metadata" in r.json()["detail"]
    app.state.settings.upload_max_bytes = 1000
    r = sup.post("/api/v1/calls/upload", files={"file": ("x.wav", io.BytesIO(b"0" * 5000), "audio/wav")})
    assert r.status_code == 413
    r = agent1.post("/api/v1/calls/upload", files={"file": ("x.wav", b"RIFF", "audio/wav")})
    assert r.status_code == 403
    assert not list((Path(app.state.settings.home) / "uploads").rglob("*.part"))


def test_upload_with_a_start_time_out_of_range_is_refused_and_leaves_nothing(sup, app):
    wav = (DATA / "calls" / "pub-002.mono.wav").read_bytes()
    r = sup.post("/api/v1/calls/upload", files={"file": ("x.wav", wav, "audio/wav")},
                 data={"metadata": '{"agent_id": "A1001", "started_at": "0001-01-01T00:00:00"}'})
    assert r.status_code == 422 and "录音时间超出范围" in r.json()["detail"]
    # the same time read from the file name by the pattern
    r = sup.post("/api/v1/calls/upload", files={
        "file": ("00010101_000000_A1001_13800000000.wav", wav, "audio/wav")})
    assert r.status_code == 422 and "录音时间超出范围" in r.json()["detail"]
    uploads = Path(app.state.settings.home) / "uploads"
    assert not [p for p in uploads.rglob("*") if p.is_file()]  # no orphan file


def _transcript(call_id: str, agent_id: str | None = "A1003") -> bytes:
    import json
    doc = json.loads((DATA / "truth" / "pub-003.truth.json").read_text(encoding="utf-8"))
    doc["call_id"] = call_id
    if agent_id is None:
        doc["metadata"].pop("agent_id")
    else:
        doc["metadata"]["agent_id"] = agent_id
    return json.dumps(doc, ensure_ascii=False).encode()


def test_a_transcript_json_upload_is_accepted(sup, db):
    r = sup.post("/api/v1/calls/upload",
                 files={"file": ("转写.json", _transcript("up-json-1"), "application/json")})
    assert r.status_code == 202, r.text
    from models import Call
    db.expire_all()
    call = db.get(Call, r.json()["call_id"])
    assert call.media_type == "transcript" and call.status == "queued"
    r = sup.post("/api/v1/calls/upload",
                 files={"file": ("bad.json", b'{"utterances": 3}', "application/json")})
    assert r.status_code == 422 and "转写 JSON" in r.json()["detail"]


def test_upload_errors_name_no_server_path(sup, app):
    home = str(app.state.settings.home)
    for name, body in (("x.wav", b"not audio at all"), ("x.mp3", b"\xff\xfb" + b"0" * 500),
                       ("x.json", b"{not json"), ("x.json", b'{"utterances": "x"}')):
        r = sup.post("/api/v1/calls/upload", files={"file": (name, body, "application/x")})
        assert r.status_code == 422, (name, r.text)
        text = r.text
        assert home not in text and ".part" not in text and "/uploads" not in text, text
        assert "uploads" not in text and "/tmp" not in text, text


def test_only_an_admin_upload_adds_an_agent_and_it_is_audited(sup, admin, db):
    from models import Agent, AuditLog
    wav = (DATA / "calls" / "pub-002.mono.wav").read_bytes()
    r = sup.post("/api/v1/calls/upload", files={"file": ("x.wav", wav, "audio/wav")},
                 data={"metadata": '{"agent_id": "A7777"}'})
    assert r.status_code == 422 and "只能由管理员添加" in r.json()["detail"]
    # nor through the file name or a transcript's own metadata
    r = sup.post("/api/v1/calls/upload", files={
        "file": ("20261102_091500_A7777_13800000000.wav", wav, "audio/wav")})
    assert r.status_code == 422 and "A7777" in r.json()["detail"]
    r = sup.post("/api/v1/calls/upload",
                 files={"file": ("t.json", _transcript("up-json-2", "A7777"), "application/json")})
    assert r.status_code == 422 and "A7777" in r.json()["detail"]
    db.expire_all()
    assert db.get(Agent, "A7777") is None
    r = admin.post("/api/v1/calls/upload", files={"file": ("x.wav", wav, "audio/wav")},
                   data={"metadata": '{"agent_id": "A7777"}'})
    assert r.status_code == 202, r.text
    db.expire_all()
    assert db.get(Agent, "A7777") is not None
    entry = db.query(AuditLog).filter_by(action="agent.create", object_id="A7777").one()
    assert entry.actor == "admin" and entry.details["via"] == "upload"


def test_classification_correction_is_a_training_example(sup, agent1, db):
    r = sup.put("/api/v1/calls/pub-003/classification",
                json={"call_type": "complaint", "complaint_type": "vent", "comment": "其实是投诉"})
    assert r.status_code == 200 and r.json()["kind"] == "correction"
    from models import AuditLog, Call, Classification
    db.expire_all()
    c = db.query(Classification).filter_by(call_id="pub-003", kind="correction").one()
    assert c.use_for_training and c.call_type == "complaint" and c.complaint_type == "vent"
    assert db.get(Call, "pub-003").call_type == "complaint"
    assert db.query(AuditLog).filter_by(action="call.classification", object_id="pub-003").count()
    r = sup.put("/api/v1/calls/pub-003/classification",
                json={"call_type": "repair", "complaint_type": "vent"})
    assert r.status_code == 422
    assert agent1.put("/api/v1/calls/pub-001/classification",
                      json={"call_type": "repair"}).status_code == 403


def test_follow_up(sup, agent1):
    r = sup.patch("/api/v1/calls/pub-002/follow-up",
                  json={"follow_up_status": "resolved", "estate": "翠湖苑"})
    assert r.status_code == 200 and r.json()["follow_up_status"] == "resolved"
    assert r.json()["estate"] == "翠湖苑"
    assert sup.patch("/api/v1/calls/pub-002/follow-up",
                     json={"follow_up_status": "done"}).status_code == 422
    assert sup.patch("/api/v1/calls/pub-002/follow-up", json={}).status_code == 422
    assert agent1.patch("/api/v1/calls/pub-001/follow-up",
                        json={"follow_up_status": "resolved"}).status_code == 403


def test_supervisor_comment(sup):
    r = sup.post("/api/v1/calls/pub-001/comments", json={"comment": "抽检无问题"})
    assert r.status_code == 201 and r.json()["decision"] == "comment"
    assert sup.post("/api/v1/calls/pub-001/comments", json={"comment": ""}).status_code == 422
