"""Red-line alerts that reach people (issue #18 part 1): events, channels, messages.

An :class:`models.AlertEvent` is something a supervisor must hear about:

* ``red_line`` — a call with a red-line fail (written by :func:`on_call_stored`, in the
  transaction that stores the call's results);
* ``low_score`` — a call scored under ``alert_low_score`` (same transaction);
* ``monitor`` — a monitor (关注词) mentioned in its ``alert_calls`` (default: the setting
  ``alert_monitor_calls``) calls of one local day;
* ``overdue_case`` — a complaint or repair case past one of its deadlines (once per case and
  deadline);
* ``broken_promise`` — a dated promise that passed without a recorded call-back (the
  standards' 言而无信); the scoring form's ``broken_promise_red_line: true`` makes it a red
  line alert as well (it then also goes to the channels that take ``red_line``).

The last three are found by the periodic check of the sender (:func:`check_periodic`). The
``dedupe_key`` makes one cause one event: analysing a call again, or checking twice, adds
nothing. With the event, one :class:`models.AlertDelivery` (the outbox) is written for each
active channel that takes the event's kind, team and estate; :mod:`qa.alert_sender` sends them.

Messages are the receivers' own formats (:func:`build_request`): WeCom group robot
(``msgtype`` markdown / text), DingTalk robot (markdown / text; with a signing secret the
``timestamp`` and ``sign`` query parameters, HMAC-SHA256 of ``"timestamp\\nsecret"`` keyed by
the secret, base64, URL-encoded), Feishu bot (``msg_type`` text / post; with a signing secret
``timestamp`` and ``sign`` in the body: HMAC-SHA256 keyed by ``"timestamp\\nsecret"`` of an
empty message, base64), a generic JSON webhook (:func:`webhook_body`; with a secret the
``X-Hotline-QA-Signature: sha256=<hex HMAC of the body>`` header) and e-mail (SMTP).

Secrets (signing secrets, SMTP passwords) are stored encrypted with Fernet under a key derived
from the app's secret key (:func:`encrypt_secret`) and shown only masked (:func:`mask_secret`).
Titles never contain the caller's number.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Agent, AlertChannel, AlertDelivery, AlertEvent, Call, Finding
from models.tables import ALERT_CHANNEL_KINDS
from qa.settings import Settings, resolve_secret_key

log = logging.getLogger("hotline_qa.alerts")

__all__ = ["EVENT_KINDS", "EVENT_NAMES", "OutgoingRequest", "build_request", "check_periodic",
           "decrypt_secret", "emit", "encrypt_secret", "mask_secret", "on_call_stored",
           "validate_channel", "webhook_body"]

EVENT_KINDS = ("red_line", "low_score", "monitor", "overdue_case", "broken_promise")
EVENT_NAMES = {"red_line": "红线", "low_score": "低分", "monitor": "关注词", "overdue_case":
               "案件逾期", "broken_promise": "言而无信"}
CHANNEL_NAMES = {"wecom": "企业微信群机器人", "dingtalk": "钉钉机器人", "feishu": "飞书机器人",
                 "webhook": "JSON Webhook", "email": "电子邮件"}
MESSAGE_FORMATS = {"wecom": ("markdown", "text"), "dingtalk": ("markdown", "text"),
                   "feishu": ("post", "text")}
CHANNEL_OPTIONS = {"format", "mode", "max_per_minute", "digest_hour", "smtp_host", "smtp_port",
                   "smtp_user", "smtp_starttls", "smtp_from"}
WEBHOOK_SIGNATURE = "X-Hotline-QA-Signature"
WEBHOOK_DELIVERY = "X-Hotline-QA-Delivery"


class ChannelError(ValueError):
    """A channel's configuration is improper (the message says what, in Chinese and English)."""


# --------------------------------------------------------------------------- secrets


