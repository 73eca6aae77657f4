"""Monitors (关注词) through the API: save a search, its weekly counts match the calls that say
it, counts per day by estate, validation, supervisors only, audit."""
from __future__ import annotations

from datetime import datetime, timezone

from qa.search import highlight, parse_query


def _calls_saying(db, query: str, speaker=None) -> set[str]:
    from models import Call, Utterance
    q = parse_query(query)
    return {c for c, t, spk in db.query(Utterance.call_id, Utterance.text, Utterance.speaker)
            .join(Call, Call.id == Utterance.call_id).filter(Call.status == "done")
            if highlight(t, q).found and (speaker is None or spk == speaker)}


def test_a_saved_search_counts_the_calls_that_say_it(sup, db):
    r = sup.post("/api/v1/monitors", json={"name": "维修师傅", "query": "师傅",
                                           "speaker": "agent"})
    assert r.status_code == 201, r.text
    mid = r.json()["id"]
    listed = sup.get("/api/v1/monitors", params={"until": "2026-11-30"}).json()
    m = next(x for x in listed if x["id"] == mid)
    assert len(m["weeks"]) == 12 and m["weeks"][-1] == "2026-W49"
    assert sum(m["counts"]) == len(_calls_saying(db, "师傅", "agent")) > 3
    assert isinstance(m["rising"], bool)
    c = sup.get(f"/api/v1/monitors/{mid}/counts", params={
        "date_from": "2026-11-01", "date_to": "2026-11-30", "bucket": "day", "by": "estate"})
    assert c.status_code == 200, c.text
    body = c.json()
    assert len(body["labels"]) == 30 and body["labels"][0] == "2026-11-01"
    assert sum(body["counts"]) == body["calls"] == sum(m["counts"])
    assert sum(sum(v) for v in body["breakdown"].values()) == body["calls"]
    from models import AuditLog
    assert db.query(AuditLog).filter_by(action="monitor.create", object_id=str(mid)).count() == 1
    assert sup.delete(f"/api/v1/monitors/{mid}").status_code == 204
    assert sup.get(f"/api/v1/monitors/{mid}/counts").status_code == 404


def test_monitor_validation_and_permissions(sup, agent1):
    assert sup.post("/api/v1/monitors", json={"query": "-漏水"}).status_code == 422
    r = sup.post("/api/v1/monitors", json={"query": "漏水", "filters": {"score": "1"}})
    assert r.status_code == 422 and "筛选条件" in r.json()["detail"]
    assert sup.post("/api/v1/monitors", json={"query": "漏水"}).status_code == 201
    r = sup.post("/api/v1/monitors", json={"query": "漏水 "})
    assert r.status_code == 409 and "同名" in r.json()["detail"]
    assert agent1.get("/api/v1/monitors").status_code == 403
    assert agent1.post("/api/v1/monitors", json={"query": "经理"}).status_code == 403
    r = sup.get("/api/v1/monitors/1/counts", params={"date_from": "2026-01-01",
                                                      "date_to": "2027-06-01"})
    assert r.status_code == 422


def test_the_weekly_report_lists_the_monitors(sup, db):
    assert sup.post("/api/v1/monitors", json={"name": "维修师傅", "query": "师傅"}).status_code == 201
    r = sup.get("/api/v1/reports/weekly", params={"week": "2026-W45", "format": "json"})
    assert r.status_code == 200, r.text
    table = next(t for t in r.json()["tables"] if t["title"].startswith("关注词"))
    row = table["rows"][0]
    assert row["name"] == "维修师傅" and row["trend"] in ("上升", "—")
    from datetime import datetime
    from zoneinfo import ZoneInfo
    from models import Call
    tz = ZoneInfo("Asia/Shanghai")
    week = {c for c in _calls_saying(db, "师傅")
            if datetime(2026, 11, 2, tzinfo=tz) <= db.get(Call, c).started_at
            < datetime(2026, 11, 9, tzinfo=tz)}
    assert row["calls"] == len(week) > 0


def test_each_monitor_has_its_own_alert_threshold(sup, db, app):
    """alert_calls: the calls a day that raise a monitor alert; 0 none; unset the setting."""
    from datetime import timedelta

    from models import AlertEvent, Call
    from qa import alerts
    from qa.assessment_store import local_tz
    settings = app.state.settings
    tz = local_tz(settings)
    days = {}
    for cid in _calls_saying(db, "师傅", "agent"):
        day = db.get(Call, cid).started_at
        day = (day if day.tzinfo else day.replace(tzinfo=timezone.utc)).astimezone(tz).date()
        days[day] = days.get(day, 0) + 1
    day, k = max(days.items(), key=lambda x: x[1])
    made = {}
    for name, limit in (("一通就报", 1), ("不报", 0), ("默认", None), ("刚好", k),
                        ("差一通", k + 1)):
        r = sup.post("/api/v1/monitors", json={"name": name, "query": "师傅", "speaker": "agent",
                                               "alert_calls": limit})
        assert r.status_code == 201 and r.json()["alert_calls"] == limit, r.text
        made[r.json()["id"]] = name
    assert sup.post("/api/v1/monitors", json={"query": "师傅", "name": "负数",
                                              "alert_calls": -1}).status_code == 422
    noon = datetime.combine(day, datetime.min.time(), tz) + timedelta(hours=23)
    alerts.check_periodic(db, settings.model_copy(update={"alert_monitor_calls": k + 1}), noon)
    db.flush()
    fired = {made[e.details["monitor_id"]] for e in db.query(AlertEvent).filter_by(kind="monitor")
             if e.details.get("monitor_id") in made}
    assert fired == {"一通就报", "刚好"}, (k, fired)
