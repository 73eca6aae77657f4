"""Call-reason topics through the API: a week's topics from the callers' own words with the
change from the week before, a name that stays for the next week, merging, supervisors only."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.qa.test_topics import make_docs
from tests.seeding import add_reason_calls

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture()
def weeks(db):
    """Two weeks of calls written from generated reasons: leaks and fees both weeks, noise
    new in the second (2027-W02 → 2027-W03)."""
    truth = {}
    for prefix, monday, counts in (("p", datetime(2027, 1, 11, 10, tzinfo=TZ),
                                    {"leak": 12, "fee": 12}),
                                   ("q", datetime(2027, 1, 18, 10, tzinfo=TZ),
                                    {"leak": 12, "fee": 12, "noise": 14})):
        docs, t = make_docs(counts, seed=len(prefix) + monday.day, prefix=prefix)
        truth.update(t)
        add_reason_calls(db, docs, [monday + timedelta(days=i % 5, minutes=i)
                                    for i in range(len(docs))], greeting=True)
    db.commit()
    return truth


def test_topics_of_a_week_and_names_that_stay(sup, agent1, weeks):
    assert agent1.get("/api/v1/topics", params={"week": "2027-W03"}).status_code == 403
    r = sup.get("/api/v1/topics", params={"week": "2027-W03"})
    assert r.status_code == 200, r.text
    week = r.json()
    assert week["previous_week"] == "2027-W02" and week["reasons"] == 38
    covered = sum(t["size"] for t in week["topics"]) + (week["remainder"] or {"size": 0})["size"]
    assert covered == 38
    matter = {t["key"]: {weeks[c] for c in t["call_ids"]} for t in week["topics"]}
    noise = [t for t in week["topics"] if matter[t["key"]] == {"noise"}]
    assert noise and all(t["status"] == "new" for t in noise), week["topics"]
    steady = [t for t in week["topics"] if matter[t["key"]] == {"leak"}]
    assert steady and all(t["status"] != "new" for t in steady)
    assert noise[0]["examples"] and noise[0]["status_zh"] == "本周新出现"

    r = sup.post("/api/v1/topics/names", json={"name": "漏水报修", "vector": steady[0]["vector"]})
    assert r.status_code == 201, r.text
    before = sup.get("/api/v1/topics", params={"week": "2027-W02"}).json()  # the other week
    leak = [t for t in before["topics"] if t["name"] == "漏水报修"]
    assert len(leak) == 1 and {weeks[c] for c in leak[0]["call_ids"]} == {"leak"}

    fee = next(t for t in week["topics"] if matter[t["key"]] == {"fee"})
    r = sup.post("/api/v1/topics/names", json={"name": "水和费用", "vector": steady[0]["vector"],
                                               "others": [fee["vector"]]})
    assert r.status_code == 201 and r.json()[1]["merged_into"] == "水和费用"
    merged = sup.get("/api/v1/topics", params={"week": "2027-W03"}).json()
    m = next(t for t in merged["topics"] if t["name"] == "水和费用")
    assert {weeks[c] for c in m["call_ids"]} == {"leak", "fee"}
    assert len(merged["topics"]) == len(week["topics"]) - 1
    names = sup.get("/api/v1/topics/names").json()
    assert {"漏水报修", "水和费用"} <= {n["name"] for n in names}
    assert sup.get("/api/v1/topics", params={"week": "2027-03"}).status_code == 422
    nid = names[0]["id"]
    assert sup.delete(f"/api/v1/topics/names/{nid}").status_code == 204
    assert sup.delete(f"/api/v1/topics/names/{nid}").status_code == 404


def test_the_weekly_report_lists_the_topics(sup, weeks):
    r = sup.get("/api/v1/reports/weekly", params={"week": "2027-W03", "format": "json"})
    assert r.status_code == 200, r.text
    table = next(t for t in r.json()["tables"] if t["title"].startswith("来电原因"))
    assert "38 通" in table["title"]
    assert sum(row["calls"] for row in table["rows"]) == 38
    assert "本周新出现" in {row["change"] for row in table["rows"]}
