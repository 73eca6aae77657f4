"""The alert sender: delivers the outbox (:class:`models.AlertDelivery`) with leases.

A delivery moves ``pending`` → ``sending`` (claimed: one ``UPDATE … RETURNING`` sets a lease
``lease_until`` and counts the attempt) → ``sent`` (marked in its own commit right after the
receiver accepted it). A receiver that is down or answers an error puts it back as ``failed``
with ``next_attempt_at`` ``alert_retry_backoff_s * 2**(attempt-1)`` later (at most an hour);
after ``alert_max_attempts`` attempts it is given up as ``dropped`` (dead) with its last error.
A sender killed while holding a delivery leaves it ``sending``: when the lease runs out, the
next sender claims it again. Nothing committed is lost, and a delivery the receiver has
not received is sent once (a sender killed after the receiver got the message but before
``sent`` was committed sends it again: the webhook carries ``X-Hotline-QA-Delivery`` so a
receiver can drop the repeat).

Floods: a channel gets at most ``max_per_minute`` messages a minute (its options, default
``alert_rate_per_minute``); the excess is folded (state ``digest``) into one digest message
sent when the minute is over. A channel in ``daily`` mode gets one digest a day at its
``digest_hour``. A digest row is done when ``sent_at`` is set.

:class:`AlertSender` runs the loop in a thread; :func:`spawn_sender` starts that in a process
of its own (the embedded worker pool, the Celery worker); ``hotline-qa alerts send`` runs it
on its own. Every ``alert_check_s`` the loop also looks for overdue
cases, broken promises and monitors (:func:`qa.alerts.check_periodic`), and saves the agents'
months whose red lines were confirmed as their appeal windows closed.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import smtplib
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import click
from sqlalchemy import Engine, and_, func, or_, select, update

from models import AlertChannel, AlertDelivery, AlertEvent, make_engine, session_scope, utcnow
from qa.alerts import (ChannelError, Message, build_request, check_periodic, digest_message,
                       event_message)
from qa.cli_options import db_option
from qa.settings import Settings, get_settings

log = logging.getLogger("hotline_qa.alerts")

__all__ = ["AlertSender", "SendResult", "claim_deliveries", "deliver", "run_once",
           "send_digests", "sender_process", "spawn_sender"]

MAX_BACKOFF_S = 3600.0
BATCH = 20


@dataclass
class SendResult:
    """What a receiver answered: ``ok``, the HTTP status (``None`` for e-mail or no answer)
    and an error message."""

    ok: bool
    status: int | None = None
    error: str | None = None


def deliver(channel: AlertChannel, msg: Message, settings: Settings,
            delivery_id: int | None = None) -> SendResult:
    """Send ``msg`` to ``channel`` now (one HTTP POST or one e-mail); never raises for what
    the receiver does."""
    try:
        req = build_request(channel, msg, settings, delivery_id)
    except ChannelError as exc:
        return SendResult(False, None, str(exc))
    if req.email is not None:
        return _send_mail(channel, req, settings)
    import httpx
    try:
        r = httpx.post(req.url, content=req.body, headers=req.headers,
                       timeout=settings.alert_http_timeout_s)
    except httpx.HTTPError as exc:
        return SendResult(False, None, f"{type(exc).__name__}: {exc}"[:500])
    if not 200 <= r.status_code < 300:
        return SendResult(False, r.status_code, f"HTTP {r.status_code}: {r.text[:300]}")
    if channel.kind in ("wecom", "dingtalk", "feishu"):  # robots answer 200 with a code
        try:
            data = r.json()
        except ValueError:
            data = {}
        code = data.get("errcode", data.get("code", data.get("StatusCode", 0)))
        if code not in (0, None):
            return SendResult(False, r.status_code,
                              f"接收方拒绝 / refused: {code} {data.get('errmsg') or data.get('msg')}")
    return SendResult(True, r.status_code)


def _send_mail(channel: AlertChannel, req, settings: Settings) -> SendResult:
    from qa.alerts import decrypt_secret
    opts = channel.options or {}
    host = opts.get("smtp_host") or settings.alert_smtp_host
    port = int(opts.get("smtp_port") or settings.alert_smtp_port)
    user = opts.get("smtp_user") or settings.alert_smtp_user
    password = decrypt_secret(settings, channel.secret) or settings.alert_smtp_password
    starttls = bool(opts.get("smtp_starttls", settings.alert_smtp_starttls))
    try:
        with smtplib.SMTP(host, port, timeout=settings.alert_http_timeout_s) as smtp:
            if starttls:
                smtp.starttls()
            if user and password:
                smtp.login(user, password)
            smtp.send_message(req.email)
    except (OSError, smtplib.SMTPException) as exc:
        return SendResult(False, None, f"{type(exc).__name__}: {exc}"[:500])
    return SendResult(True)


# --------------------------------------------------------------------------- outbox


def _claimable(now: datetime):
    return or_(and_(AlertDelivery.state.in_(("pending", "failed")),
                    AlertDelivery.next_attempt_at <= now),
               and_(AlertDelivery.state == "sending", AlertDelivery.lease_until < now))


def claim_deliveries(engine: Engine, lease_s: float, limit: int = BATCH) -> list[int]:
    """Claim up to ``limit`` due deliveries (oldest first) for this sender: ``sending`` with a
    lease, attempt counted. Atomic across processes and machines."""
    now = utcnow()
    pick = (select(AlertDelivery.id).where(_claimable(now)).order_by(AlertDelivery.id)
            .limit(limit).with_for_update(skip_locked=True))
    with session_scope(engine) as s:
        rows = s.execute(update(AlertDelivery)
                         .where(AlertDelivery.id.in_(pick.scalar_subquery()), _claimable(now))
                         .values(state="sending", lease_until=now + timedelta(seconds=lease_s),
                                 attempts=AlertDelivery.attempts + 1)
                         .returning(AlertDelivery.id)
                         .execution_options(synchronize_session=False)).scalars().all()
    return sorted(rows)


def _sent_last_minute(s, channel_id: int, now: datetime) -> int:
    return s.scalar(select(func.count()).select_from(AlertDelivery).where(
        AlertDelivery.channel_id == channel_id, AlertDelivery.state == "sent",
        AlertDelivery.sent_at >= now - timedelta(seconds=60))) or 0


def _rate(channel: AlertChannel, settings: Settings) -> int:
    return int((channel.options or {}).get("max_per_minute") or settings.alert_rate_per_minute)


def _finish(engine: Engine, did: int, result: SendResult, attempts: int,
            settings: Settings) -> str:
    now = utcnow()
    with session_scope(engine) as s:
        held = and_(AlertDelivery.id == did, AlertDelivery.state == "sending")
        if result.ok:
            values: dict[str, Any] = dict(state="sent", sent_at=now, lease_until=None,
                                          last_error=None)
        elif attempts >= settings.alert_max_attempts:
            values = dict(state="dropped", lease_until=None, last_error=result.error)
        else:
            wait = min(MAX_BACKOFF_S, settings.alert_retry_backoff_s * 2 ** (attempts - 1))
            values = dict(state="failed", lease_until=None, last_error=result.error,
                          next_attempt_at=now + timedelta(seconds=wait))
        s.execute(update(AlertDelivery).where(held).values(**values))
    return values["state"]


def send_one(engine: Engine, did: int, settings: Settings) -> str:
    """Send claimed delivery ``did``; its new state (``sent``, ``failed``, ``dropped`` or
    ``digest`` when folded by the channel's rate limit)."""
    now = utcnow()
    with session_scope(engine) as s:
        d = s.get(AlertDelivery, did)
        if d is None or d.state != "sending":
            return "gone"
        ch = s.get(AlertChannel, d.channel_id)
        ev = s.get(AlertEvent, d.event_id)
        if not ch.active:
            d.state, d.lease_until, d.last_error = "dropped", None, "通道已停用 / channel inactive"
            return "dropped"
        if _sent_last_minute(s, ch.id, now) >= _rate(ch, settings):
            d.state, d.lease_until, d.attempts = "digest", None, d.attempts - 1
            d.next_attempt_at = now + timedelta(seconds=60)
            return "digest"
        attempts = d.attempts
        msg = event_message(ev, settings)
        s.expunge_all()  # the channel and event are read; no transaction held while sending
    result = deliver(ch, msg, settings, did)
    state = _finish(engine, did, result, attempts, settings)
    if not result.ok:
        log.warning("alert delivery %s to channel %s failed (attempt %s): %s", did, ch.id,
                    attempts, result.error)
    return state


def send_digests(engine: Engine, settings: Settings) -> int:
    """Send one digest per channel whose folded (``digest``) deliveries are due; returns how
    many messages were sent."""
    now = utcnow()
    lease = now + timedelta(seconds=settings.alert_lease_s)
    due = and_(AlertDelivery.state == "digest", AlertDelivery.sent_at.is_(None),
               AlertDelivery.next_attempt_at <= now,
               or_(AlertDelivery.lease_until.is_(None), AlertDelivery.lease_until < now))
    with session_scope(engine) as s:
        channels = s.scalars(select(AlertDelivery.channel_id).where(due).distinct()).all()
    sent = 0
    for cid in channels:
        with session_scope(engine) as s:
            ids = s.execute(update(AlertDelivery)
                            .where(due, AlertDelivery.channel_id == cid)
                            .values(lease_until=lease, attempts=AlertDelivery.attempts + 1)
                            .returning(AlertDelivery.id)
                            .execution_options(synchronize_session=False)).scalars().all()
            if not ids:
                continue
            ch = s.get(AlertChannel, cid)
            events = s.scalars(select(AlertEvent).join(
                AlertDelivery, AlertDelivery.event_id == AlertEvent.id)
                .where(AlertDelivery.id.in_(ids)).order_by(AlertEvent.id)).all()
            daily = (ch.options or {}).get("mode") == "daily"
            msg = digest_message(list(events), settings, daily)
            s.expunge_all()
        if not ch.active:
            result = None
        else:
            result = deliver(ch, msg, settings, min(ids))
        with session_scope(engine) as s:
            rows = update(AlertDelivery).where(AlertDelivery.id.in_(ids))
            if result is None:
                s.execute(rows.values(state="dropped", lease_until=None,
                                      last_error="通道已停用 / channel inactive"))
            elif result.ok:
                s.execute(rows.values(sent_at=utcnow(), lease_until=None, last_error=None))
                sent += 1
            else:
                later = utcnow() + timedelta(seconds=settings.alert_retry_backoff_s)
                if daily:
                    later = max(later, now + timedelta(minutes=5))
                s.execute(rows.values(lease_until=None, last_error=result.error,
                                      next_attempt_at=later))
    return sent


def run_once(engine: Engine, settings: Settings) -> dict[str, int]:
    """One pass: claim and send the due deliveries, then the due digests. Counts by outcome."""
    out: dict[str, int] = {}
    for did in claim_deliveries(engine, settings.alert_lease_s):
        state = send_one(engine, did, settings)
        out[state] = out.get(state, 0) + 1
    n = send_digests(engine, settings)
    if n:
        out["digest_messages"] = n
    return out


def check(engine: Engine, settings: Settings) -> int:
    """The periodic check (overdue cases, broken promises, monitors) in its own transaction,
    after saving the months that changed with time alone (a red line confirmed as its appeal
    window closed: :func:`qa.assessment_store.refresh_months`; pages compute months live and
    never save them)."""
    from qa.assessment_store import refresh_months
    try:
        with session_scope(engine) as s:
            refresh_months(s, settings, pending_only=True)
    except Exception:  # noqa: BLE001 - the alerts below must still be checked
        log.exception("alert sender: saving the months failed")
    with session_scope(engine) as s:
        return check_periodic(s, settings)


class AlertSender:
    """The sender loop in a daemon thread: ``AlertSender(engine, settings).start()`` …
    ``stop()``."""

    def __init__(self, engine: Engine, settings: Settings | None = None):
        self.engine = engine
        self.settings = settings or get_settings()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True, name="hotline-qa-alerts")

    def start(self) -> "AlertSender":
        self.thread.start()
        return self

    def run(self) -> None:
        """Loop until stopped: send what is due, check the clock-driven alerts now and then."""
        last_check = 0.0
        while not self.stop_event.is_set():
            busy = False
            try:
                if time.monotonic() - last_check >= self.settings.alert_check_s:
                    last_check = time.monotonic()
                    check(self.engine, self.settings)
                busy = bool(run_once(self.engine, self.settings))
            except Exception:  # noqa: BLE001 - the database was unreachable: wait, try again
                log.exception("alert sender: a pass failed")
                self.stop_event.wait(2)
            if not busy:
                self.stop_event.wait(self.settings.alert_poll_s)

    def stop(self, timeout: float = 15.0) -> None:
        self.stop_event.set()
        if self.thread.is_alive():
            self.thread.join(timeout)


