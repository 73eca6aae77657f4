"""Reports from the database: load the period's calls and build the document
(:mod:`qa.reports`). Shared by ``hotline-qa report`` and the API's exports."""
from __future__ import annotations

from sqlalchemy.orm import Session

from qa import assessment_store as store
from qa.assessment import iso_week_range
from qa.reports import (ReportDocument, Table, complaint_statistics, monthly_report, render,
                        weekly_complaint_report)
from qa.settings import Settings, get_settings

__all__ = ["KINDS", "build", "render"]
KINDS = ("monthly", "weekly", "complaints")


def build(db: Session, kind: str, *, month: str | None = None, week: str | None = None,
          settings: Settings | None = None) -> ReportDocument:
    """Build a report. ``monthly`` and ``complaints`` need ``month`` (``YYYY-MM``); ``weekly``
    needs ``week`` (``YYYY-Www``).

    Raises:
        ValueError: unknown kind, missing or malformed period (Chinese + English message).
    """
    settings = settings or get_settings()
    if kind not in KINDS:
        raise ValueError(f"未知报表 / unknown report {kind!r}; use one of {', '.join(KINDS)}")
    if kind == "weekly":
        if not week:
            raise ValueError("周报需要指定周，例如 --week 2026-W47 / weekly needs a week")
        start, end = store.week_bounds_utc(week, settings)
        doc = weekly_complaint_report(week, store.load_outcomes(db, start, end,
                                                                settings=settings))
        doc.tables.append(monitor_table(db, week, settings))
        return doc
    if not month:
        raise ValueError("需要指定月份，例如 --month 2026-11 / a month is needed")
    if kind == "complaints":
        return complaint_statistics(month, store.month_outcomes(db, month, settings=settings))
    return monthly_report(month, [], assessments=store.assessments(db, month,
                                                                   settings=settings))


def monitor_table(db: Session, week: str, settings: Settings) -> Table:
    """《关注词》 of the weekly report: every active monitor's calls this week against the
    four weeks before, rising ones marked, and the estates with the most."""
    from sqlalchemy import select

    from models import Monitor
    from qa import monitors as mon

    monday, next_monday = iso_week_range(week)
    tz = store.local_tz(settings)
    rows = []
    for m in db.scalars(select(Monitor).where(Monitor.active.is_(True)).order_by(Monitor.name)):
        ser, tr = mon.weekly(db, mon.spec_of(m), tz, monday, weeks=mon.BASELINE_WEEKS + 1,
                             by="estate")
        top = sorted(((v[-1], k) for k, v in ser.by.items() if v[-1]), reverse=True)[:3]
        rows.append({"name": m.name, "query": m.query, "calls": tr.current,
                     "baseline": tr.baseline, "trend": "上升" if tr.rising else "—",
                     "estates": "、".join(f"{k} {n}" for n, k in top) or "—"})
    return Table("关注词（本周提及的通话数）", [
        ("name", "关注词"), ("query", "搜索词"), ("calls", "本周通话数"),
        ("baseline", f"前 {mon.BASELINE_WEEKS} 周平均"), ("trend", "趋势"),
        ("estates", "最多的小区")], rows)
