"""The rule studio (issue #16): rule documents saved as versions, validated with every problem
listed, activated by supervisors or admins, tried on the stored calls (dry run, precision and recall against
supervisors' verdicts), and past calls re-scored by the workers with the active rules.

The seeded database holds the 40 truth calls (tests/data/truth); the expected statuses of the
phrase rules below come from those files directly (an exact phrase in some agent utterance)."""
from __future__ import annotations

import json
from datetime import date

from tests.seeding import DATA

TRUTH = {json.loads(p.read_text(encoding="utf-8"))["call_id"]: json.loads(p.read_text("utf-8"))
         for p in sorted((DATA / "truth").glob("*.truth.json"))}


def rule(code: str, phrases: list[str], *, weight: float = 5, name: str = "稍等用语") -> str:
    return (f"code: {code}\nname: {name}\nweight: {weight}\n"
            f"passes_when:\n  phrase: {{phrases: [{', '.join(phrases)}], speaker: agent, "
            f"match: exact}}\n")


def expected_fail(call_id: str, phrases: list[str]) -> bool:
    """The oracle: no agent utterance of the truth transcript contains any of ``phrases``."""
    return not any(p in u["text"] for u in TRUTH[call_id]["utterances"]
                   if u["speaker"] == "agent" for p in phrases)


def drain(app) -> list[str]:
    """Run the queued jobs the way the workers do; their outcomes."""
    from qa.worker import run_one
    out = []
    while (o := run_one(app.state.engine, "test:1", app.state.settings)) is not None:
        out.append(o)
    return out


def test_versions_validation_permissions_and_audit(sup, admin, agent1, anon, db):
    from models import AuditLog, RuleVersion
    r = sup.post("/api/v1/rule-documents", json={"yaml_text": rule("X001", ["稍等"]),
                                                 "comment": "第一版"})
    assert r.status_code == 201, r.text
    d = r.json()
    assert (d["code"], d["kind"], d["latest_version"], d["active_version"]) == \
        ("X001", "custom", 1, None)
    assert d["name"] == "稍等用语" and d["weight"] == 5 and d["versions"][0]["comment"] == "第一版"
    assert d["versions"][0]["created_by"] == "sup"
    # the same text again is not a new version; another text is version 2
    assert sup.post("/api/v1/rule-documents",
                    json={"yaml_text": rule("X001", ["稍等"])}).status_code == 409
    r = sup.post("/api/v1/rule-documents", json={"yaml_text": rule("X001", ["稍等", "还有什么"])})
    assert r.status_code == 201 and r.json()["latest_version"] == 2
    assert [v["version"] for v in r.json()["versions"]] == [1, 2]
    # an improper document: every problem listed, nothing saved
    bad = ("code: Y1\nname: ''\nweight: -3\ncolour: red\n"
           "passes_when:\n  phrase: {phrases: [], speaker: boss}\n")
    r = sup.post("/api/v1/rule-documents", json={"yaml_text": bad})
    assert r.status_code == 422, r.text
    problems = r.json()["detail"]
    assert isinstance(problems, list) and len(problems) >= 4, problems
    from qa.custom_rules import RuleDocumentError, parse_document
    try:
        parse_document(bad)
    except RuleDocumentError as exc:
        assert [p["message"] for p in problems] == exc.errors
    assert all("/ " in p["message"] for p in problems)  # 中文 / English
    r = sup.post("/api/v1/rule-documents", json={"yaml_text": "code: [unclosed"})
    assert r.status_code == 422 and "YAML" in r.json()["detail"][0]["message"]
    assert db.query(RuleVersion).count() == 2
    # who may do what
    assert agent1.get("/api/v1/rule-documents").status_code == 403
    assert agent1.post("/api/v1/rule-documents",
                       json={"yaml_text": rule("X002", ["您好"])}).status_code == 403
    assert agent1.post("/api/v1/rule-documents/dry-run",
                       json={"yaml_text": rule("X002", ["您好"])}).status_code == 403
    assert anon.get("/api/v1/rule-documents").status_code == 401
    assert agent1.post("/api/v1/rule-documents/X001/versions/1/activate").status_code == 403
    assert agent1.post("/api/v1/rule-documents/rescore",
                       json={"date_from": "2026-11-01", "date_to": "2026-11-30"}
                       ).status_code == 403
    assert admin.post("/api/v1/rule-documents/X001/versions/3/activate").status_code == 404
    assert admin.post("/api/v1/rule-documents/X404/versions/1/activate").status_code == 404
    assert sup.get("/api/v1/rule-documents/X404").status_code == 404
    # activation: one active version per code; deactivation
    r = sup.post("/api/v1/rule-documents/X001/versions/1/activate")  # supervisors may
    assert r.status_code == 200 and r.json()["active_version"] == 1
    r = admin.post("/api/v1/rule-documents/X001/versions/2/activate")
    assert r.json()["active_version"] == 2
    assert [v["active"] for v in r.json()["versions"]] == [False, True]
    listed = sup.get("/api/v1/rule-documents").json()
    assert [(x["code"], x["active_version"], x["latest_version"]) for x in listed] == \
        [("X001", 2, 2)]
    assert admin.post("/api/v1/rule-documents/X001/deactivate").json()["active_version"] is None
    assert admin.post("/api/v1/rule-documents/X001/deactivate").status_code == 409
    actions = [(e.action, e.actor, e.details.get("version"))
               for e in db.query(AuditLog).filter(AuditLog.action.like("rule.%"))
               .order_by(AuditLog.id)]
    assert actions == [("rule.version", "sup", 1), ("rule.version", "sup", 2),
                       ("rule.activate", "sup", 1), ("rule.activate", "admin", 2),
                       ("rule.deactivate", "admin", None)]


