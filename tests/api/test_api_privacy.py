"""Personal data through the API: agents see it masked (call detail, transcript, call list,
search, cases), supervisors see it by default and get masked export files; only admins
change the policy (audited); supervisors reveal one call for a while in their session
(audited), agents cannot; the recording with the personal data beeped out."""
from __future__ import annotations

import io
import logging
import wave

import pytest

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


def test_beeped_copies_do_not_pile_up(agent1, app_settings):
    """One copy per call is kept: a new transcript's copy replaces the old one; a copy (or a
    leftover .part) not asked for in a day is removed when another is made."""
    import os
    import time

    from api.services import privacy
    folder = app_settings.home / "masked-audio"
    assert agent1.get("/api/v1/calls/pub-001/audio", params={"masked": 1}).status_code == 200
    (first,) = folder.glob("pub-001-*.wav")
    stale_old = folder / "pub-001-0000000000000000.wav"  # an earlier transcript's copy
    other = folder / "pub-002-0000000000000000.wav"      # another call's, asked for lately
    old = folder / "pub-003-0000000000000000.wav"        # another call's, a day old
    part = folder / "pub-004-0000000000000000.wav.part"  # a crash's leftover
    for p in (stale_old, other, old, part):
        p.write_bytes(b"x")
    day_ago = time.time() - privacy.MASKED_AUDIO_KEEP_S - 60
    for p in (old, part):
        os.utime(p, (day_ago, day_ago))
    first.unlink()  # the transcript changed: a new copy is made
    assert agent1.get("/api/v1/calls/pub-001/audio", params={"masked": 1}).status_code == 200
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [other.name] + [p.name for p in folder.glob("pub-001-*.wav")])
    assert len(list(folder.glob("pub-001-*.wav"))) == 1


# --- the outputs beyond the call page: findings, appeals, the queue, /me, alerts, topics -----

PHONE, MASKED_PHONE = "13812345678", "138****5678"
QUOTE = f"我的手机号{PHONE}，九栋二单元一零零二"


@pytest.fixture()
def quoted(db):
    """A fail of the agent a1's call pub-001 whose evidence and message quote the caller's
    number and room, appealed with a reason that quotes them too."""
    from models import Appeal, Finding, User
    f = db.query(Finding).filter_by(call_id="pub-001").order_by(Finding.id).first()
    f.status, f.review_state, f.message = "fail", "pending", f"客户留了电话 {PHONE}"
    f.evidence = [{"speaker": "customer", "start": 10.0, "end": 14.0, "text": QUOTE}]
    a1 = db.query(User).filter_by(username="a1").one()
    appeal = Appeal(finding_id=f.id, call_id="pub-001", agent_id="A1001", filed_by=a1.id,
                    reason=f"客户说的是 {PHONE}，我已回电", state="open")
    db.add(appeal)
    db.commit()
    return f.id, appeal.id


def _mask_supervisors(admin, *outputs: str) -> None:
    r = admin.put("/api/v1/privacy/policy",
                  json={"roles": {"supervisor": {o: True for o in outputs}}})
    assert r.status_code == 200, r.text


@pytest.fixture()
def web(app_settings):
    """The app with its pages (the ``app`` fixture is the API only)."""
    from api.app import create_app
    application = create_app(app_settings)
    yield application
    application.state.engine.dispose()


def test_findings_and_appeals_are_masked_for_agents(agent1, sup, quoted):
    finding_id, appeal_id = quoted
    mine = agent1.get(f"/api/v1/findings/{finding_id}").json()
    assert mine["evidence"][0]["text"] == f"我的手机号{MASKED_PHONE}，*栋*单元**零二"
    assert MASKED_PHONE in mine["message"] and PHONE not in mine["message"]
    assert PHONE not in mine["appeals"][0]["reason"]
    for r in (agent1.get("/api/v1/appeals").json(),
              [agent1.get(f"/api/v1/appeals/{appeal_id}").json()]):
        assert r[0]["reason"] == f"客户说的是 {MASKED_PHONE}，我已回电"
    clear = sup.get(f"/api/v1/findings/{finding_id}").json()
    assert clear["evidence"][0]["text"] == QUOTE
    assert sup.get(f"/api/v1/appeals/{appeal_id}").json()["reason"].startswith(f"客户说的是 {PHONE}")
    r = sup.post(f"/api/v1/appeals/{appeal_id}/decision",
                 json={"decision": "reject", "reply": f"录音里是 {PHONE}"})
    assert r.status_code == 200, r.text
    assert r.json()["reply"] == f"录音里是 {PHONE}"
    assert agent1.get(f"/api/v1/appeals/{appeal_id}").json()["reply"] == f"录音里是 {MASKED_PHONE}"


