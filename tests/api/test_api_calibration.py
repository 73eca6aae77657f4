"""Agreement and calibration (issue #16 part 3): recorded random samples (seed and drawn ids kept,
the draw reproducible), the agreement page's figures with the samples' reviews apart from the
others, calibration sessions scored blind with Cohen's kappa checked against values worked out
by hand, and agents kept out of all of it."""
from __future__ import annotations

import random

import pytest

from tests.seeding import add_user

from tests.api.conftest import PASSWORD, login

MONTH = "2026-11"


@pytest.fixture()
def sup2(app):
    add_user(app, "sup2", "supervisor", PASSWORD, display_name="二号主管")
    return login(app, "sup2")


def user_id(db, username):
    from models import User
    return db.query(User).filter_by(username=username).one().id


def month_population(db, last_day=31):
    """The ids of the analysed calls of MONTH (local time; up to ``last_day``), sorted —
    computed here apart from the service."""
    from models import Call
    from qa.assessment_store import local_month, local_tz, to_local
    tz = local_tz()
    return sorted(c.id for c in db.query(Call).filter_by(status="done")
                  if c.started_at and local_month(c.started_at, tz) == MONTH
                  and to_local(c.started_at, tz).day <= last_day)


# --- random samples --------------------------------------------------------------------------------

def test_sample_is_recorded_with_its_seed_and_reproducible(sup, db):
    from models import AuditLog
    r = sup.post("/api/v1/samples", json={"month": MONTH, "size": 5, "seed": 42})
    assert r.status_code == 201, r.text
    s = r.json()
    population = month_population(db)
    assert s["seed"] == 42 and s["population"] == len(population) and s["size"] == 5
    # the draw is random.Random(seed).sample of the sorted population: anyone can repeat it
    assert s["call_ids"] == random.Random(42).sample(population, 5)
    assert [c["call"]["id"] for c in s["calls"]] == s["call_ids"]
    assert s["reproducible"] is True and s["created_by"] == "sup"
    assert s["date_from"] == "2026-11-01" and s["date_to"] == "2026-11-30"
    again = sup.post("/api/v1/samples", json={"month": MONTH, "size": 5, "seed": 42}).json()
    assert again["call_ids"] == s["call_ids"] and again["id"] != s["id"]
    other = sup.post("/api/v1/samples", json={"month": MONTH, "size": 5, "seed": 43}).json()
    assert other["call_ids"] != s["call_ids"]
    # no seed given: one is chosen and recorded, and it repeats the draw
    free = sup.post("/api/v1/samples", json={"date_from": "2026-11-01", "date_to": "2026-11-15",
                                             "size": 3}).json()
    assert free["month"] is None and 0 <= free["seed"] < 2**31
    half = month_population(db, last_day=15)
    assert free["population"] == len(half) < len(population)
    assert free["call_ids"] == random.Random(free["seed"]).sample(half, 3)
    assert sup.get(f"/api/v1/samples/{free['id']}").json()["call_ids"] == free["call_ids"]
    entry = db.query(AuditLog).filter_by(action="sample.draw", object_id=str(s["id"])).one()
    assert entry.actor == "sup" and entry.details["seed"] == 42
    assert entry.details["call_ids"] == s["call_ids"]
    listed = sup.get("/api/v1/samples").json()
    assert [x["id"] for x in listed][:1] == [free["id"]] and len(listed) == 4
    # bad requests
    assert sup.post("/api/v1/samples", json={"month": MONTH, "date_from": "2026-11-01",
                                             "date_to": "2026-11-02", "size": 2}).status_code == 422
    assert sup.post("/api/v1/samples", json={"size": 2}).status_code == 422
    assert sup.post("/api/v1/samples", json={"date_from": "0001-01-01", "date_to": "0001-01-02",
                                             "size": 2}).status_code == 422
    assert sup.post("/api/v1/samples", json={"month": "2031-01", "size": 2}).status_code == 409
    assert sup.get("/api/v1/samples/999999").status_code == 404


