"""Alerts against real local receivers: each channel's message format and signature, the
outbox surviving a killed sender and a receiver that is down, rate limits, overdue cases."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from classifiers.records import Classification
from models import (Agent, AlertChannel, AlertDelivery, AlertEvent, Call, Case, CasePromise,
                    make_engine, session_scope)
from qa import alerts
from qa.alert_sender import check, run_once, send_digests
from qa.engine import analyze
from qa.records import Transcript
from qa.results import store_report
from qa.settings import Settings
from tests.qa.alert_receivers import SmtpBox, start_http_receiver
from tests.waiting import wait_for

DATA = Path(__file__).resolve().parents[1] / "data"
SECRET = "SECa8c1e5b7d3f2a9f3a9"


@pytest.fixture()
def settings(qa_home):
    return Settings(home=qa_home, secret_key="k" * 32, alert_retry_backoff_s=0.2,
                    alert_lease_s=2.0, alert_base_url="http://qa.example")


@pytest.fixture()
def receiver():
    rec = start_http_receiver()
    yield rec
    rec.gate.set()
    rec.server.shutdown()


def _store(url, call_id: str, settings: Settings, new_id: str | None = None) -> str:
    truth = json.loads((DATA / "truth" / f"{call_id}.truth.json").read_text(encoding="utf-8"))
    labels = truth["labels"]
    doc = {k: truth[k] for k in ("call_id", "duration", "metadata", "utterances") if k in truth}
    report = analyze(Transcript.from_dict(doc), classification=Classification(
        labels["call_type"], 1.0, labels.get("complaint_type"),
        1.0 if labels.get("complaint_type") else None))
    cid = new_id or call_id
    with session_scope(url) as s:
        if s.get(Agent, truth["metadata"]["agent_id"]) is None:
            s.add(Agent(id=truth["metadata"]["agent_id"], name="李四", team="一班"))
        call = Call(id=cid, content_sha256=hashlib.sha256(cid.encode()).hexdigest(),
                    source_path="/in/x", filename="x", meta=truth["metadata"])
        s.add(call)
        s.flush()
        store_report(s, call, report, {}, settings=settings)
    return truth["metadata"]["caller_number"]


def _channel(url, settings, name, kind, target, secret=None, **kw) -> int:
    with session_scope(url) as s:
        ch = AlertChannel(name=name, kind=kind, target=target,
                          secret=alerts.encrypt_secret(settings, secret) if secret else None,
                          events=kw.pop("events", ["red_line"]), **kw)
        s.add(ch)
        s.flush()
        return ch.id


def _states(url) -> dict[str, int]:
    with session_scope(url) as s:
        return dict(s.execute(select(AlertDelivery.state, func.count())
                              .group_by(AlertDelivery.state)).all())


def test_every_channel_kind_gets_its_real_format_and_signature(db_url, settings, receiver):
    smtp = SmtpBox()
    try:
        _channel(db_url, settings, "企业微信", "wecom", receiver.url + "/wecom")
        _channel(db_url, settings, "企业微信文本", "wecom", receiver.url + "/wecom-text",
                 options={"format": "text"})
        _channel(db_url, settings, "钉钉", "dingtalk",
                 receiver.url + "/dingtalk?access_token=tok", SECRET)
        _channel(db_url, settings, "飞书", "feishu", receiver.url + "/feishu", SECRET)
        _channel(db_url, settings, "Webhook", "webhook", receiver.url + "/hook", SECRET)
        _channel(db_url, settings, "邮件", "email", "boss@example.com, qa@example.com",
                 options={"smtp_host": "127.0.0.1", "smtp_port": smtp.port})
        _channel(db_url, settings, "只收低分", "webhook", receiver.url + "/low",
                 events=["low_score"], teams=["二班"])  # another team: nothing
        phone = _store(db_url, "pub-012", settings)  # a red line (PO03)
        with session_scope(db_url) as s:
            ev = s.scalar(select(AlertEvent).where(AlertEvent.kind == "red_line"))
            assert ev.call_id == "pub-012" and phone not in ev.title
            assert "PO03" in ev.title
            eid, title = ev.id, ev.title
        assert _states(db_url) == {"pending": 6}
        engine = make_engine(db_url)
        assert run_once(engine, settings) == {"sent": 6}
        got = {r.path: r for r in receiver.wait_for(5)}
        assert set(got) == {"/wecom", "/wecom-text", "/dingtalk", "/feishu", "/hook"}
        link = "http://qa.example/calls/pub-012"

        wecom = got["/wecom"].json()
        assert list(wecom) == ["msgtype", "markdown"] and wecom["msgtype"] == "markdown"
        assert wecom["markdown"]["content"].startswith(f"**{title}**")
        assert f"[查看通话]({link})" in wecom["markdown"]["content"]
        assert got["/wecom-text"].json() == {"msgtype": "text", "text": {
            "content": wecom["markdown"]["content"].replace("**", "").replace("> ", "")
            .replace(f"[查看通话]({link})", f"查看通话：{link}")
            .replace("[全部告警](http://qa.example/alerts)", "全部告警：http://qa.example/alerts")}}

        ding = got["/dingtalk"]
        assert ding.json()["msgtype"] == "markdown" and ding.json()["markdown"]["title"] == title
        ts = ding.query["timestamp"]
        assert abs(int(ts) / 1000 - time.time()) < 60 and ding.query["access_token"] == "tok"
        expected = base64.b64encode(hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(),
                                             hashlib.sha256).digest()).decode()
        assert ding.query["sign"] == expected  # parse_qsl undid the URL-encoding once

        fs = got["/feishu"].json()
        expected = base64.b64encode(hmac.new(f"{fs['timestamp']}\n{SECRET}".encode(), b"",
                                             hashlib.sha256).digest()).decode()
        assert fs["sign"] == expected and fs["msg_type"] == "post"
        post = fs["content"]["post"]["zh_cn"]
        assert post["title"] == title
        assert [{"tag": "a", "text": "查看通话", "href": link}] in post["content"]

        hook = got["/hook"]
        assert hook.headers["x-hotline-qa-signature"] == "sha256=" + hmac.new(
            SECRET.encode(), hook.body, hashlib.sha256).hexdigest()
        body = hook.json()
        assert body["source"] == "hotline-qa" and body["title"] == title
        assert body["digest"] is False and hook.headers["x-hotline-qa-delivery"] == str(
            body["delivery_id"])
        (e,) = body["events"]
        assert (e["id"], e["kind"], e["call_id"], e["url"]) == (eid, "red_line", "pub-012", link)
        assert phone not in hook.body.decode()

        wait_for(lambda: smtp.messages, timeout=10, what="the mail to reach the SMTP server")
        ((rcpts, mail),) = smtp.messages
        assert sorted(rcpts) == ["boss@example.com", "qa@example.com"]
        assert mail["Subject"] == title and link in mail.get_content()
        assert _states(db_url) == {"sent": 6}
        assert run_once(engine, settings) == {}  # sent once
    finally:
        smtp.stop()


def test_reanalysis_and_a_second_store_add_no_second_event(db_url, settings, receiver):
    _channel(db_url, settings, "hook", "webhook", receiver.url)
    _store(db_url, "pub-012", settings)
    from qa.results import reanalyze_call
    with session_scope(db_url) as s:
        reanalyze_call(s, s.get(Call, "pub-012"), settings)
    with session_scope(db_url) as s:
        assert s.scalar(select(func.count()).select_from(AlertEvent)) == 1
        assert s.scalar(select(func.count()).select_from(AlertDelivery)) == 1


def test_a_red_line_a_human_decision_brings_back_raises_its_alert(db_url, settings):
    """A supervisor overturns the red line of a call stored before any alert existed, then
    upholds it again: the re-scoring raises the red-line event (once)."""
    from models import Finding
    from qa.assessment_store import rescore
    _channel(db_url, settings, "hook", "webhook", "http://127.0.0.1:9/hook")
    _store(db_url, "pub-012", settings)
    with session_scope(db_url) as s:
        for model in (AlertDelivery, AlertEvent):
            s.query(model).delete()
        red = s.scalars(select(Finding).where(Finding.call_id == "pub-012",
                                              Finding.red_line.is_(True))).all()
        assert red
        for f in red:
            f.review_state = "overturned"
        rescore(s, s.get(Call, "pub-012"), settings, "review:overturned")
        assert not s.get(Call, "pub-012").red_line
        assert s.scalar(select(func.count()).select_from(AlertEvent)) == 0
        for f in red:
            f.review_state = "upheld"
        rescore(s, s.get(Call, "pub-012"), settings, "review:upheld")
        assert s.get(Call, "pub-012").red_line
    with session_scope(db_url) as s:
        ev = s.scalars(select(AlertEvent)).all()
        assert [e.kind for e in ev] == ["red_line"] and ev[0].call_id == "pub-012"
        assert s.scalar(select(func.count()).select_from(AlertDelivery)) == 1
        rescore(s, s.get(Call, "pub-012"), settings, "review:again")
    with session_scope(db_url) as s:
        assert s.scalar(select(func.count()).select_from(AlertEvent)) == 1


def test_a_receiver_that_fails_is_retried_with_backoff_and_gets_it_once(db_url, settings,
                                                                         receiver):
    _channel(db_url, settings, "hook", "webhook", receiver.url)
    _store(db_url, "pub-012", settings)
    receiver.statuses = [500, 500]
    engine = make_engine(db_url)
    deadline = time.monotonic() + 20
    while _states(db_url).get("sent") != 1 and time.monotonic() < deadline:
        run_once(engine, settings)
        time.sleep(0.02)
    reqs = receiver.requests
    assert [r.query.get("failed") for r in reqs] == ["500", "500", None]
    assert reqs[1].at - reqs[0].at >= 0.2 and reqs[2].at - reqs[1].at >= 0.4  # 0.2 · 2**(n-1)
    with session_scope(db_url) as s:
        d = s.scalar(select(AlertDelivery))
        assert (d.state, d.attempts, d.last_error) == ("sent", 3, None)
    time.sleep(0.5)
    run_once(engine, settings)
    assert len(receiver.requests) == 3


def test_a_receiver_down_for_good_ends_dropped_after_max_attempts(db_url, settings):
    settings = settings.model_copy(update={"alert_max_attempts": 2,
                                           "alert_retry_backoff_s": 0.05})
    _channel(db_url, settings, "hook", "webhook", "http://127.0.0.1:9/none")  # nothing listens
    _store(db_url, "pub-012", settings)
    engine = make_engine(db_url)
    for _ in range(40):
        run_once(engine, settings)
        if _states(db_url).get("dropped"):
            break
        time.sleep(0.05)
    with session_scope(db_url) as s:
        d = s.scalar(select(AlertDelivery))
        assert (d.state, d.attempts) == ("dropped", 2) and "ConnectError" in d.last_error


def test_a_sender_killed_mid_send_loses_nothing_and_sends_once(db_url, settings, receiver,
                                                               tmp_path):
    _channel(db_url, settings, "hook", "webhook", receiver.url)
    for i in range(3):
        _store(db_url, "pub-012", settings, new_id=f"red-{i}")
    assert _states(db_url) == {"pending": 3}
    receiver.gate.clear()  # the receiver hangs before reading: the sender is stuck mid-send
    env = dict(os.environ, HOTLINE_QA_HOME=str(settings.home), HOTLINE_QA_SECRET_KEY="k" * 32,
               HOTLINE_QA_ALERT_LEASE_S="2", HOTLINE_QA_ALERT_POLL_S="0.1",
               HOTLINE_QA_ALERT_CHECK_S="3600")
    cmd = [sys.executable, "-m", "qa.cli", "alerts", "send", "--db", db_url]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while receiver.waiting < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert receiver.waiting == 1
        os.kill(p.pid, signal.SIGKILL)  # claimed, committed, not sent
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
    assert _states(db_url) == {"sending": 3}  # all three claimed by the dead sender
    receiver.gate.set()
    receiver.wait_for(1, timeout=10)  # the request in flight reaches the receiver
    # the request in flight when it died reached the receiver (its body was in the socket);
    # the other two were committed as claimed and never sent
    (inflight,) = [r.json()["events"][0]["call_id"] for r in receiver.requests]
    assert inflight == "red-0"
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while _states(db_url) != {"sent": 3} and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _states(db_url) == {"sent": 3}  # the leases ran out and were claimed again
        time.sleep(1.0)
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
    calls = sorted(e["call_id"] for r in receiver.requests for e in r.json()["events"])
    # killed between commit and send: exactly once; the one in flight: again, with the same
    # delivery id, so that the receiver can drop the repeat
    assert calls == ["red-0", "red-0", "red-1", "red-2"]
    ids = [r.headers["x-hotline-qa-delivery"] for r in receiver.requests]
    assert len(set(ids)) == 3 and ids.count(ids[0]) == 2


def test_a_flood_is_folded_into_one_digest_and_daily_mode_waits(db_url, settings, receiver):
    _channel(db_url, settings, "hook", "webhook", receiver.url + "/rate",
             options={"max_per_minute": 2})
    _channel(db_url, settings, "daily", "wecom", receiver.url + "/daily",
             options={"mode": "daily", "digest_hour": 9})
    for i in range(5):
        _store(db_url, "pub-012", settings, new_id=f"red-{i}")
    engine = make_engine(db_url)
    assert run_once(engine, settings) == {"sent": 2, "digest": 3}
    with session_scope(db_url) as s:
        daily = s.scalars(select(AlertDelivery).where(AlertDelivery.channel_id == 2)).all()
        assert {d.state for d in daily} == {"digest"}
        due = daily[0].next_attempt_at.astimezone(alerts._local_tz(settings))
        assert (due.hour, due.minute) == (9, 0) and due > datetime.now(timezone.utc)
        # the minute is over
        for d in s.scalars(select(AlertDelivery).where(AlertDelivery.state == "digest",
                                                       AlertDelivery.channel_id == 1)):
            d.next_attempt_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    assert send_digests(engine, settings) == 1
    reqs = receiver.wait_for(3)
    assert [r.path for r in reqs] == ["/rate"] * 3
    digest = reqs[2].json()
    assert digest["digest"] is True and digest["title"] == "【告警过多，已合并】共 3 条告警"
    assert sorted(e["call_id"] for e in digest["events"]) == ["red-2", "red-3", "red-4"]
    assert send_digests(engine, settings) == 0  # the daily one waits for 09:00
    with session_scope(db_url) as s:
        for d in s.scalars(select(AlertDelivery).where(AlertDelivery.channel_id == 2)):
            d.next_attempt_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    assert send_digests(engine, settings) == 1
    daily = receiver.wait_for(4)[3].json()
    assert daily["msgtype"] == "markdown"
    assert daily["markdown"]["content"].startswith("**【每日告警汇总】共 5 条告警**")


def test_overdue_cases_and_broken_promises_alert_once_without_the_phone_number(
        db_url, settings, receiver):
    _channel(db_url, settings, "hook", "webhook", receiver.url,
             events=["overdue_case", "broken_promise"])
    phone = _store(db_url, "pub-001", settings)  # a repair: a case with deadlines
    with session_scope(db_url) as s:
        case = s.scalar(select(Case))
        assert case is not None and case.caller_number == phone
        opened = case.opened_at
        s.add(CasePromise(case_id=case.id, call_id="pub-001", text="明天上午给您回电",
                          due_at=opened + timedelta(days=1), created_at=opened))
    later = opened + timedelta(days=30)
    with session_scope(db_url) as s:
        assert alerts.check_periodic(s, settings, now=later) >= 3  # survey, fix, promise
    with session_scope(db_url) as s:
        assert alerts.check_periodic(s, settings, now=later) == 0  # once per case+deadline
        events = s.scalars(select(AlertEvent).order_by(AlertEvent.id)).all()
        kinds = [e.kind for e in events]
        promises = s.scalar(select(func.count()).select_from(CasePromise))
        assert kinds.count("broken_promise") == promises >= 1 and "overdue_case" in kinds
        assert all(phone not in e.title and phone not in json.dumps(e.details) for e in events)
        assert any("上门查看已超期" in e.title for e in events)
    engine = make_engine(db_url)
    run_once(engine, settings)
    assert all(phone not in r.body.decode() for r in receiver.wait_for(len(events)))
    assert check(engine, settings) == 0  # now: the same deadlines, nothing new


def test_broken_promise_red_line_form_option_routes_to_red_line_channels(db_url, settings,
                                                                        receiver):
    from models import ScoringForm
    from qa.scoring import DEFAULT_FORM_PATH
    text = DEFAULT_FORM_PATH.read_text(encoding="utf-8").replace(
        "broken_promise_red_line: false", "broken_promise_red_line: true")
    _channel(db_url, settings, "red", "webhook", receiver.url, events=["red_line"])
    _store(db_url, "pub-001", settings)
    with session_scope(db_url) as s:
        s.add(ScoringForm(name="f", version=2, yaml_text=text, sha256="0" * 64, active=True))
        case = s.scalar(select(Case))
        s.add(CasePromise(case_id=case.id, call_id="pub-001", text="两小时内给您回电",
                          due_at=case.opened_at + timedelta(hours=2), created_at=case.opened_at))
    with session_scope(db_url) as s:
        alerts.check_periodic(s, settings, now=datetime.now(timezone.utc) + timedelta(days=30))
        ev = s.scalar(select(AlertEvent).where(AlertEvent.kind == "broken_promise"))
        assert ev.title.startswith("【红线·言而无信】") and ev.details["red_line"] is True
        delivered = s.scalars(select(AlertEvent.kind).join(
            AlertDelivery, AlertDelivery.event_id == AlertEvent.id)).all()
        assert delivered and set(delivered) == {"broken_promise"}  # no overdue_case there


def test_secrets_are_encrypted_and_masked(settings):
    token = alerts.encrypt_secret(settings, SECRET)
    assert SECRET not in token and alerts.decrypt_secret(settings, token) == SECRET
    assert alerts.mask_secret(SECRET) == "SEC…f3a9"
    other = settings.model_copy(update={"secret_key": "z" * 32})
    with pytest.raises(alerts.ChannelError):
        alerts.decrypt_secret(other, token)
    with pytest.raises(alerts.ChannelError):
        alerts.validate_channel("wecom", "ftp://x", ["red_line"], {})
    with pytest.raises(alerts.ChannelError):
        alerts.validate_channel("email", "not-an-address", ["red_line"], {})
    with pytest.raises(alerts.ChannelError):
        alerts.validate_channel("webhook", "http://x", ["nope"], {})
