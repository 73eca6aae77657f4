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
        doc.tables.append(topic_table(db, week, settings))
        doc.tables.append(case_table(db, week, settings))
        return doc
    if not month:
        raise ValueError("需要指定月份，例如 --month 2026-11 / a month is needed")
    if kind == "complaints":
        return complaint_statistics(month, store.month_outcomes(db, month, settings=settings))
    doc = monthly_report(month, [], assessments=store.assessments(db, month, settings=settings))
    doc.tables.append(Table("客服签收情况", [
        ("agent_id", "客服工号"), ("agent_name", "姓名"), ("scored_calls", "已评分通话"),
        ("acknowledged", "已签收"), ("missing", "未签收")],
        [{**r, "missing": len(r["missing"])} for r in store.acknowledgements(db, month, settings)]))
    return doc


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


def topic_table(db: Session, week: str, settings: Settings) -> Table:
    """《来电原因》 of the weekly report: the week's call-reason topics (supervisors' names
    where given), their size and change from the week before, an example each."""
    from qa import call_reasons

    wt = call_reasons.week_topics(db, week, settings)
    status = {c.topic.key: c for c in wt.changes}
    rows = [{"title": t.title, "calls": t.size, "share": f"{t.share:.0%}",
             "change": status[t.key].status_zh if t.key in status else "本周新出现",
             "previous": status[t.key].previous_size if t.key in status else None,
             "example": t.examples[0][1] if t.examples else ""} for t in wt.topics]
    if wt.topics.remainder is not None:
        rows.append({"title": "其他", "calls": wt.topics.remainder.size,
                     "share": f"{wt.topics.remainder.share:.0%}", "change": "", "previous": None,
                     "example": ""})
    return Table(f"来电原因（本周 {wt.n_docs} 通）", [
        ("title", "主题"), ("calls", "通话数"), ("share", "占比"), ("change", "与上周比"),
        ("previous", "上周通话数"), ("example", "例句")], rows)


def case_table(db: Session, week: str, settings: Settings) -> Table:
    """《未结案件》 of the weekly report (standards 3.4.4): complaint and repair cases still
    open at the end of the week, with their deadlines and what is overdue."""
    from datetime import datetime, time

    from qa import cases

    _, next_monday = iso_week_range(week)
    tz = store.local_tz(settings)
    at = datetime.combine(next_monday, time(), tz)
    rows = []
    for c in cases.open_cases(db, settings, now=at, limit=1000):
        if c["opened_at"] >= at:
            continue
        rows.append({"id": c["id"], "kind": {"complaint": "投诉", "repair": "报修"}.get(c["kind"]),
                     "opened": c["opened_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                     "room": c["room"] or "", "caller": c["caller_number"] or "",
                     "matter": c["matter"][:60],
                     "overdue": "、".join(d["label"] for d in c["deadlines"] if d["overdue"])
                     or "—", "promises": c["broken_promises"]})
    return Table("未结案件（截至周末）", [
        ("id", "案件"), ("kind", "类型"), ("opened", "开始"), ("room", "房号"),
        ("caller", "来电号码"), ("matter", "事项"), ("overdue", "逾期项"),
        ("promises", "承诺未兑现")], rows)