def test_sample_reviews_count_apart_from_the_queue_on_the_agreement_page(sup, db):
    from models import Finding
    before = {r["code"]: r for r in sup.get(f"/api/v1/agreement?month={MONTH}").json()["rules"]}
    assert {"GR01", "GR02", "SV04"} <= set(before)  # every built-in code has a row
    s = sup.post("/api/v1/samples", json={"month": MONTH, "size": 40, "seed": 7}).json()
    sampled = set(s["call_ids"])
    # a sampled call with fails, and a fail of a call outside the sample
    call = next(c for c in s["calls"] if c["fails"] >= 1)
    cid = call["call"]["id"]
    r = sup.post(f"/api/v1/samples/{s['id']}/calls/{cid}/check")
    assert r.status_code == 409  # its fails are not decided yet
    fails = db.query(Finding).filter_by(call_id=cid, status="fail").all()
    for f in fails:
        assert sup.post(f"/api/v1/findings/{f.id}/review",
                        json={"decision": "overturn", "comment": "抽检推翻"}).status_code == 200
    r = sup.post(f"/api/v1/samples/{s['id']}/calls/{cid}/check")
    assert r.status_code == 200 and r.json()["checked_by"] == "sup"
    assert sup.post(f"/api/v1/samples/{s['id']}/calls/{cid}/check").status_code == 409
    a = sup.get(f"/api/v1/agreement?month={MONTH}").json()
    rows = {r["code"]: r for r in a["rules"]}
    for f in fails:
        # all calls of the month are in this sample now: every fail counts as a sample's
        assert rows[f.code]["sample"]["overturned"] >= 1
        assert rows[f.code]["queue"]["fails"] == 0
    assert a["sample_calls"] == len(sampled)
    assert a["totals"]["sample"]["fails"] == sum(r["machine_fails"] for r in a["rules"])
    code = fails[0].code
    g = rows[code]["sample"]
    assert g["agreement"] == pytest.approx(100.0 * g["upheld"] / (g["upheld"] + g["overturned"]),
                                           abs=0.1)
    # most overturned first
    most = a["most_overturned"]
    assert code in most
    counts = [rows[c]["overturned"] for c in most]
    assert counts == sorted(counts, reverse=True)
    assert before[code]["sample"]["fails"] == 0  # nothing was sampled before


def test_queue_reviews_outside_samples(sup, db):
    from models import Finding
    s = sup.post("/api/v1/samples", json={"month": MONTH, "size": 3, "seed": 1}).json()
    outside = next(f for f in db.query(Finding).filter_by(status="fail", review_state="pending")
                   if f.call_id not in s["call_ids"])
    before = {r["code"]: r for r in sup.get(f"/api/v1/agreement?month={MONTH}").json()["rules"]}
    assert sup.post(f"/api/v1/findings/{outside.id}/review",
                    json={"decision": "uphold"}).status_code == 200
    after = {r["code"]: r for r in sup.get(f"/api/v1/agreement?month={MONTH}").json()["rules"]}
    b, c = before[outside.code], after[outside.code]
    assert c["queue"]["upheld"] == b["queue"]["upheld"] + 1
    assert c["queue"]["pending"] == b["queue"]["pending"] - 1
    assert c["sample"] == b["sample"]


# --- calibration -----------------------------------------------------------------------------------

