"""Monitors (关注词) as supervisors use them: saved searches, their weekly counts and trend,
counts per day/week by estate or scenario. The counting is :mod:`qa.monitors`."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.services.audit import audit
from api.services.errors import Conflict, Invalid, NotFound
from models import Monitor, User
from qa import monitors as mon
from qa.assessment_store import local_tz
from qa.search import QueryError
from qa.settings import Settings

NOT_FOUND = "关注词不存在 / monitor not found"
MAX_RANGE_DAYS = 400


def public(row: Monitor, weekly: tuple[mon.Series, mon.Trend] | None = None) -> dict[str, Any]:
    out = {"id": row.id, "name": row.name, "query": row.query, "sound": row.sound,
           "speaker": row.speaker, "filters": row.filters or {}, "active": row.active,
           "alert_calls": row.alert_calls, "created_at": row.created_at}
    if weekly:
        ser, tr = weekly
        out.update(weeks=ser.labels, counts=ser.counts, current=tr.current,
                   baseline=tr.baseline, rising=tr.rising)
    return out


def today(settings: Settings) -> date:
    return datetime.now(local_tz(settings)).date()


def list_monitors(db: Session, settings: Settings, *, last_day: date | None = None,
                  weeks: int = 12) -> list[dict[str, Any]]:
    """Every active monitor with its weekly counts up to ``last_day``'s week (default today)."""
    tz, last_day = local_tz(settings), last_day or today(settings)
    rows = db.scalars(select(Monitor).where(Monitor.active.is_(True)).order_by(Monitor.name))
    return [public(r, mon.weekly(db, mon.spec_of(r), tz, last_day, weeks=weeks)) for r in rows]


def create(db: Session, user: User, data: dict[str, Any], ip: str | None) -> Monitor:
    spec = mon.MonitorSpec(data["query"], bool(data.get("sound")), data.get("speaker") or None,
                           {k: v for k, v in (data.get("filters") or {}).items()
                            if v not in (None, "")})
    try:
        spec.parsed()
    except QueryError as exc:
        raise Invalid(str(exc)) from None
    name = (data.get("name") or "").strip() or spec.query.strip()
    row = Monitor(name=name[:100], query=spec.query.strip(), sound=spec.sound,
                  speaker=spec.speaker, filters=spec.filters, created_by=user.id,
                  alert_calls=data.get("alert_calls"))
    db.add(row)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise Conflict(f"已有同名关注词「{name}」/ a monitor with this name exists") from None
    audit(db, user, "monitor.create", "monitor", row.id,
          {"name": row.name, "query": row.query, "sound": row.sound,
           "alert_calls": row.alert_calls}, ip)
    return row


def get(db: Session, monitor_id: int) -> Monitor:
    row = db.get(Monitor, monitor_id)
    if row is None or not row.active:
        raise NotFound(NOT_FOUND)
    return row


def delete(db: Session, user: User, monitor_id: int, ip: str | None) -> None:
    row = get(db, monitor_id)
    audit(db, user, "monitor.delete", "monitor", row.id, {"name": row.name}, ip)
    db.delete(row)


def counts(db: Session, settings: Settings, monitor_id: int, *, date_from: date | None,
           date_to: date | None, bucket: str = "day", by: str | None = None) -> dict[str, Any]:
    """The monitor's counts per day or week over ``[date_from, date_to]`` (local days;
    default the last 28 days), optionally by estate or scenario."""
    row = get(db, monitor_id)
    tz = local_tz(settings)
    date_to = date_to or today(settings)
    date_from = date_from or date_to - timedelta(days=27)
    if date_from > date_to:
        raise Invalid("开始日期不能晚于结束日期 / date_from is after date_to")
    if (date_to - date_from).days > MAX_RANGE_DAYS:
        raise Invalid(f"时间范围最长 {MAX_RANGE_DAYS} 天 / at most {MAX_RANGE_DAYS} days")
    start = datetime(date_from.year, date_from.month, date_from.day, tzinfo=tz)
    end_day = date_to + timedelta(days=1)
    end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=tz)
    calls = mon.matching_calls(db, mon.spec_of(row), start, end)
    try:
        ser = mon.series(calls, tz, date_from, date_to, bucket=bucket, by=by)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return {"monitor": public(row), "bucket": bucket, "by": by, "labels": ser.labels,
            "counts": ser.counts, "breakdown": ser.by, "calls": len(calls)}
