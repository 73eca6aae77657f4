"""Alerts as people use them: the list of recent alerts with the unseen count (the badge),
marking them seen, and the admins' channels (create, edit, deactivate, delete, test). The
events, messages and sending are :mod:`qa.alerts` and :mod:`qa.alert_sender`.

A channel's secret is stored encrypted and shown masked (``SEC…f3a9``); so are the query
values of its URL (a robot's ``key`` / ``access_token`` is a secret too). Every channel change
is audited, without the secret.
"""
from __future__ import annotations

import urllib.parse
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.services.audit import audit
from api.services.errors import Conflict, Invalid, NotFound
from models import AlertChannel, AlertDelivery, AlertEvent, AlertSeen, User
from qa import alerts as qa_alerts
from qa.settings import Settings

NOT_FOUND = "告警通道不存在 / alert channel not found"
CHANNEL_FIELDS = ("name", "target", "events", "teams", "estates", "options", "active")


def last_seen(db: Session, user: User) -> int:
    row = db.get(AlertSeen, user.id)
    return row.last_event_id if row else 0


def unseen_count(db: Session, user: User) -> int:
    """Alerts newer than the last one ``user`` saw (the badge in the navigation)."""
    return db.scalar(select(func.count()).select_from(AlertEvent)
                     .where(AlertEvent.id > last_seen(db, user))) or 0


def list_alerts(db: Session, user: User, *, kind: str | None = None, limit: int = 100,
                before_id: int | None = None) -> dict[str, Any]:
    """The newest alerts (optionally of one kind, older than ``before_id``) with how their
    deliveries stand."""
    seen = last_seen(db, user)
    q = select(AlertEvent).order_by(AlertEvent.id.desc()).limit(limit)
    if kind:
        q = q.where(AlertEvent.kind == kind)
    if before_id:
        q = q.where(AlertEvent.id < before_id)
    rows = db.scalars(q).all()
    states: dict[int, dict[str, int]] = {}
    if rows:
        for eid, state, n in db.execute(
                select(AlertDelivery.event_id, AlertDelivery.state, func.count())
                .where(AlertDelivery.event_id.in_([r.id for r in rows]))
                .group_by(AlertDelivery.event_id, AlertDelivery.state)):
            states.setdefault(eid, {})[state] = n
    items = [{"id": r.id, "kind": r.kind, "kind_name": qa_alerts.EVENT_NAMES.get(r.kind, r.kind),
              "title": r.title, "call_id": r.call_id, "agent_id": r.agent_id,
              "estate": r.estate, "details": r.details or {}, "created_at": r.created_at,
              "unseen": r.id > seen, "deliveries": states.get(r.id, {})} for r in rows]
    return {"items": items, "unseen": unseen_count(db, user), "last_seen_id": seen}


def mark_seen(db: Session, user: User, last_event_id: int | None = None) -> int:
    """``user`` has seen the alerts up to ``last_event_id`` (default: the newest); never moves
    back. Returns the id now seen."""
    newest = db.scalar(select(func.max(AlertEvent.id))) or 0
    upto = newest if last_event_id is None else min(last_event_id, newest)
    row = db.get(AlertSeen, user.id)
    if row is None:
        row = AlertSeen(user_id=user.id, last_event_id=0)
        db.add(row)
    row.last_event_id = max(row.last_event_id or 0, upto)
    db.flush()
    return row.last_event_id


def mask_target(target: str) -> str:
    """The channel's address as shown: e-mail addresses as they are, URL query values masked."""
    u = urllib.parse.urlsplit(target)
    if not u.query:
        return target
    q = "&".join(f"{k}={qa_alerts.mask_secret(v) or ''}"
                 for k, v in urllib.parse.parse_qsl(u.query, keep_blank_values=True))
    return urllib.parse.urlunsplit((u.scheme, u.netloc, u.path, q, u.fragment))


def public_channel(db: Session, ch: AlertChannel, settings: Settings) -> dict[str, Any]:
    try:
        plain = qa_alerts.decrypt_secret(settings, ch.secret)
        secret = qa_alerts.mask_secret(plain)
    except qa_alerts.ChannelError:
        secret = "（无法解密，请重新填写）"
    states = dict(db.execute(select(AlertDelivery.state, func.count())
                             .where(AlertDelivery.channel_id == ch.id)
                             .group_by(AlertDelivery.state)).all())
    return {"id": ch.id, "name": ch.name, "kind": ch.kind,
            "kind_name": qa_alerts.CHANNEL_NAMES.get(ch.kind, ch.kind),
            "target": mask_target(ch.target), "secret": secret, "events": ch.events or [],
            "teams": ch.teams or [], "estates": ch.estates or [], "options": ch.options or {},
            "active": ch.active, "created_at": ch.created_at, "deliveries": states}