CALLS = ["pub-001", "pub-002", "pub-003", "pub-004"]
# The hand-made set: two rules of four calls.
#
# GR01   sup   sup2  machine
#  c1    pass  pass  pass
#  c2    pass  fail  pass
#  c3    fail  fail  pass
#  c4    fail  fail  fail
# sup–sup2: p_o = 3/4; p_e = (2/4·1/4) + (2/4·3/4) = 1/2       → κ = (3/4−1/2)/(1/2) = 0.5
# sup–machine: p_o = 3/4; p_e = (2/4·3/4) + (2/4·1/4) = 1/2    → κ = 0.5
# sup2–machine: p_o = 2/4; p_e = (1/4·3/4) + (3/4·1/4) = 3/8   → κ = (1/2−3/8)/(5/8) = 0.2
# mean against the machine: κ (0.5+0.2)/2 = 0.35, percent (75+50)/2 = 62.5
#
# GR02   sup   sup2  machine
#  c1-3  n/a   n/a   n/a
#  c4    n/a   n/a   pass
# sup–sup2: every label n/a on both sides: p_e = 1, κ undefined (None), percent 100
# sup–machine: p_o = 3/4; p_e = 1·3/4 = 3/4                      → κ = 0, percent 75
#
# Overall (8 items): sup p,p,f,f,n,n,n,n  sup2 p,f,f,f,n,n,n,n  machine p,p,p,f,n,n,n,p
# sup–sup2: p_o = 7/8; p_e = (2·1 + 2·3 + 4·4)/64 = 24/64      → κ = (56−24)/(64−24) = 0.8
# sup–machine: p_o = 6/8; p_e = (2·4 + 2·1 + 4·3)/64 = 22/64   → κ = (48−22)/(64−22) = 13/21
# sup2–machine: p_o = 5/8; p_e = (1·4 + 3·1 + 4·3)/64 = 19/64  → κ = (40−19)/(64−19) = 7/15
LABELS = {
    "sup": {"GR01": ["pass", "pass", "fail", "fail"], "GR02": ["n/a"] * 4},
    "sup2": {"GR01": ["pass", "fail", "fail", "fail"], "GR02": ["n/a"] * 4},
}
MACHINE = {"GR01": ["pass", "pass", "pass", "fail"], "GR02": ["n/a", "n/a", "n/a", "pass"]}


def cells(username):
    return [{"call_id": c, "code": code, "label": LABELS[username][code][i]}
            for code in ("GR01", "GR02") for i, c in enumerate(CALLS)]


def set_machine(db):
    from models import Finding
    for code, labels in MACHINE.items():
        for cid, label in zip(CALLS, labels):
            f = db.query(Finding).filter_by(call_id=cid, code=code).one()
            f.status = label
    db.commit()