def _fernet(settings: Settings):
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"hotline-qa",
               info=b"alert-channel-secrets").derive(resolve_secret_key(settings).encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(settings: Settings, plain: str) -> str:
    """``plain`` encrypted (Fernet token) under the key derived from the app's secret key."""
    return _fernet(settings).encrypt(plain.encode()).decode()


def decrypt_secret(settings: Settings, token: str | None) -> str | None:
    """The plain secret of a stored token; ``None`` for none.

    Raises:
        ChannelError: the token was encrypted under another secret key.
    """
    if not token:
        return None
    from cryptography.fernet import InvalidToken
    try:
        return _fernet(settings).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ChannelError("密钥无法解密（应用密钥已更换？请重新填写）/ the secret cannot be "
                           "decrypted: the app's secret key changed; enter it again") from exc


def mask_secret(plain: str | None) -> str | None:
    """A secret as it may be shown: its first 3 and last 4 characters (``SEC…f3a9``)."""
    if not plain:
        return None
    if len(plain) <= 8:
        return "…" + plain[-2:]
    return f"{plain[:3]}…{plain[-4:]}"


# --------------------------------------------------------------------------- channels


def validate_channel(kind: str, target: str, events: list[str], options: dict[str, Any]
                     ) -> None:
    """Check a channel's settings.

    Raises:
        ChannelError: an unknown kind, event or option, a target that is no http(s) URL (robots,
            webhook) or no e-mail address list (email), a bad format or rate.
    """
    if kind not in ALERT_CHANNEL_KINDS:
        raise ChannelError(f"未知的通道类型 {kind!r} / unknown channel kind")
    bad = [e for e in events if e not in EVENT_KINDS]
    if bad:
        raise ChannelError(f"未知的告警类型：{', '.join(bad)}（可用：{', '.join(EVENT_KINDS)}）"
                           " / unknown event kinds")
    if kind == "email":
        addrs = [a.strip() for a in target.split(",") if a.strip()]
        if not addrs or any("@" not in a or " " in a for a in addrs):
            raise ChannelError("收件人应为逗号分隔的邮箱地址 / target: comma-separated e-mail "
                               "addresses")
    else:
        u = urllib.parse.urlsplit(target.strip())
        if u.scheme not in ("http", "https") or not u.netloc:
            raise ChannelError("地址应为 http(s) 网址 / target: an http(s) URL")
    unknown = set(options) - CHANNEL_OPTIONS
    if unknown:
        raise ChannelError(f"未知的通道选项：{', '.join(sorted(unknown))} / unknown options")
    fmt = options.get("format")
    if fmt is not None and fmt not in MESSAGE_FORMATS.get(kind, ()):
        raise ChannelError(f"{CHANNEL_NAMES[kind]}不支持消息格式 {fmt!r} / bad format")
    if options.get("mode", "immediate") not in ("immediate", "daily"):
        raise ChannelError("mode 只能是 immediate（即时）或 daily（每日汇总）/ bad mode")
    rate = options.get("max_per_minute")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int) or rate < 1):
        raise ChannelError("max_per_minute 应为正整数 / max_per_minute: a positive integer")
    hour = options.get("digest_hour")
    if hour is not None and (isinstance(hour, bool) or not isinstance(hour, int)
                             or not 0 <= hour <= 23):
        raise ChannelError("digest_hour 应为 0-23 / digest_hour: 0-23")


def _local_tz(settings: Settings):
    from qa.assessment_store import local_tz
    return local_tz(settings)


def next_digest_at(settings: Settings, channel: AlertChannel, now: datetime) -> datetime:
    """The next daily digest time of ``channel`` (its ``digest_hour``, local) after ``now``."""
    tz = _local_tz(settings)
    hour = int((channel.options or {}).get("digest_hour", settings.alert_digest_hour))
    local = now.astimezone(tz)
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at <= local:
        at += timedelta(days=1)
    return at.astimezone(timezone.utc)


def _takes(channel: AlertChannel, event: AlertEvent, team: str | None) -> bool:
    kinds = set(channel.events or EVENT_KINDS)
    if event.kind not in kinds and not (
            event.kind == "broken_promise" and (event.details or {}).get("red_line")
            and "red_line" in kinds):
        return False
    if channel.teams and team not in channel.teams:
        return False
    return not channel.estates or event.estate in channel.estates


# --------------------------------------------------------------------------- events


