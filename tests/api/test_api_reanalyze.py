"""Re-analysis of stored calls, the agent's month recomputed when a result is stored, and the
review queue with mono calls whose speaker separation is uncertain."""
from __future__ import annotations

from datetime import datetime, timezone

MONTH = "2026-11"


def _finding(db, call_id, code):
    from models import Finding
    return db.query(Finding).filter_by(call_id=call_id, code=code).one()


def test_reanalyze_keeps_reviews_where_status_unchanged(sup, db):
    from models import AuditLog, Call
    kept = _finding(db, "pub-009", "PO01")
    assert kept.status == "fail"
    r = sup.post(f"/api/v1/findings/{kept.id}/review", json={"decision": "uphold",
                                                            "comment": "属实"})
    assert r.status_code == 200
    # a stale finding: stored as an upheld fail, but the rules pass it now
    stale = _finding(db, "pub-009", "GR02")
    assert stale.status == "pass"
    stale.status, stale.review_state, stale.deduction = "fail", "upheld", 5
    db.commit()
    stale_id = stale.id

    r = sup.post("/api/v1/calls/pub-009/reanalyze")
    assert r.status_code == 200, r.text
    out = r.json()
    assert "GR02" in out["changed"] and "PO01" in out["kept_reviews"]
    assert out["score"] is not None and out["seconds"] >= 0
    db.expire_all()
    again = _finding(db, "pub-009", "PO01")
    assert again.id == kept.id and again.review_state == "upheld"
    assert again.review_comment == "属实"
    gr02 = _finding(db, "pub-009", "GR02")
    assert gr02.status == "pass" and gr02.review_state == "pending" and gr02.id != stale_id
    call = db.get(Call, "pub-009")
    assert call.status == "done" and call.score == out["score"]
    assert call.scores[-1].current
    entry = db.query(AuditLog).filter_by(action="call.reanalyze", object_id="pub-009").one()
    assert entry.actor == "sup" and "GR02" in entry.details["changed"]
    assert entry.details["dropped_reviews"]["GR02"]["review_state"] == "upheld"
    # the call page shows the new result
    d = sup.get("/api/v1/calls/pub-009").json()
    assert {f["code"]: f["status"] for f in d["findings"]}["GR02"] == "pass"


def test_reanalyze_authorisation_and_closed_month(sup, agent1, anon, db):
    assert agent1.post("/api/v1/calls/pub-001/reanalyze").status_code == 403  # own call
    assert agent1.post("/api/v1/calls/pub-009/reanalyze").status_code == 404  # another's
    assert sup.post("/api/v1/calls/nope/reanalyze").status_code == 404
    assert anon.post("/api/v1/calls/pub-001/reanalyze").status_code == 401
    assert sup.post(f"/api/v1/assessments/{MONTH}/close", json={}).status_code == 200
    r = sup.post("/api/v1/calls/pub-009/reanalyze")
    assert r.status_code == 409 and "关账" in r.json()["detail"]


def test_storing_a_result_recomputes_the_agents_month(app, sup, db, truth_files):
    import json as _json

    from classifiers.records import Classification
    from models import Call, MonthlyAssessment
    from qa.engine import analyze
    from qa.results import store_report

    settings = app.state.settings
    before = sup.get(f"/api/v1/assessments/A1002/{MONTH}").json()  # stores the month
    row = db.query(MonthlyAssessment).filter_by(agent_id="A1002", month=MONTH).one()
    assert row.call_count == before["calls"]

    d = _json.loads(next(p for p in truth_files if p.name.startswith("pub-012"))
                    .read_text("utf-8"))
    doc = {k: d[k] for k in ("duration", "metadata", "utterances")}
    rep = analyze(dict(doc, call_id="new-1"), classification=Classification("repair", 1.0))

    def new_call(cid, started):
        c = Call(id=cid, content_sha256=cid.ljust(64, "0"), source_path=f"/x/{cid}.json",
                 filename=f"{cid}.json", media_type="transcript", agent_id="A1002",
                 started_at=started, status="processing", meta={"agent_id": "A1002"})
        db.add(c)
        db.flush()
        return c

    store_report(db, new_call("new-1", datetime(2026, 11, 20, 3, tzinfo=timezone.utc)), rep, {},
                 settings=settings)
    db.commit()
    db.refresh(row)
    assert row.call_count == before["calls"] + 1
    assert row.average_score != before["average_score"]

    # a closed month stays frozen
    assert sup.post(f"/api/v1/assessments/{MONTH}/close", json={}).status_code == 200
    db.expire_all()
    frozen = dict(row.figures)
    store_report(db, new_call("new-2", datetime(2026, 11, 21, 3, tzinfo=timezone.utc)), rep, {},
                 settings=settings)
    db.commit()
    db.refresh(row)
    assert row.closed and row.figures == frozen and row.call_count == before["calls"] + 1


