"""Reads never write (issue #19): the pages and API reads that show agents' months (the
dashboard, a call, the assessments, my page, the assessments API, the monthly report) compute
the months without saving them; the stored months are refreshed where results change (a review,
an appeal, a new form) and by the periodic check (appeal windows closing with time).

Runs on SQLite and on the PostgreSQL server."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from tests.api.conftest import seed, session_cookie

MONTH = "2026-11"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def web_app(request, app_settings):
    """The whole app (pages included) over the seeded database: the SQLite copy, or a
    throwaway PostgreSQL database seeded the same way."""
    from api.app import create_app
    settings = app_settings
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        seed(url)
        settings = app_settings.model_copy(update={"database_url": url})
    app = create_app(settings)
    yield app
    app.state.engine.dispose()


def client(app, username: str) -> TestClient:
    from api.security import SESSION_COOKIE
    cookie, csrf = session_cookie(app, username)
    c = TestClient(app)
    c.cookies.set(SESSION_COOKIE, cookie)
    c.headers["X-CSRF-Token"] = csrf
    return c


@contextmanager
def writes(app):
    """The INSERT/UPDATE/DELETE statements sent to the database meanwhile (the audit log's
    entries left out: an export is audited on purpose)."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip().split(None, 1)[0].upper()
        if head in ("INSERT", "UPDATE", "DELETE") and "audit_log" not in statement:
            seen.append(" ".join(statement.split())[:120])

    event.listen(app.state.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(app.state.engine, "before_cursor_execute", count)


def stored(app, agent_id: str):
    from models import MonthlyAssessment
    with app.state.sessions() as db:
        row = db.query(MonthlyAssessment).filter_by(agent_id=agent_id, month=MONTH).one_or_none()
        return None if row is None else dict(row.figures or {}, grade=row.grade)


def red_fail(app, agent_id: str):
    from models import Finding
    with app.state.sessions() as db:
        f = next(f for f in db.query(Finding).filter_by(status="fail", red_line=True)
                 .order_by(Finding.id) if f.call.agent_id == agent_id)
        return f.id, f.call_id


def age_results(app, agent_id: str, days: float) -> None:
    """Date the agent's results ``days`` back (their appeal windows closed by now)."""
    from models import Call
    with app.state.sessions() as db:
        for c in db.query(Call).filter_by(agent_id=agent_id):
            c.result_available_at = datetime.now(timezone.utc) - timedelta(days=days)
        db.commit()


def drop_row(app, agent_id: str) -> None:
    from models import MonthlyAssessment
    with app.state.sessions() as db:
        db.query(MonthlyAssessment).filter_by(agent_id=agent_id, month=MONTH).delete()
        db.commit()


def test_get_views_of_months_never_write(web_app):
    """Months out of date (windows closed since they were stored) or not stored at all: every
    view shows them right, and none writes."""
    _, red_call = red_fail(web_app, "A1002")
    age_results(web_app, "A1002", 30)  # the red line is confirmed by the time: C
    drop_row(web_app, "A1003")  # calls of a month with no row yet
    before = {a: stored(web_app, a) for a in ("A1002", "A1003")}
    assert before["A1002"]["red_lines_confirmed"] == 0 and before["A1003"] is None
    sup, a2 = client(web_app, "sup"), client(web_app, "a2")
    views = [(sup, "/dashboard"), (sup, f"/dashboard?month={MONTH}"),
             (sup, f"/calls/{red_call}"), (sup, f"/assessments?month={MONTH}"),
             (sup, f"/api/v1/assessments?month={MONTH}"),
             (sup, f"/api/v1/assessments/A1002/{MONTH}"),
             (sup, f"/api/v1/assessments/A1003/{MONTH}"),
             (sup, f"/api/v1/reports/monthly?month={MONTH}&format=json"),
             (sup, f"/api/v1/reports/monthly?month={MONTH}&format=xlsx"),
             (a2, f"/me?month={MONTH}"), (a2, f"/calls/{red_call}"),
             (a2, f"/api/v1/assessments?month={MONTH}")]
    for c, path in views:
        with writes(web_app) as seen:
            r = c.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        assert seen == [], (path, seen)
    assert {a: stored(web_app, a) for a in ("A1002", "A1003")} == before
    # … and what they show is the month as it is now
    live = sup.get(f"/api/v1/assessments/A1002/{MONTH}").json()
    assert live["grade"] == "C" and live["red_lines_confirmed"] >= 1
    listed = {a["agent_id"]: a for a in
              sup.get("/api/v1/assessments", params={"month": MONTH}).json()}
    assert listed["A1002"]["grade"] == "C" and listed["A1003"]["calls"] > 0
    assert a2.get("/api/v1/assessments", params={"month": MONTH}).json()[0]["grade"] == "C"
    assert "本月有已确认的禁止行为" in a2.get(f"/me?month={MONTH}").text
    report = sup.get(f"/api/v1/reports/monthly?month={MONTH}&format=json").json()
    assert "C" in str(report)


def test_a_review_decision_stores_the_month_and_the_next_view_shows_it(web_app):
    fid, call_id = red_fail(web_app, "A1004")
    sup = client(web_app, "sup")
    before = sup.get(f"/api/v1/assessments/A1004/{MONTH}").json()
    for r in before["red_lines"]:  # only fid decides the month
        if r["finding_id"] != fid:
            assert sup.post(f"/api/v1/findings/{r['finding_id']}/review",
                            json={"decision": "overturn"}).status_code == 200
    assert sup.post(f"/api/v1/findings/{fid}/review",
                    json={"decision": "uphold", "comment": "属实"}).status_code == 200
    assert stored(web_app, "A1004")["grade"] == "C"  # saved by the decision itself
    with writes(web_app) as seen:
        a = sup.get(f"/api/v1/assessments/A1004/{MONTH}").json()
        page = sup.get(f"/calls/{call_id}").text
    assert seen == []
    assert a["grade"] == "C" and a["red_lines_confirmed"] == 1
    assert 'id="month-grade">C<' in page
    assert sup.post(f"/api/v1/findings/{fid}/review",
                    json={"decision": "overturn", "comment": "复听后推翻"}).status_code == 200
    row = stored(web_app, "A1004")
    assert row["red_lines_confirmed"] == 0 and row["grade"] == row["grade_by_score"]
    with writes(web_app) as seen:
        a = sup.get(f"/api/v1/assessments/A1004/{MONTH}").json()
    assert seen == [] and a["grade"] == row["grade"] and a["red_lines_confirmed"] == 0


def test_a_new_form_refreshes_the_stored_months(web_app):
    from qa.scoring import DEFAULT_FORM_PATH
    admin = client(web_app, "admin")
    strict = DEFAULT_FORM_PATH.read_text(encoding="utf-8").replace(
        "  A: 90 ", "  A: 100 ").replace("  B: 75 ", "  B: 99.9 ")
    assert "A: 100" in strict
    r = admin.post("/api/v1/forms", json={"yaml_text": strict, "activate": True})
    assert r.status_code == 201, r.text
    assert stored(web_app, "A1001")["grade"] == "C"  # by the form change, not by a view
    with writes(web_app) as seen:
        listed = admin.get("/api/v1/assessments", params={"month": MONTH}).json()
    assert seen == [] and {a["grade"] for a in listed} == {"C"}


def test_the_periodic_check_stores_months_whose_windows_closed(web_app):
    from qa.alert_sender import check
    age_results(web_app, "A1002", 30)
    assert stored(web_app, "A1002")["red_lines_confirmed"] == 0
    untouched = stored(web_app, "A1001")
    check(web_app.state.engine, web_app.state.settings)
    row = stored(web_app, "A1002")
    assert row["grade"] == "C" and row["red_lines_confirmed"] >= 1
    assert stored(web_app, "A1001") == untouched
    with writes(web_app) as seen:  # nothing changed since: the next check writes nothing
        check(web_app.state.engine, web_app.state.settings)
    assert [s for s in seen if "monthly_assessments" in s] == []