def emit(s: Session, settings: Settings, kind: str, dedupe_key: str, title: str, *,
         call_id: str | None = None, agent_id: str | None = None, estate: str | None = None,
         details: dict[str, Any] | None = None, now: datetime | None = None
         ) -> AlertEvent | None:
    """Add the event ``dedupe_key`` and its deliveries in session ``s`` (the caller's
    transaction); ``None`` when that event exists already."""
    if s.scalar(select(AlertEvent.id).where(AlertEvent.dedupe_key == dedupe_key)) is not None:
        return None
    now = now or datetime.now(timezone.utc)
    ev = AlertEvent(kind=kind, dedupe_key=dedupe_key[:200], call_id=call_id, agent_id=agent_id,
                    estate=estate, title=title, details=details or {}, created_at=now)
    try:
        with s.begin_nested():  # a concurrent writer of the same cause: one event
            s.add(ev)
            s.flush()
    except IntegrityError:
        return None
    team = s.scalar(select(Agent.team).where(Agent.id == agent_id)) if agent_id else None
    for ch in s.scalars(select(AlertChannel).where(AlertChannel.active.is_(True))
                        .order_by(AlertChannel.id)):
        if not _takes(ch, ev, team):
            continue
        daily = (ch.options or {}).get("mode") == "daily"
        s.add(AlertDelivery(event_id=ev.id, channel_id=ch.id,
                            state="digest" if daily else "pending", created_at=now,
                            next_attempt_at=next_digest_at(settings, ch, now) if daily else now))
    s.flush()
    return ev


def _agent_label(s: Session, agent_id: str | None) -> str:
    if not agent_id:
        return "未知客服"
    name = s.scalar(select(Agent.name).where(Agent.id == agent_id))
    return f"{name}（{agent_id}）" if name and name != agent_id else str(agent_id)


def on_call_stored(s: Session, call: Call, settings: Settings) -> list[AlertEvent]:
    """The alerts of a call whose results were just written (same transaction): a red line,
    a score under ``alert_low_score``. Safe to run again (re-analysis adds nothing)."""
    low = settings.alert_low_score
    is_low = low is not None and call.score is not None and call.score < low
    if not (call.red_line or is_low):  # most calls: no query at all
        return []
    out = []
    who = _agent_label(s, call.agent_id)
    where = f" · {call.estate}" if call.estate else ""
    common = dict(call_id=call.id, agent_id=call.agent_id, estate=call.estate)
    info = {"score": call.score, "call_type": call.call_type,
            "started_at": call.started_at.isoformat() if call.started_at else None}
    if call.red_line:
        from qa.rules import rule_classes
        names = {r.code: getattr(r, "fail_message", None) or r.name for r in rule_classes()}
        codes = sorted(s.scalars(select(Finding.code).where(
            Finding.call_id == call.id, Finding.red_line.is_(True))))
        rules = "、".join(f"{c} {names.get(c, '')}".strip() for c in codes) or "红线"
        ev = emit(s, settings, "red_line", f"red_line:{call.id}",
                  f"【红线】{who} 通话 {call.id}：{rules}{where}",
                  details={**info, "codes": codes}, **common)
        out.append(ev)
    if is_low:
        ev = emit(s, settings, "low_score", f"low_score:{call.id}",
                  f"【低分】{who} 通话 {call.id} 得分 {call.score:g}（低于 {low:g}）{where}",
                  details={**info, "threshold": low}, **common)
        out.append(ev)
    return [e for e in out if e is not None]


def check_periodic(s: Session, settings: Settings, now: datetime | None = None) -> int:
    """Add the events found by looking at the time: overdue case deadlines, broken promises,
    monitors that crossed ``alert_monitor_calls`` today. Returns how many were added."""
    from qa.cases import DEADLINE_NAMES, open_cases
    now = now or datetime.now(timezone.utc)
    tz = _local_tz(settings)
    n = 0
    form_red = _broken_promise_red_line(s)
    for v in open_cases(s, settings, overdue_only=True, now=now):
        where = " · ".join(x for x in (v["estate"], v["room"]) if x)
        where = f"（{where}）" if where else ""
        kind = "投诉" if v["kind"] == "complaint" else "报修"
        for d in v["deadlines"]:
            if not d["overdue"]:
                continue
            due = d["due_at"].astimezone(tz)
            ev = emit(s, settings, "overdue_case",
                      f"overdue:{v['id']}:{d['name']}:{d['due_at'].isoformat()}",
                      f"【案件逾期】{kind}案件 #{v['id']} {DEADLINE_NAMES.get(d['name'], d['name'])}"
                      f"已超期（应于 {due:%m-%d %H:%M} 前）{where}",
                      call_id=v["calls"][0]["call_id"] if v["calls"] else None,
                      agent_id=v["agent_id"], estate=v["estate"], now=now,
                      details={"case_id": v["id"], "deadline": d["name"],
                               "due_at": d["due_at"].isoformat()})
            n += ev is not None
        for p in v["promises"]:
            if p["state"] != "broken":
                continue
            due = p["due_at"].astimezone(tz)
            head = "【红线·言而无信】" if form_red else "【言而无信】"
            ev = emit(s, settings, "broken_promise", f"promise:{p['id']}",
                      f"{head}{kind}案件 #{v['id']} 承诺 {due:%m-%d %H:%M} 前回复，未见回访"
                      f"{where}", call_id=p["call_id"], agent_id=v["agent_id"],
                      estate=v["estate"], now=now,
                      details={"case_id": v["id"], "promise_id": p["id"], "text": p["text"],
                               "due_at": p["due_at"].isoformat(), "red_line": form_red})
            n += ev is not None
    n += _check_monitors(s, settings, now)
    return n