def test_calibration_kappa_and_blindness(sup, sup2, admin, db):
    from models import AuditLog
    set_machine(db)
    ids = [user_id(db, "sup"), user_id(db, "sup2")]
    r = sup.post("/api/v1/calibration/sessions", json={
        "name": "十一月校准", "reviewer_ids": ids, "call_ids": CALLS, "codes": ["GR01", "GR02"]})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert r.json()["me"] == {"reviewer": True, "submitted": False, "scored": 0, "needed": 8,
                              "may_see_results": False}
    url = f"/api/v1/calibration/sessions/{sid}"

    # a draft: saved, visible to its author only; nobody's results before submitting
    r = sup.put(f"{url}/scores", json={"scores": cells("sup")[:3]})
    assert r.status_code == 200 and len(r.json()["scores"]) == 3
    assert sup.get(f"{url}/results").status_code == 403
    assert sup2.get(f"{url}/results").status_code == 403
    assert sup2.get(f"{url}/scores").json()["scores"] == []
    session = sup2.get(url).json()
    assert "scores" not in session and "findings" not in str(session)
    # the admin is no reviewer: may watch (no submitted scores yet), may not score
    assert admin.get(f"{url}/results").json()["reviewers"] == []
    assert admin.put(f"{url}/scores", json={"scores": cells("sup")[:1]}).status_code == 403
    # incomplete submission refused; cells outside the session refused
    r = sup.put(f"{url}/scores", json={"scores": [], "submit": True})
    assert r.status_code == 422 and "5 项未评分" in r.json()["detail"]
    assert sup.put(f"{url}/scores", json={"scores": [
        {"call_id": "pub-009", "code": "GR01", "label": "pass"}]}).status_code == 422
    assert sup.put(f"{url}/scores", json={"scores": [
        {"call_id": "pub-001", "code": "SV04", "label": "pass"}]}).status_code == 422

    # nor anywhere else: the call page, its findings, the call list, the review queue
    assert sup.get(f"/api/v1/calls/{CALLS[0]}").status_code == 403
    assert "校准" in sup.get(f"/api/v1/calls/{CALLS[0]}").json()["detail"]
    fid = admin.get(f"/api/v1/calls/{CALLS[0]}").json()["findings"][0]["id"]
    assert sup.get(f"/api/v1/findings/{fid}").status_code == 403
    rows = {c["id"]: c for c in sup.get("/api/v1/calls", params={"page_size": 100}).json()["items"]}
    assert rows[CALLS[0]]["blind"] and rows[CALLS[0]]["score"] is None
    assert rows[CALLS[0]]["failed_rules"] == []
    assert not any(rows[c]["blind"] for c in rows if c not in CALLS)
    assert not {i["call"]["id"] for i in sup.get("/api/v1/review-queue").json()} & set(CALLS)
    assert sup.get(f"/api/v1/calls/{CALLS[0]}/audio").status_code in (200, 404)  # not blind
    assert admin.get(f"/api/v1/calls/{CALLS[0]}").status_code == 200   # no reviewer

    r = sup.put(f"{url}/scores", json={"scores": cells("sup"), "submit": True})
    assert r.status_code == 200 and r.json()["submitted_at"]
    assert sup.get(f"/api/v1/calls/{CALLS[0]}").status_code == 200    # submitted: may look
    assert sup.put(f"{url}/scores", json={"scores": cells("sup")}).status_code == 409
    # sup has submitted: sees the machine's agreement with them, not sup2's draft
    res = sup.get(f"{url}/results").json()
    assert res["waiting"] == ["sup2"] and [x["username"] for x in res["reviewers"]] == ["sup"]
    assert res["overall"]["pairs"] == []
    # sup2 still scores blind
    assert sup2.get(f"{url}/results").status_code == 403
    r = sup2.put(f"{url}/scores", json={"scores": cells("sup2"), "submit": True})
    assert r.status_code == 200

    res = sup2.get(f"{url}/results").json()
    assert res["state"] == "closed" and res["waiting"] == []
    rules = {x["code"]: x for x in res["rules"]}
    gr01, gr02, overall = rules["GR01"], rules["GR02"], res["overall"]
    (pair,) = gr01["pairs"]
    assert (pair["n"], pair["agree"], pair["percent"]) == (4, 3, 75.0)
    assert pair["kappa"] == pytest.approx(0.5) and gr01["mean_kappa"] == pytest.approx(0.5)
    m = {x["rater"]: x for x in gr01["machine"]}
    assert m["sup"]["kappa"] == pytest.approx(0.5) and m["sup"]["percent"] == 75.0
    assert m["sup2"]["kappa"] == pytest.approx(0.2) and m["sup2"]["percent"] == 50.0
    assert gr01["machine_mean_kappa"] == pytest.approx(0.35)
    assert gr01["machine_mean_percent"] == pytest.approx(62.5)
    (pair,) = gr02["pairs"]
    assert pair["kappa"] is None and pair["percent"] == 100.0 and gr02["mean_kappa"] is None
    m = {x["rater"]: x for x in gr02["machine"]}
    assert m["sup"]["kappa"] == pytest.approx(0.0) and m["sup"]["percent"] == 75.0
    (pair,) = overall["pairs"]
    assert (pair["n"], pair["agree"]) == (8, 7) and pair["kappa"] == pytest.approx(0.8)
    m = {x["rater"]: x for x in overall["machine"]}
    assert m["sup"]["kappa"] == pytest.approx(13 / 21) and m["sup"]["n"] == 8
    assert m["sup2"]["kappa"] == pytest.approx(7 / 15)
    # the cells where anybody differs: GR01 c2, c3 and GR02 c4
    assert {(d["call_id"], d["code"]) for d in res["disagreements"]} == {
        ("pub-002", "GR01"), ("pub-003", "GR01"), ("pub-004", "GR02")}
    d = next(x for x in res["disagreements"] if x["code"] == "GR02")
    assert d["machine"] == "pass" and d["labels"] == {"sup": "n/a", "sup2": "n/a"}
    actions = {e.action for e in db.query(AuditLog).filter_by(
        object_type="calibration_session", object_id=str(sid))}
    assert actions == {"calibration.create", "calibration.scores", "calibration.submit"}
    # the agreement page counts the submitted scores against the machine (passes too)
    a = {r["code"]: r for r in sup.get(f"/api/v1/agreement?month={MONTH}").json()["rules"]}
    assert a["GR01"]["calibration"] == {"n": 8, "agree": 5, "percent": 62.5}


