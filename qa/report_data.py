"""Reports from the database: load the period's calls and build the document
(:mod:`qa.reports`). Shared by ``hotline-qa report`` and the API's exports."""
from __future__ import annotations

from sqlalchemy.orm import Session

from qa import assessment_store as store
from qa.reports import (ReportDocument, complaint_statistics, monthly_report, render,
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
        return weekly_complaint_report(week, store.load_outcomes(db, start, end,
                                                                 settings=settings))
    if not month:
        raise ValueError("需要指定月份，例如 --month 2026-11 / a month is needed")
    if kind == "complaints":
        return complaint_statistics(month, store.month_outcomes(db, month, settings=settings))
    return monthly_report(month, [], assessments=store.assessments(db, month,
                                                                   settings=settings))