def list_channels(db: Session, settings: Settings) -> list[dict[str, Any]]:
    return [public_channel(db, ch, settings)
            for ch in db.scalars(select(AlertChannel).order_by(AlertChannel.id))]


def get_channel(db: Session, channel_id: int) -> AlertChannel:
    ch = db.get(AlertChannel, channel_id)
    if ch is None:
        raise NotFound(NOT_FOUND)
    return ch


def _check(kind: str, target: str, events: list[str], options: dict[str, Any]) -> None:
    try:
        qa_alerts.validate_channel(kind, target, events, options)
    except qa_alerts.ChannelError as exc:
        raise Invalid(str(exc)) from None


def _flush_unique(db: Session, name: str) -> None:
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise Conflict(f"同名告警通道已存在：{name} / a channel of that name exists") from None


def _audit_details(ch: AlertChannel, secret_changed: bool) -> dict[str, Any]:
    return {"name": ch.name, "kind": ch.kind, "target": mask_target(ch.target),
            "events": ch.events, "teams": ch.teams, "estates": ch.estates,
            "options": ch.options, "active": ch.active, "secret_changed": secret_changed}


def create_channel(db: Session, user: User, settings: Settings, data: dict[str, Any],
                   ip: str | None) -> AlertChannel:
    target = data["target"].strip()
    _check(data["kind"], target, data["events"], data["options"])
    secret = data.get("secret") or None
    ch = AlertChannel(name=data["name"].strip(), kind=data["kind"], target=target,
                      secret=qa_alerts.encrypt_secret(settings, secret) if secret else None,
                      events=list(data["events"]), teams=list(data["teams"]),
                      estates=list(data["estates"]), options=dict(data["options"]),
                      active=data.get("active", True), created_by=user.id)
    db.add(ch)
    _flush_unique(db, ch.name)
    audit(db, user, "alert_channel.create", "alert_channel", ch.id,
          _audit_details(ch, bool(secret)), ip)
    return ch


def update_channel(db: Session, user: User, settings: Settings, channel_id: int,
                   data: dict[str, Any], ip: str | None) -> AlertChannel:
    ch = get_channel(db, channel_id)
    before = _audit_details(ch, False)
    for k in CHANNEL_FIELDS:
        if data.get(k) is not None:
            setattr(ch, k, data[k].strip() if isinstance(data[k], str) else data[k])
    _check(ch.kind, ch.target, ch.events or [], ch.options or {})
    secret_changed = "secret" in data and data["secret"] is not None
    if secret_changed:
        ch.secret = qa_alerts.encrypt_secret(settings, data["secret"]) if data["secret"] else None
    if data.get("active") is False:  # a deactivated channel sends nothing still waiting
        db.query(AlertDelivery).filter(
            AlertDelivery.channel_id == ch.id,
            AlertDelivery.state.in_(("pending", "failed", "digest")),
            AlertDelivery.sent_at.is_(None)).update(
            {"state": "dropped", "last_error": "通道已停用 / channel inactive"},
            synchronize_session=False)
    _flush_unique(db, ch.name)
    after = _audit_details(ch, secret_changed)
    changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    audit(db, user, "alert_channel.update", "alert_channel", ch.id,
          {"name": ch.name, "changed": changed, "secret_changed": secret_changed}, ip)
    return ch


def delete_channel(db: Session, user: User, channel_id: int, ip: str | None) -> None:
    ch = get_channel(db, channel_id)
    details = _audit_details(ch, False)
    db.query(AlertDelivery).filter(AlertDelivery.channel_id == ch.id).delete(
        synchronize_session=False)
    db.delete(ch)
    db.flush()
    audit(db, user, "alert_channel.delete", "alert_channel", channel_id, details, ip)


def test_channel(db: Session, user: User, settings: Settings, channel_id: int,
                 ip: str | None) -> dict[str, Any]:
    """Send a test message to the channel now (not through the outbox); what came back."""
    from qa.alert_sender import deliver
    ch = get_channel(db, channel_id)
    result = deliver(ch, qa_alerts.test_message(ch, settings), settings)
    audit(db, user, "alert_channel.test", "alert_channel", ch.id,
          {"name": ch.name, "ok": result.ok, "status": result.status, "error": result.error},
          ip)
    return {"ok": result.ok, "status": result.status, "error": result.error}