def test_override_document_and_stored_dry_run(sup, admin):
    text = "override: SV04\nsettings:\n  thanks_phrases: {add: [感谢您的耐心]}\n"
    r = sup.post("/api/v1/rule-documents", json={"yaml_text": text})
    assert r.status_code == 201 and r.json()["kind"] == "override"
    r = sup.post("/api/v1/rule-documents/dry-run", json={"code": "SV04", "last_n": 10})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["reference_code"] == "SV04" and out["calls"] == 10
    assert sum(out["counts"].values()) == 10
    assert sup.post("/api/v1/rule-documents/dry-run", json={}).status_code == 422
    assert sup.post("/api/v1/rule-documents/dry-run",
                    json={"code": "SV04", "version": 9}).status_code == 404


def test_dry_run_counts_and_precision_recall_against_verdicts(app, sup, admin, db):
    from models import AuditLog, Call, Finding, Job
    v1, v2 = ["稍等"], ["稍等", "还有什么"]
    assert sup.post("/api/v1/rule-documents", json={"yaml_text": rule("X001", v1)}
                    ).status_code == 201
    # nothing reviewed yet: counts only
    r = sup.post("/api/v1/rule-documents/dry-run", json={"yaml_text": rule("X001", v1)})
    assert r.status_code == 200, r.text
    out = r.json()
    fails = {c for c in TRUTH if expected_fail(c, v1)}
    assert out["calls"] == 40 and out["counts"] == {"pass": 40 - len(fails),
                                                     "fail": len(fails), "n/a": 0}
    assert {i["call_id"] for i in out["items"] if i["status"] == "fail"} == fails
    assert out["items"][0]["status"] == "fail" and out["precision"] is None
    assert out["verdicts"]["calls"] == 0
    item = next(i for i in out["items"] if i["status"] == "fail")
    assert item["agent_id"] and item["started_at"] and item["evidence"]
    # the first version runs on the stored calls: activate, re-score November
    assert admin.post("/api/v1/rule-documents/X001/versions/1/activate").status_code == 200
    r = admin.post("/api/v1/rule-documents/rescore",
                   json={"date_from": "2026-11-01", "date_to": "2026-11-30"})
    assert r.status_code == 202, r.text
    assert r.json()["queued"] == 40 and r.json()["active_rules"] == ["X001:v1"]
    assert db.query(Job).filter_by(kind="reanalyze", state="queued").count() == 40
    entry = db.query(AuditLog).filter_by(action="rule.rescore").one()
    assert entry.actor == "admin" and entry.details["queued"] == 40
    assert drain(app) == ["done"] * 40
    db.expire_all()
    stored = {f.call_id: f for f in db.query(Finding).filter_by(code="X001")}
    assert {c for c, f in stored.items() if f.status == "fail"} == fails
    # supervisors' verdicts on the stored X001 fails: two upheld, two overturned
    upheld, overturned = sorted(fails)[:2], sorted(fails)[2:4]
    for cid, decision in [*((c, "uphold") for c in upheld),
                          *((c, "overturn") for c in overturned)]:
        r = sup.post(f"/api/v1/findings/{stored[cid].id}/review", json={"decision": decision})
        assert r.status_code == 200, r.text
    # version 2 judged against them
    r = sup.post("/api/v1/rule-documents/dry-run",
                 json={"yaml_text": rule("X001", v2), "date_from": "2026-11-01",
                       "date_to": "2026-11-30", "max_items": 5})
    out = r.json()
    tp = sum(expected_fail(c, v2) for c in upheld)
    fp = sum(expected_fail(c, v2) for c in overturned)
    assert out["verdicts"] == {"calls": 4, "true_fail": tp, "false_fail": fp,
                               "missed_fail": 2 - tp, "true_pass": 2 - fp}
    assert out["precision"] == (round(tp / (tp + fp), 4) if tp + fp else None)
    assert out["recall"] == round(tp / 2, 4)
    assert len(out["items"]) == 5 and out["items_truncated"]
    assert out["seconds"] >= 0
    # dates out of order / out of range are refused
    assert sup.post("/api/v1/rule-documents/dry-run",
                    json={"yaml_text": rule("X001", v2), "date_from": "2026-11-30",
                          "date_to": "2026-11-01"}).status_code == 422
    assert sup.post("/api/v1/rule-documents/dry-run",
                    json={"yaml_text": rule("X001", v2), "date_from": "0001-01-01"}
                    ).status_code == 422
    assert db.get(Call, "pub-001").status == "done"


