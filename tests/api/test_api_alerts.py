"""Alerts through the API: the seeded red lines are listed with the unseen count and marked
seen; admins manage channels (secret stored encrypted and shown masked, audited, test message
to a real local receiver); supervisors see alerts but not channels; agents get 403."""
from __future__ import annotations

import json

from tests.qa.alert_receivers import start_http_receiver

SECRET = "SECa8c1e5b7d3f2a9f3a9"


def test_alerts_list_badge_and_seen(sup, admin, db):
    r = sup.get("/api/v1/alerts")
    assert r.status_code == 200, r.text
    body = r.json()
    red = [a for a in body["items"] if a["kind"] == "red_line"]
    assert {a["call_id"] for a in red} >= {"pub-007", "pub-012", "pub-040"}
    assert all(a["unseen"] for a in body["items"])
    assert body["unseen"] == len(body["items"]) > 0 and body["last_seen_id"] == 0
    from models import Call
    phones = {c.caller_number for c in db.query(Call) if c.caller_number}
    assert not any(p in a["title"] for a in body["items"] for p in phones)
    assert sup.get("/api/v1/alerts/unseen").json() == {"unseen": body["unseen"]}
    newest = body["items"][0]["id"]
    assert sup.post("/api/v1/alerts/seen", json={"last_event_id": newest - 1}).json() == {
        "unseen": 1}
    assert sup.post("/api/v1/alerts/seen", json={}).json() == {"unseen": 0}
    assert sup.post("/api/v1/alerts/seen", json={"last_event_id": 1}).json() == {
        "unseen": 0}  # never moves back
    assert admin.get("/api/v1/alerts/unseen").json()["unseen"] == body["unseen"]  # per user
    only = sup.get("/api/v1/alerts", params={"kind": "low_score"}).json()["items"]
    assert only and {a["kind"] for a in only} == {"low_score"}


def test_agents_get_403_everywhere_and_supervisors_on_channels(agent1, sup):
    for method, path in (("get", "/api/v1/alerts"), ("get", "/api/v1/alerts/unseen"),
                         ("post", "/api/v1/alerts/seen"), ("get", "/api/v1/alerts/channels"),
                         ("post", "/api/v1/alerts/channels"),
                         ("get", "/api/v1/alerts/channels/1"),
                         ("patch", "/api/v1/alerts/channels/1"),
                         ("delete", "/api/v1/alerts/channels/1"),
                         ("post", "/api/v1/alerts/channels/1/test")):
        kw = {"json": {}} if method in ("post", "patch") else {}
        assert getattr(agent1, method)(path, **kw).status_code == 403, (method, path)
    assert sup.get("/api/v1/alerts/channels").status_code == 403
    assert sup.post("/api/v1/alerts/channels", json={
        "name": "x", "kind": "webhook", "target": "http://127.0.0.1/x"}).status_code == 403


def test_admin_manages_channels_secret_masked_audited_and_tested(admin, db):
    rec = start_http_receiver()
    try:
        r = admin.post("/api/v1/alerts/channels", json={
            "name": "质检群", "kind": "dingtalk",
            "target": f"{rec.url}/robot/send?access_token=abcdef123456", "secret": SECRET,
            "events": ["red_line", "overdue_case"], "teams": ["一班"]})
        assert r.status_code == 201, r.text
        ch = r.json()
        assert ch["secret"] == "SEC…f3a9" and SECRET not in r.text
        assert ch["target"].endswith("access_token=abc…3456") and "abcdef123456" not in r.text
        cid = ch["id"]
        from models import AlertChannel, AuditLog
        row = db.get(AlertChannel, cid)
        assert row.secret and SECRET not in row.secret  # encrypted at rest
        assert SECRET not in admin.get("/api/v1/alerts/channels").text

        t = admin.post(f"/api/v1/alerts/channels/{cid}/test")
        assert t.status_code == 200 and t.json() == {"ok": True, "status": 200, "error": None}
        (got,) = rec.wait_for(1)
        assert got.path == "/robot/send" and got.query["access_token"] == "abcdef123456"
        assert set(got.query) == {"access_token", "timestamp", "sign"}
        assert got.json()["msgtype"] == "markdown" and "测试" in got.json()["markdown"]["title"]

        assert admin.post("/api/v1/alerts/channels", json={
            "name": "质检群", "kind": "webhook", "target": "http://x/"}).status_code == 409
        assert admin.post("/api/v1/alerts/channels", json={
            "name": "坏的", "kind": "email", "target": "nobody"}).status_code == 422
        assert admin.post("/api/v1/alerts/channels", json={
            "name": "坏的", "kind": "wecom", "target": "http://x/",
            "options": {"format": "post"}}).status_code == 422

        u = admin.patch(f"/api/v1/alerts/channels/{cid}", json={"active": False,
                                                                 "estates": ["御景湾"]})
        assert u.status_code == 200 and u.json()["active"] is False
        assert u.json()["estates"] == ["御景湾"] and u.json()["secret"] == "SEC…f3a9"
        u = admin.patch(f"/api/v1/alerts/channels/{cid}", json={"secret": "NEWsecret-9999"})
        assert u.json()["secret"] == "NEW…9999"
        assert admin.delete(f"/api/v1/alerts/channels/{cid}").status_code == 204
        assert admin.get(f"/api/v1/alerts/channels/{cid}").status_code == 404
        actions = [a.action for a in db.query(AuditLog).filter_by(
            object_type="alert_channel", object_id=str(cid)).order_by(AuditLog.id)]
        assert actions == ["alert_channel.create", "alert_channel.test",
                           "alert_channel.update", "alert_channel.update",
                           "alert_channel.delete"]
        logged = json.dumps([a.details for a in db.query(AuditLog).filter_by(
            object_type="alert_channel")], ensure_ascii=False)
        assert SECRET not in logged and "abcdef123456" not in logged
    finally:
        rec.server.shutdown()


def test_a_stored_red_line_reaches_a_configured_channel(admin, app, app_settings):
    """End to end: channel through the API, a call stored, the sender delivers it."""
    rec = start_http_receiver()
    try:
        r = admin.post("/api/v1/alerts/channels", json={
            "name": "wecom", "kind": "wecom", "target": rec.url + "/cgi-bin/webhook/send?key=k1",
            "events": ["red_line"]})
        assert r.status_code == 201
        from tests.qa.test_alerts import _store
        _store(app_settings.database_url, "pub-017", app_settings, new_id="again-017")
        from qa.alert_sender import run_once
        assert run_once(app.state.engine, app_settings) == {"sent": 1}
        (got,) = rec.wait_for(1)
        assert "again-017" in got.json()["markdown"]["content"]
    finally:
        rec.server.shutdown()