def _broken_promise_red_line(s: Session) -> bool:
    from qa.assessment_store import active_form, default_form
    try:
        form = active_form(s) or default_form()
    except Exception:  # noqa: BLE001 - a broken stored form must not stop the alerts
        return False
    return bool(getattr(form, "broken_promise_red_line", False))


def _check_monitors(s: Session, settings: Settings, now: datetime) -> int:
    from models import Monitor
    from qa.monitors import MonitorSpec, matching_calls
    from qa.search import QueryError
    tz = _local_tz(settings)
    day = now.astimezone(tz).date()
    start = datetime.combine(day, datetime.min.time(), tz).astimezone(timezone.utc)
    n = 0
    for m in s.scalars(select(Monitor).where(Monitor.active.is_(True))):
        limit = settings.alert_monitor_calls if m.alert_calls is None else m.alert_calls
        if limit < 1:  # this monitor (or, by default, every monitor) raises no alert
            continue
        key = f"monitor:{m.id}:{day.isoformat()}"
        if s.scalar(select(AlertEvent.id).where(AlertEvent.dedupe_key == key)) is not None:
            continue
        try:
            hits = matching_calls(s, MonitorSpec(m.query, m.sound, m.speaker, m.filters or {}),
                                  start, start + timedelta(days=1))
        except QueryError:
            continue
        if len(hits) >= limit:
            ev = emit(s, settings, "monitor", key,
                      f"【关注词】“{m.name}” 今日已有 {len(hits)} 通来电提到（阈值 "
                      f"{limit}）", now=now,
                      call_id=hits[-1].call_id,
                      details={"monitor_id": m.id, "query": m.query, "day": day.isoformat(),
                               "calls": [h.call_id for h in hits[:20]]})
            n += ev is not None
    return n


# --------------------------------------------------------------------------- messages


@dataclass
class Message:
    """What one message says: a title, lines, and links (label, URL)."""

    title: str
    lines: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def text(self) -> str:
        out = [self.title, *self.lines]
        out += [f"{label}：{url}" for label, url in self.links]
        return "\n".join(out)

    def markdown(self) -> str:
        out = [f"**{self.title}**", *(f"> {x}" for x in self.lines)]
        out += [f"[{label}]({url})" for label, url in self.links]
        return "\n".join(out)