def test_rescore_gives_the_custom_finding_and_its_deduction(app, sup, admin, db):
    from models import Call, Finding
    cid = next(c for c in sorted(TRUTH) if expected_fail(c, ["稍等"]))
    before = db.get(Call, cid).score
    assert sup.post("/api/v1/rule-documents",
                    json={"yaml_text": rule("X001", ["稍等"], weight=7)}).status_code == 201
    admin.post("/api/v1/rule-documents/X001/versions/1/activate")
    day = date.fromisoformat(TRUTH[cid]["metadata"]["started_at"][:10]).isoformat()
    r = admin.post("/api/v1/rule-documents/rescore", json={"date_from": day, "date_to": day})
    assert r.json()["queued"] >= 1
    assert set(drain(app)) == {"done"}
    db.expire_all()
    f = db.query(Finding).filter_by(call_id=cid, code="X001").one()
    assert f.status == "fail" and f.deduction == 7
    call = db.get(Call, cid)
    assert call.score == before - 7
    assert [x["code"] for x in call.report["rules"]][-1] == "X001"
    # a closed month is left alone
    assert sup.post("/api/v1/assessments/2026-11/close", json={}).status_code == 200
    r = admin.post("/api/v1/rule-documents/rescore", json={"date_from": day, "date_to": day})
    assert r.json()["queued"] == 0 and r.json()["closed_month"] >= 1


def test_activating_a_red_line_document_restamps_the_stored_red_lines(sup, admin, db):
    from models import AuditLog
    text = rule("X005", ["绝不会说的话"], weight=0).replace("weight: 0\n",
                                                       "weight: 0\nred_line: true\n")
    r = sup.post("/api/v1/rule-documents", json={"yaml_text": text})
    assert r.status_code == 201 and r.json()["red_line"]
    assert admin.post("/api/v1/rule-documents/X005/versions/1/activate").status_code == 200
    assert admin.post("/api/v1/rule-documents/X005/deactivate").status_code == 200
    details = [e.details for e in db.query(AuditLog).filter(
        AuditLog.action.in_(("rule.activate", "rule.deactivate"))).order_by(AuditLog.id)]
    assert [d["red_lines_restamped"] for d in details] == [True, True]
    # a document without a red line changes no red line: nothing to restamp
    sup.post("/api/v1/rule-documents", json={"yaml_text": rule("X006", ["您好"])})
    admin.post("/api/v1/rule-documents/X006/versions/1/activate")
    entry = db.query(AuditLog).filter_by(action="rule.activate", object_id="X006").one()
    assert entry.details["red_lines_restamped"] is False