def test_a_reveal_lifts_the_masking_of_that_calls_findings_and_appeals(admin, sup, quoted):
    finding_id, appeal_id = quoted
    _mask_supervisors(admin, "api")
    assert PHONE not in sup.get(f"/api/v1/findings/{finding_id}").json()["message"]
    assert PHONE not in sup.get(f"/api/v1/appeals/{appeal_id}").json()["reason"]
    assert PHONE not in sup.get("/api/v1/appeals").json()[0]["reason"]  # many calls: masked
    assert sup.post("/api/v1/calls/pub-001/reveal").status_code == 200
    assert PHONE in sup.get(f"/api/v1/findings/{finding_id}").json()["message"]
    assert PHONE in sup.get(f"/api/v1/appeals/{appeal_id}").json()["reason"]


def test_the_review_queue_follows_the_policy(admin, sup, db):
    from models import Call
    items = sup.get("/api/v1/review-queue").json()
    assert items, "the seeded calls have fails to review"
    db.get(Call, items[0]["call"]["id"]).caller_number = PHONE
    db.commit()
    assert sup.get("/api/v1/review-queue").json()[0]["call"]["caller_number"] == PHONE
    _mask_supervisors(admin, "api")
    assert sup.get("/api/v1/review-queue").json()[0]["call"]["caller_number"] == MASKED_PHONE


def test_a_file_name_holding_the_callers_number_is_masked(agent1, sup, db):
    from models import Call
    call = db.get(Call, "pub-001")
    call.filename = f"20261102_103000_A1001_{call.caller_number}.mp3"
    db.commit()
    mine = agent1.get("/api/v1/calls/pub-001").json()
    assert mine["filename"] == "20261102_103000_A1001_139****7735.mp3"
    assert sup.get("/api/v1/calls/pub-001").json()["filename"].endswith("_13916247735.mp3")


def test_acknowledgement_comments_are_masked_for_agents(agent1, sup):
    r = agent1.post("/api/v1/calls/pub-001/acknowledge", json={"comment": f"已回电 {PHONE}"})
    assert r.status_code == 201, r.text
    assert r.json()["comment"] == f"已回电 {MASKED_PHONE}"
    assert agent1.get("/api/v1/calls/pub-001").json()["acknowledgements"][0]["comment"] \
        == f"已回电 {MASKED_PHONE}"
    assert sup.get("/api/v1/calls/pub-001").json()["acknowledgements"][0]["comment"] \
        == f"已回电 {PHONE}"


@pytest.fixture()
def overdue_alert(db):
    from models import AlertEvent
    db.add(AlertEvent(kind="overdue_case", dedupe_key="overdue:test", call_id="pub-001",
                      title="【案件逾期】投诉案件 #1 首次响应已超期（华庭 · 9栋2单元1002）",
                      details={"text": f"明天回电 {PHONE}"}))
    db.commit()


def test_alerts_follow_the_policy(admin, sup, overdue_alert):
    item = sup.get("/api/v1/alerts").json()["items"][0]
    assert item["title"].endswith("（华庭 · 9栋2单元1002）")
    assert item["details"]["text"] == f"明天回电 {PHONE}"
    _mask_supervisors(admin, "api")
    item = sup.get("/api/v1/alerts").json()["items"][0]
    assert item["title"].endswith("（华庭 · *栋*单元**02）")
    assert item["details"]["text"] == f"明天回电 {MASKED_PHONE}"