def test_uncertain_speakers_reach_the_review_queue(app, sup, db, truth_files):
    import json as _json

    from classifiers.records import Classification
    from models import Call
    from qa.engine import analyze
    from qa.results import store_report

    d = _json.loads(next(p for p in truth_files if p.name.startswith("pub-001"))
                    .read_text("utf-8"))  # no fails at all
    doc = {k: d[k] for k in ("call_id", "duration", "metadata", "utterances")}
    doc["diagnostics"] = {"needs_review": True, "speaker_separation": {
        "needs_review": True, "review_reasons": ["角色判定置信度低"]}}
    rep = analyze(doc, classification=Classification("repair", 1.0))
    assert not [f for f in rep.rules if f.status == "fail" and f.deduction]
    call = db.get(Call, "pub-001")
    store_report(db, call, rep, {}, settings=app.state.settings)
    db.commit()
    assert call.needs_review
    q = sup.get("/api/v1/review-queue", params={"limit": 500}).json()
    item = next(x for x in q if x["call"]["id"] == "pub-001")
    assert item["reason"] == "speaker_uncertain"
    detail = sup.get("/api/v1/calls/pub-001").json()
    assert detail["review_reasons"] == ["角色判定置信度低"] and detail["needs_review"]
    # a supervisor's note on the call takes it off the queue
    assert sup.post("/api/v1/calls/pub-001/comments",
                    json={"comment": "复听确认说话人无误"}).status_code == 201
    q = sup.get("/api/v1/review-queue", params={"limit": 500}).json()
    assert "pub-001" not in {x["call"]["id"] for x in q}


def test_review_pending_column_follows_reviews_and_filter_is_exact(sup, db):
    """``calls.review_pending`` (the denormalised 'review pending' filter) matches the findings
    after reviews, appeal decisions and re-analysis."""
    from models import Call, Finding

    def truth() -> set[str]:
        return {f.call_id for f in db.query(Finding).filter_by(status="fail",
                                                               review_state="pending")}

    def listed(state: str) -> set[str]:
        r = sup.get("/api/v1/calls", params={"review_state": state, "page_size": 500})
        assert r.status_code == 200, r.text
        body = r.json()
        ids = {c["id"] for c in body["items"]}
        assert body["total"] == len(ids)
        return ids

    assert listed("pending") == truth() and truth()
    call_id = sorted(truth())[0]
    for f in db.query(Finding).filter_by(call_id=call_id, status="fail", review_state="pending"):
        assert sup.post(f"/api/v1/findings/{f.id}/review",
                        json={"decision": "uphold"}).status_code == 200
    db.expire_all()
    assert db.get(Call, call_id).review_pending is False
    assert call_id not in listed("pending") and call_id in listed("reviewed")
    assert listed("pending") == truth()
    # re-analysis brings a changed finding back as pending
    f = db.query(Finding).filter_by(call_id=call_id, status="pass").first()
    f.status, f.review_state = "fail", "upheld"
    db.commit()
    assert sup.post(f"/api/v1/calls/{call_id}/reanalyze").status_code == 200
    db.expire_all()
    assert db.get(Call, call_id).review_pending == (call_id in truth())
    assert listed("pending") == truth()