def sender_process(db_url: str, settings_data: dict[str, Any], stop: Any = None) -> None:
    """Main of the embedded pool's sender process: the loop until ``stop`` is set or the
    parent is gone."""
    settings = Settings(**settings_data)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us through ``stop``
    engine = make_engine(db_url)
    from qa.pii import install_log_masking
    install_log_masking(engine)  # alerts quote estates, rooms and promises
    sender = AlertSender(engine, settings).start()
    parent = os.getppid()
    while (stop is None or not stop.is_set()) and os.getppid() == parent:
        time.sleep(0.5)
    sender.stop()
    engine.dispose()


def spawn_sender(db_url: str, settings: Settings, stop: Any = None, ctx: Any = None):
    """Start :func:`sender_process` in a new (spawned) process; it ends when ``stop`` (an
    event of ``ctx``, made here when not given: ``process.stop``) is set or this process is
    gone. A process, not a thread: a process that forks (Celery's prefork pool) must not
    hold a running thread, whose locks the forked children would inherit held."""
    ctx = ctx or mp.get_context("spawn")
    stop = stop if stop is not None else ctx.Event()
    p = ctx.Process(target=sender_process, name="hotline-qa-alerts",
                    args=(db_url, settings.model_dump(), stop), daemon=False)
    p.stop = stop
    p.start()
    return p


@click.group("alerts")
def alerts_cmd() -> None:
    """Red-line alerts: the sender of the outbox."""


@click.command("send")
@db_option
@click.option("--once", is_flag=True, help="One pass (send what is due, check, exit).")
def send_cmd(db_url: str | None, once: bool) -> None:
    """Send the alert outbox until stopped (Ctrl-C); the workers run this themselves.

    Example: hotline-qa alerts send --db postgresql+psycopg://postgres@127.0.0.1/hqa
    """
    settings = get_settings()
    engine = make_engine(db_url or settings.effective_database_url)
    if once:
        check(engine, settings)
        click.echo(run_once(engine, settings))
        return
    sender = AlertSender(engine, settings).start()
    click.echo("告警发送已启动 / alert sender running; Ctrl-C stops it")
    try:
        while sender.thread.is_alive():
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        sender.stop()


alerts_cmd.add_command(send_cmd)