@pytest.fixture()
def reasons(db):
    """A week (2027-W03) of callers stating their reason with their mobile number first."""
    from dataclasses import replace
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from tests.qa.test_topics import make_docs
    from tests.seeding import add_reason_calls
    docs, _ = make_docs({"leak": 12, "fee": 12}, seed=3, prefix="r")
    docs = [replace(d, text=f"我的手机号{PHONE}，{d.text}") for d in docs]
    monday = datetime(2027, 1, 18, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    add_reason_calls(db, docs, [monday + timedelta(days=i % 5, minutes=i)
                                for i in range(len(docs))])
    db.commit()


def _examples(week: dict) -> list[str]:
    rem = week.get("remainder") or {"examples": []}
    return [text for t in week["topics"] for _, text in t["examples"]] + \
        [text for _, text in rem["examples"]]


def test_topic_examples_follow_the_policy(admin, sup, reasons):
    clear = _examples(sup.get("/api/v1/topics", params={"week": "2027-W03"}).json())
    assert clear and all(PHONE in t for t in clear)
    _mask_supervisors(admin, "api")
    masked = _examples(sup.get("/api/v1/topics", params={"week": "2027-W03"}).json())
    assert len(masked) == len(clear) and all(MASKED_PHONE in t and PHONE not in t
                                             for t in masked)


def _month_of_pub_001(db, settings) -> str:
    from models import Call
    from qa.assessment_store import local_tz, to_local
    local = to_local(db.get(Call, "pub-001").started_at, local_tz(settings))
    return f"{local.year:04d}-{local.month:02d}"


def test_agents_pages_me_and_appeals_are_masked(web, quoted, app_settings):
    from tests.api.conftest import login
    with web.state.sessions() as db:
        month = _month_of_pub_001(db, app_settings)
    agent = login(web, "a1")
    for path in (f"/me?month={month}", "/appeals"):
        r = agent.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        assert f"我的手机号{MASKED_PHONE}" in r.text and "*栋*单元**零二" in r.text, path
        assert PHONE not in r.text and "一零零二" not in r.text, path
    page = login(web, "sup").get("/appeals").text
    assert QUOTE in page and f"客户说的是 {PHONE}" in page


def test_supervisor_pages_follow_the_policy(web, quoted, overdue_alert, reasons):
    from tests.api.conftest import login
    sup = login(web, "sup")
    assert "9栋2单元1002" in sup.get("/alerts").text
    assert PHONE in sup.get("/topics", params={"week": "2027-W03"}).text
    r = login(web, "admin").put("/api/v1/privacy/policy",
                                json={"roles": {"supervisor": {"pages": True}}})
    assert r.status_code == 200, r.text
    for path in ("/alerts", "/appeals", "/topics?week=2027-W03"):
        text = sup.get(path).text
        assert PHONE not in text and "9栋2单元1002" not in text, path
    assert "*栋*单元**02" in sup.get("/alerts").text
    assert MASKED_PHONE in sup.get("/topics", params={"week": "2027-W03"}).text
    assert sup.get("/api/v1/alerts").json()["items"][0]["title"].endswith("9栋2单元1002）")


# --- logs ---------------------------------------------------------------------------------------

class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture()
def records():
    """A handler on the root logger, and a child logger whose records reach it."""
    from qa import pii
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    log = logging.getLogger("hotline_qa.test_privacy")
    log.setLevel(logging.INFO)
    yield handler, log
    root.removeHandler(handler)
    pii.set_log_masking(True)


def test_the_policy_switches_log_masking_in_the_web_process(admin, records):
    from qa.pii import install_log_filter
    handler, log = records
    install_log_filter()  # as at start-up, on the handlers there are now
    assert admin.put("/api/v1/privacy/policy", json={"logs": True}).status_code == 200
    log.warning("callback to %s", PHONE)
    assert handler.messages[-1] == f"callback to {MASKED_PHONE}"
    assert admin.put("/api/v1/privacy/policy", json={"logs": False}).status_code == 200
    log.warning("callback to %s", PHONE)
    assert handler.messages[-1] == f"callback to {PHONE}"


def test_start_up_reads_the_stored_logs_setting(admin, app, app_settings, records, tmp_path):
    from qa.pii import install_log_masking, set_log_masking
    handler, log = records
    assert admin.put("/api/v1/privacy/policy", json={"logs": False}).status_code == 200
    set_log_masking(True)  # a process starting: the stored policy is read at start
    assert install_log_masking(app_settings.effective_database_url) is False
    log.warning("callback to %s", PHONE)
    assert handler.messages[-1] == f"callback to {PHONE}"
    assert admin.put("/api/v1/privacy/policy", json={"logs": True}).status_code == 200
    set_log_masking(False)
    assert install_log_masking(app.state.engine, "uvicorn.access") is True
    log.warning("callback to %s", PHONE)
    assert handler.messages[-1] == f"callback to {MASKED_PHONE}"
    logging.getLogger("uvicorn.access").warning("GET /api/v1/calls?q=%s", PHONE)
    assert handler.messages[-1] == f"GET /api/v1/calls?q={MASKED_PHONE}"
    assert install_log_masking(f"sqlite:///{tmp_path / 'empty.db'}") is True  # no policy: on


def test_the_rule_studio_dry_run_follows_the_policy(admin, sup):
    """A dry run quotes the callers of many calls: masked wherever the policy masks the API."""
    doc = ("code: X050\nname: 提到号码\n"
           "passes_when: {phrase: {phrases: [幺三九*七七三五], speaker: any, match: exact}}\n")

    def quotes() -> str:
        r = sup.post("/api/v1/rule-documents/dry-run", json={"yaml_text": doc, "last_n": 50})
        assert r.status_code == 200, r.text
        items = [i for i in r.json()["items"] if i["call_id"] == "pub-001"]
        assert items and items[0]["status"] == "pass"
        return "\n".join(e["text"] for i in items for e in i["evidence"])

    assert "幺六二四" in quotes()
    _mask_supervisors(admin, "api")
    masked = quotes()
    assert "幺六二四" not in masked and "****" in masked