def test_calibration_from_a_random_draw_and_bad_requests(sup, sup2, db):
    ids = [user_id(db, "sup"), user_id(db, "sup2")]
    r = sup.post("/api/v1/calibration/sessions", json={
        "name": "抽样校准", "reviewer_ids": ids, "draw": {"month": MONTH, "size": 3, "seed": 5}})
    assert r.status_code == 201, r.text
    cs = r.json()
    assert cs["call_ids"] == random.Random(5).sample(month_population(db), 3)
    assert cs["sample_id"] and "GR01" in cs["codes"] and len(cs["codes"]) >= 28
    s = sup.get(f"/api/v1/samples/{cs['sample_id']}").json()
    assert s["purpose"] == "calibration" and s["seed"] == 5 and s["call_ids"] == cs["call_ids"]
    # from that sample again
    r = sup.post("/api/v1/calibration/sessions", json={
        "name": "同一抽样", "reviewer_ids": ids, "sample_id": cs["sample_id"]})
    assert r.status_code == 201 and r.json()["call_ids"] == cs["call_ids"]
    base = {"name": "x", "reviewer_ids": ids}
    post = lambda body: sup.post("/api/v1/calibration/sessions", json=body).status_code  # noqa
    assert post({**base}) == 422  # no calls
    assert post({**base, "call_ids": ["pub-001"], "sample_id": cs["sample_id"]}) == 422
    assert post({**base, "call_ids": ["nope"]}) == 422
    assert post({**base, "reviewer_ids": [ids[0], ids[0]], "call_ids": ["pub-001"]}) == 422
    agent = user_id(db, "a1")
    assert post({**base, "reviewer_ids": [ids[0], agent], "call_ids": ["pub-001"]}) == 422
    assert post({**base, "sample_id": 999999}) == 404


def test_agents_are_kept_out(agent1, sup, sup2, db):
    ids = [user_id(db, "sup"), user_id(db, "sup2")]
    sid = sup.post("/api/v1/calibration/sessions", json={
        "name": "x", "reviewer_ids": ids, "call_ids": ["pub-001"]}).json()["id"]
    sample = sup.post("/api/v1/samples", json={"month": MONTH, "size": 2, "seed": 3}).json()
    for method, url, body in [
            ("GET", f"/api/v1/agreement?month={MONTH}", None),
            ("GET", "/api/v1/samples", None),
            ("POST", "/api/v1/samples", {"month": MONTH, "size": 2}),
            ("GET", f"/api/v1/samples/{sample['id']}", None),
            ("POST", f"/api/v1/samples/{sample['id']}/calls/{sample['call_ids'][0]}/check", None),
            ("GET", "/api/v1/calibration/sessions", None),
            ("POST", "/api/v1/calibration/sessions", {"name": "x", "reviewer_ids": ids,
                                                      "call_ids": ["pub-001"]}),
            ("GET", f"/api/v1/calibration/sessions/{sid}", None),
            ("GET", f"/api/v1/calibration/sessions/{sid}/scores", None),
            ("PUT", f"/api/v1/calibration/sessions/{sid}/scores", {"scores": []}),
            ("GET", f"/api/v1/calibration/sessions/{sid}/results", None)]:
        r = agent1.request(method, url, json=body)
        assert r.status_code == 403, (method, url, r.status_code)