def base_url(settings: Settings) -> str:
    return (settings.alert_base_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def event_dict(ev: AlertEvent, settings: Settings) -> dict[str, Any]:
    """An event as the JSON webhook sends it."""
    return {"id": ev.id, "kind": ev.kind, "kind_name": EVENT_NAMES.get(ev.kind, ev.kind),
            "title": ev.title, "call_id": ev.call_id, "agent_id": ev.agent_id,
            "estate": ev.estate, "created_at": ev.created_at.isoformat(),
            "url": f"{base_url(settings)}/calls/{ev.call_id}" if ev.call_id else
            f"{base_url(settings)}/alerts", "details": ev.details or {}}


def event_message(ev: AlertEvent, settings: Settings) -> Message:
    when = ev.created_at.astimezone(_local_tz(settings))
    lines = [f"类型：{EVENT_NAMES.get(ev.kind, ev.kind)}", f"时间：{when:%Y-%m-%d %H:%M}"]
    links = [("查看通话", f"{base_url(settings)}/calls/{ev.call_id}")] if ev.call_id else []
    links.append(("全部告警", f"{base_url(settings)}/alerts"))
    return Message(ev.title, lines, links, [event_dict(ev, settings)])


def digest_message(events: list[AlertEvent], settings: Settings, daily: bool) -> Message:
    head = "每日告警汇总" if daily else "告警过多，已合并"
    lines = [f"- {ev.title}" for ev in events[:30]]
    if len(events) > 30:
        lines.append(f"…… 另有 {len(events) - 30} 条")
    return Message(f"【{head}】共 {len(events)} 条告警", lines,
                   [("全部告警", f"{base_url(settings)}/alerts")],
                   [event_dict(ev, settings) for ev in events])


def test_message(channel: AlertChannel, settings: Settings) -> Message:
    return Message(f"【测试】热线质检告警通道“{channel.name}”可以收到消息",
                   ["这是一条测试消息 / a test message"],
                   [("全部告警", f"{base_url(settings)}/alerts")], [])


@dataclass
class OutgoingRequest:
    """One HTTP POST to a receiver (``body`` exactly as sent) or one e-mail."""

    url: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    email: EmailMessage | None = None


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's robot signature: base64(HMAC-SHA256(key=secret, "timestamp\\nsecret")),
    URL-encoded (what goes into the ``sign`` query parameter)."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return urllib.parse.quote_plus(base64.b64encode(mac.digest()).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's bot signature: base64(HMAC-SHA256(key="timestamp\\nsecret", empty message))."""
    mac = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def webhook_body(msg: Message, delivery_id: int | None) -> dict[str, Any]:
    """The generic webhook's JSON body: ``{"source": "hotline-qa", "delivery_id", "title",
    "text", "digest": bool, "events": [{id, kind, kind_name, title, call_id, agent_id, estate,
    created_at, url, details}]}``."""
    return {"source": "hotline-qa", "delivery_id": delivery_id, "title": msg.title,
            "text": msg.text(), "digest": len(msg.events) != 1, "events": msg.events}


def _json(d: dict[str, Any]) -> bytes:
    return json.dumps(d, ensure_ascii=False).encode()


def build_request(channel: AlertChannel, msg: Message, settings: Settings,
                  delivery_id: int | None = None, now: float | None = None) -> OutgoingRequest:
    """The request that carries ``msg`` to ``channel`` in its receiver's format."""
    now = time.time() if now is None else now
    secret = decrypt_secret(settings, channel.secret)
    opts = channel.options or {}
    kind = channel.kind
    headers = {"Content-Type": "application/json; charset=utf-8"}
    url = channel.target.strip()
    if kind == "wecom":
        if opts.get("format", "markdown") == "text":
            body = {"msgtype": "text", "text": {"content": msg.text()}}
        else:
            body = {"msgtype": "markdown", "markdown": {"content": msg.markdown()}}
    elif kind == "dingtalk":
        if opts.get("format", "markdown") == "text":
            body = {"msgtype": "text", "text": {"content": msg.text()}}
        else:
            body = {"msgtype": "markdown", "markdown": {"title": msg.title,
                                                        "text": msg.markdown()}}
        if secret:
            ts = int(now * 1000)
            url += ("&" if "?" in url else "?") + f"timestamp={ts}&sign={dingtalk_sign(secret, ts)}"
    elif kind == "feishu":
        if opts.get("format", "post") == "text":
            body = {"msg_type": "text", "content": {"text": msg.text()}}
        else:
            rows = [[{"tag": "text", "text": line}] for line in msg.lines]
            rows += [[{"tag": "a", "text": label, "href": href}] for label, href in msg.links]
            body = {"msg_type": "post", "content": {"post": {"zh_cn": {
                "title": msg.title, "content": rows}}}}
        if secret:
            ts = int(now)
            body = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **body}
    elif kind == "webhook":
        raw = _json(webhook_body(msg, delivery_id))
        if delivery_id is not None:
            headers[WEBHOOK_DELIVERY] = str(delivery_id)
        if secret:
            headers[WEBHOOK_SIGNATURE] = "sha256=" + hmac.new(
                secret.encode(), raw, hashlib.sha256).hexdigest()
        return OutgoingRequest(url, raw, headers)
    else:
        em = EmailMessage()
        em["Subject"] = msg.title
        em["From"] = opts.get("smtp_from") or settings.alert_smtp_from
        em["To"] = ", ".join(a.strip() for a in url.split(",") if a.strip())
        if delivery_id is not None:
            em["X-Hotline-QA-Delivery"] = str(delivery_id)
        em.set_content(msg.text())
        return OutgoingRequest(url, b"", {}, em)
    return OutgoingRequest(url, _json(body), headers)
