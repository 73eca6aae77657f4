"""HTML pages of the web interface (simplified Chinese).

Supervisors: 质检总览 ``/dashboard``, 通话列表 ``/calls``, 通话详情 ``/calls/{id}``, 复核队列
``/review``, 申诉 ``/appeals``, 月度考核 ``/assessments``. Agents: 我的质检 ``/me`` (their own
calls, month, findings with coaching hints), their own call pages and appeals.

Reads go through :mod:`api.services` with the API's visibility rules; writes are made by the
pages' scripts against the JSON API (``/api/v1``) with the session's CSRF token.
"""
from __future__ import annotations

import html
import math
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import func, select

from api.deps import SessionDep, SettingsDep, client_ip, is_supervisor, signed_in
from api.routes.auth import set_session_cookie
from api.security import SESSION_COOKIE, csrf_matches, end_session
from api.services import calls as svc
from api.services import privacy as privacy_svc
from api.services import review as review_svc
from api.services import search as search_svc
from api.services import users as users_svc
from api.services.audit import audit
from api.services.errors import Forbidden, Invalid, ServiceError
from api.templating import (LoginRequired, PasswordChangeRequired, custom_rule_info, render,
                            rule_info, zh)
from models import Agent, Call, Finding, Monitor, SourceFile, User
from qa import assessment_store as store
from qa import call_reasons
from qa import cases as qa_cases
from qa import monitors as qa_monitors
from qa.assessment import iso_week_range as parse_week
from qa.assessment import parse_month

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
SEARCH_PAGE_SIZE = 30


# --- who is asking -------------------------------------------------------------------------------

def page_user(request: Request, db: SessionDep) -> User:
    """The signed-in user of an HTML page (session cookie only, :func:`api.deps.signed_in`
    as the API); else redirect to login."""
    user, _, _ = signed_in(request, db, bearer=False)
    if user is None:
        raise LoginRequired()
    if user.password_one_time and request.url.path not in ("/account", "/logout"):
        raise PasswordChangeRequired()
    # a detached copy for templates (error pages render after the session is gone)
    request.state.viewer = SimpleNamespace(id=user.id, username=user.username, role=user.role,
                                           agent_id=user.agent_id,
                                           display_name=user.display_name)
    return user


def supervisor_page(user: Annotated[User, Depends(page_user)]) -> User:
    if not is_supervisor(user):
        raise Forbidden("此页面仅质检主管可见")
    return user


PageUser = Annotated[User, Depends(page_user)]
SupervisorPage = Annotated[User, Depends(supervisor_page)]


def _month_param(month: str | None) -> str | None:
    if not month:
        return None
    try:
        parse_month(month)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return month


def default_month(db, settings, agent_id: str | None = None) -> str:
    """This local month when it has analysed calls, else the month of the latest one."""
    tz = store.local_tz(settings)
    now = datetime.now(tz)
    month = f"{now.year:04d}-{now.month:02d}"
    start, end = store.month_bounds_utc(month, settings)
    q = select(Call.started_at).where(Call.status == "done", Call.started_at.is_not(None))
    if agent_id:
        q = q.where(Call.agent_id == agent_id)
    if db.scalar(q.where(Call.started_at >= start, Call.started_at < end).limit(1)) is None:
        latest = db.scalar(q.order_by(Call.started_at.desc()).limit(1))
        if latest is not None:
            month = store.local_month(latest, tz)
    return month


def _shift_month(month: str, delta: int) -> str:
    y, m = int(month[:4]), int(month[5:]) + delta
    while m < 1:
        y, m = y - 1, m + 12
    while m > 12:
        y, m = y + 1, m - 12
    return f"{y:04d}-{m:02d}"


# --- sign in / out -------------------------------------------------------------------------------

def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", title="登录", next=_safe_next(next), error=None)


@router.post("/login")
def login_submit(request: Request, db: SessionDep, settings: SettingsDep,
                 username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
                 next: Annotated[str, Form()] = "/") -> Response:
    if not username.strip() or not password:
        return render(request, "login.html", status_code=422, title="登录", next=_safe_next(next),
                      error="请输入用户名和密码", username=username)
    try:
        user = users_svc.authenticate(db, settings, username, password, client_ip(request))
    except ServiceError as exc:
        code = 401 if isinstance(exc, Invalid) else exc.status_code
        return render(request, "login.html", status_code=code, title="登录",
                      next=_safe_next(next), error=zh(exc.message), username=username)
    target = _safe_next(next)
    if target == "/":
        target = "/me" if user.role == "agent" else "/dashboard"
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(db, response, request, user, settings)
    audit(db, user, "auth.login", "user", user.id, {"via": "web"}, ip=client_ip(request))
    db.commit()
    return response


@router.post("/logout")
def logout(request: Request, user: PageUser, db: SessionDep,
           csrf_token: Annotated[str, Form()] = "") -> Response:
    if not csrf_matches(request.state.csrf_token, csrf_token):
        raise Forbidden("请求已失效，请刷新页面后重试")
    end_session(db, request.state.session_id)  # a replayed cookie no longer signs in
    audit(db, user, "auth.logout", "user", user.id, {"via": "web"}, ip=client_ip(request))
    db.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request, db: SessionDep) -> Response:
    try:
        user = page_user(request, db)
    except LoginRequired:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/me" if user.role == "agent" else "/dashboard", status_code=303)


@router.get("/account")
def account_page(request: Request, user: PageUser) -> Response:
    return render(request, "account.html", title="修改密码", nav="account",
                  one_time=user.password_one_time)


# --- 质检总览 --------------------------------------------------------------------------------------

def _week_label(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def dashboard_data(db, settings, month: str) -> dict[str, Any]:
    """Everything the dashboard shows for ``month`` (local)."""
    tz = store.local_tz(settings)
    start, end = store.month_bounds_utc(month, settings)
    assessments = store.assessments(db, month, settings=settings)
    scored = sum(a.scored_calls for a in assessments)
    team_avg = (round(sum((a.average_score or 0) * a.scored_calls for a in assessments) / scored,
                      1) if scored else None)
    grades = Counter(a.grade or "无" for a in assessments)

    # weekly trend and types over the 12 ISO weeks ending with the month
    last_day = (end.astimezone(tz) - timedelta(seconds=1)).date()
    first_monday = last_day - timedelta(days=last_day.weekday() + 7 * 11)
    since = datetime(first_monday.year, first_monday.month, first_monday.day, tzinfo=tz)
    weeks = [_week_label(first_monday + timedelta(weeks=i)) for i in range(12)]
    sums: dict[str, list[float]] = defaultdict(list)
    call_types: dict[str, Counter] = defaultdict(Counter)
    complaint_types: dict[str, Counter] = defaultdict(Counter)
    rows = db.execute(select(Call.started_at, Call.score, Call.call_type, Call.complaint_type)
                      .where(Call.status == "done", Call.started_at >= since,
                             Call.started_at < end))
    for started, score, ctype, ptype in rows:
        wk = _week_label(store.to_local(started, tz).date())
        if score is not None:
            sums[wk].append(score)
        call_types[ctype or "other"][wk] += 1
        if ctype == "complaint" and ptype:
            complaint_types[ptype][wk] += 1
    trend = [round(sum(sums[w]) / len(sums[w]), 1) if sums[w] else None for w in weeks]
    counts = [len(sums[w]) for w in weeks]

    failed = db.execute(select(Finding.code, func.count()).join(Call).where(
        Call.status == "done", Call.started_at >= start, Call.started_at < end,
        Finding.status == "fail", Finding.review_state != "overturned")
        .group_by(Finding.code).order_by(func.count().desc(), Finding.code).limit(10)).all()

    g = store.grading(db, settings)
    red_pending = db.execute(select(Finding, Call).join(Call).where(
        Finding.status == "fail", Finding.review_state == "pending",
        Finding.code.in_(g.red_line_codes))
        .order_by(Call.started_at.desc()).limit(20)).all()

    status_counts = dict(db.execute(select(Call.status, func.count()).group_by(Call.status))
                         .all())
    problems = list(db.scalars(select(Call).where(Call.status.in_(("failed", "quarantined")))
                               .order_by(Call.updated_at.desc()).limit(10)))
    files_quarantined = list(db.scalars(select(SourceFile).where(
        SourceFile.outcome == "quarantined", SourceFile.call_id.is_(None))
        .order_by(SourceFile.seen_at.desc()).limit(10)))
    charts = {
        "weeks": weeks, "trend": trend, "counts": counts,
        "grades": {k: grades.get(k, 0) for k in ("A", "B", "C")},
        "failed": [{"code": c, "title": rule_info().get(c, {}).get("title", c), "count": n}
                   for c, n in failed],
        "call_types": {k: [call_types[k][w] for w in weeks] for k in sorted(call_types)},
        "complaint_types": {k: [complaint_types[k][w] for w in weeks]
                            for k in sorted(complaint_types)},
    }
    monitors = []
    for m in db.scalars(select(Monitor).where(Monitor.active.is_(True)).order_by(Monitor.name)):
        ser, tr = qa_monitors.weekly(db, qa_monitors.spec_of(m), tz, last_day, weeks=12)
        monitors.append({"id": m.id, "name": m.name, "query": m.query, "sound": m.sound,
                         "speaker": m.speaker, "counts": ser.counts, "current": tr.current,
                         "baseline": tr.baseline, "rising": tr.rising})
    charts["monitors"] = [{"name": m["name"], "counts": m["counts"]} for m in monitors]
    late_cases = sorted(qa_cases.open_cases(db, settings, overdue_only=True),
                        key=lambda c: c["opened_at"])  # the longest overdue first
    return {"assessments": assessments, "team_avg": team_avg, "grades": grades,
            "monitors": monitors, "late_cases": late_cases,
            "calls": sum(a.calls for a in assessments), "charts": charts,
            "red_pending": red_pending, "status_counts": status_counts, "problems": problems,
            "files_quarantined": files_quarantined}


@router.get("/dashboard")
def dashboard(request: Request, user: SupervisorPage, db: SessionDep, settings: SettingsDep,
              month: Annotated[str | None, Query(max_length=7)] = None) -> Response:
    month = _month_param(month) or default_month(db, settings)
    data = dashboard_data(db, settings, month)  # months computed, not saved: reads never write
    custom = custom_rule_info(request)  # a custom rule's title is its document's name
    for f in data["charts"]["failed"]:
        f["title"] = custom.get(f["code"], {}).get("title", f["title"])
    m = privacy_svc.Masking.for_user(db, user, "pages")
    data["late_cases"] = [m.case(c) for c in data["late_cases"]]
    return render(request, "dashboard.html", title="质检总览", nav="dashboard", month=month,
                  prev_month=_shift_month(month, -1), next_month=_shift_month(month, 1), **data)


# --- 通话列表 --------------------------------------------------------------------------------------

LIST_PARAMS = ("agent_id", "date_from", "date_to", "score_min", "score_max", "rule_failed",
               "call_type", "complaint_type", "review_state", "status", "estate", "q")
SEARCH_PARAMS = tuple(k for k in LIST_PARAMS if k != "q") + ("q", "sound", "speaker")


def _parse_filters(params: dict[str, str]) -> tuple[svc.CallFilters, list[str]]:
    errors: list[str] = []
    f = svc.CallFilters(page_size=PAGE_SIZE)
    for key in ("agent_id", "rule_failed", "call_type", "complaint_type", "review_state",
                "status", "estate", "q"):
        value = (params.get(key) or "").strip()
        setattr(f, key, value[:200] or None)
    for key, label in (("date_from", "开始日期"), ("date_to", "结束日期")):
        value = (params.get(key) or "").strip()
        if value:
            try:
                setattr(f, key, date.fromisoformat(value))
            except ValueError:
                errors.append(f"{label}格式应为 年-月-日，例如 2026-11-02")
    for key, label in (("score_min", "最低分"), ("score_max", "最高分")):
        value = (params.get(key) or "").strip()
        if value:
            try:
                number = float(value)
                if not 0 <= number <= 100 or math.isnan(number):
                    raise ValueError
                setattr(f, key, number)
            except ValueError:
                errors.append(f"{label}应为 0–100 之间的数字")
    try:
        f.page = max(1, min(int(params.get("page") or 1), 1_000_000))
    except ValueError:
        f.page = 1
    return f, errors


@router.get("/calls")
def call_list(request: Request, user: PageUser, db: SessionDep, settings: SettingsDep) -> Response:
    params = {k: v for k, v in request.query_params.items() if k in LIST_PARAMS + ("page",)}
    f, errors = _parse_filters(params)
    items, total = [], 0
    if not errors:
        try:
            items, total = svc.list_calls(db, user, f, settings)
        except ServiceError as exc:
            errors.append(zh(exc.message))
    m = privacy_svc.Masking.for_user(db, user, "pages")
    items = [m.summary(c) for c in items]
    pages = max(1, math.ceil(total / PAGE_SIZE))
    keep = {k: v for k, v in params.items() if v and k != "page"}
    return render(request, "calls.html", title="通话列表", nav="calls", items=items, total=total,
                  page=f.page, pages=pages, filters=params, keep=keep, errors=errors,
                  **_filter_choices(db, user))


def _filter_choices(db, user: User) -> dict[str, Any]:
    """The choices of the filter form: agents (supervisors only) and the estates of the calls."""
    agents = list(db.scalars(select(Agent).order_by(Agent.id))) if user.role != "agent" else []
    estates = list(db.scalars(select(Call.estate).where(Call.estate.is_not(None)).distinct()
                              .order_by(Call.estate)))
    return {"agents": agents, "estates": estates}


# --- 来电原因 -------------------------------------------------------------------------------------

@router.get("/topics")
def topics_page(request: Request, user: SupervisorPage, db: SessionDep, settings: SettingsDep,
                week: Annotated[str | None, Query(max_length=8)] = None,
                estate: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """来电原因: the topics of a week's stated reasons, with names and merges."""
    tz = store.local_tz(settings)
    if not week:
        latest = db.scalar(select(func.max(Call.started_at)).where(Call.status == "done"))
        week = call_reasons.week_of(store.to_local(latest, tz).date() if latest
                                    else datetime.now(tz).date())
    try:
        data = privacy_svc.Masking.for_user(db, user, "pages").topics(
            call_reasons.week_topics(db, week, settings, estate=estate or None).to_dict())
    except ValueError:
        raise Invalid("周次格式应为 年-W周，例如 2026-W47 / week must be YYYY-Www") from None
    monday, _ = parse_week(week)
    return render(request, "topics.html", title="来电原因", nav="topics", week=week,
                  prev_week=call_reasons.week_of(monday - timedelta(days=7)),
                  next_week=call_reasons.week_of(monday + timedelta(days=7)),
                  estate=estate or "", data=data, **_filter_choices(db, user))


# --- 搜索 ---------------------------------------------------------------------------------------

@router.get("/search")
def search_page(request: Request, user: PageUser, db: SessionDep,
                settings: SettingsDep) -> Response:
    """通话内容搜索: the hits of a query within the call list's filters."""
    params = {k: v for k, v in request.query_params.items() if k in SEARCH_PARAMS + ("page",)}
    f, errors = _parse_filters(params)
    f.q, f.page_size = None, SEARCH_PAGE_SIZE
    result = None
    q = (params.get("q") or "").strip()[:200]
    speaker = params.get("speaker") if params.get("speaker") in search_svc.SPEAKERS else None
    if q and not errors:
        req = search_svc.SearchRequest(q=q, sound=params.get("sound") == "1", speaker=speaker,
                                       filters=f)
        try:
            result = privacy_svc.Masking.for_user(db, user, "pages").search(
                search_svc.search(db, user, req, settings))
        except ServiceError as exc:
            errors.append(zh(exc.message))
    total = result["total"] if result else 0
    pages = max(1, math.ceil(total / SEARCH_PAGE_SIZE))
    keep = {k: v for k, v in params.items() if v and k != "page"}
    monitor_spec = {"query": q, "sound": params.get("sound") == "1", "speaker": speaker,
                    "filters": {k: params[k] for k in qa_monitors.FILTERS if params.get(k)}}
    return render(request, "search.html", title=f"搜索：{q}" if q else "搜索通话内容",
                  nav="search", q=q, result=result, filters=params, keep=keep, errors=errors,
                  page=f.page, pages=pages, monitor_spec=monitor_spec,
                  **_filter_choices(db, user))


# --- 通话详情 --------------------------------------------------------------------------------------

def highlight(text: str, spans: list[tuple[str, str, int]]) -> Markup:
    """``text`` with each evidence span (``(span text, rule code, finding id)``) wrapped in
    ``<mark>``; the whole line is marked when a span's text is not found in it."""
    marks: list[tuple[int, int, str, int]] = []
    for span, code, fid in spans:
        span = (span or "").strip()
        i = text.find(span) if span else -1
        if i < 0:
            marks.append((0, len(text), code, fid))
        else:
            marks.append((i, i + len(span), code, fid))
    marks.sort()
    out, pos = [], 0
    for a, b, code, fid in marks:
        if a < pos:  # overlapping marks: keep the first
            continue
        out.append(html.escape(text[pos:a]))
        out.append(f'<mark class="ev" data-finding="{fid}" title="{html.escape(code)}">'
                   f'{html.escape(text[a:b])}<sup>{html.escape(code)}</sup></mark>')
        pos = b
    out.append(html.escape(text[pos:]))
    return Markup("".join(out))


def transcript_lines(detail: dict[str, Any]) -> tuple[list[dict[str, Any]], float]:
    """Transcript utterances with their highlighted text, and the call's duration (s)."""
    utts = list((detail.get("transcript") or {}).get("utterances") or [])
    fails = [f for f in detail["findings"] if f["status"] == "fail"]
    lines = []
    for i, u in enumerate(utts):
        start, end = float(u.get("start") or 0), float(u.get("end") or 0)
        spans = []
        for f in fails:
            for ev in f.get("evidence") or []:
                try:
                    es, ee = float(ev.get("start", -1)), float(ev.get("end", -1))
                except (TypeError, ValueError):
                    continue
                same = ev.get("speaker") in (None, u.get("speaker"))
                if same and es < end + 0.05 and ee > start - 0.05 and (
                        not ev.get("text") or ev["text"] in u.get("text", "")
                        or (es >= start - 0.05 and ee <= end + 0.05)):
                    spans.append((ev.get("text") or "", f["code"], f["id"]))
        lines.append({"i": i, "speaker": u.get("speaker", "unknown"), "start": start, "end": end,
                      "text": u.get("text", ""), "html": highlight(u.get("text", ""), spans),
                      "marked": bool(spans)})
    duration = float(detail.get("duration") or 0) or max((x["end"] for x in lines), default=0)
    return lines, max(duration, 1.0)


def month_of_call(detail: dict[str, Any], settings) -> str | None:
    started = detail.get("started_at")
    if not started:
        return None
    return store.local_month(started, store.local_tz(settings))


def agent_month(db, agent_id: str | None, month: str | None, settings) -> dict[str, Any] | None:
    """The agent's month as it stands (frozen when closed, else computed; nothing saved)."""
    if not agent_id or not month:
        return None
    return store.assess(db, agent_id, month, settings=settings).to_dict()


@router.get("/calls/{call_id}")
def call_page(call_id: str, request: Request, user: PageUser, db: SessionDep,
              settings: SettingsDep) -> Response:
    masking = privacy_svc.Masking.for_user(db, user, "pages", call_id=call_id,
                                           session_id=request.state.session_id)
    detail = masking.detail(svc.detail(db, user, call_id, settings))
    privacy = {"masked": masking.masked, "revealed_until": masking.revealed_until,
               "can_reveal": masking.masked and is_supervisor(user),
               "minutes": privacy_svc.get_policy(db)["reveal_minutes"]}
    lines, duration = transcript_lines(detail)
    month = month_of_call(detail, settings)
    order = {"fail": 0, "n/a": 2, "pass": 1}
    findings = sorted(detail["findings"], key=lambda f: (order.get(f["status"], 3), f["code"]))
    model = [c for c in detail["classifications"] if c.kind == "model"]
    call = db.get(Call, call_id)
    report = call.report or {}
    cues = (model[-1].cues if model and model[-1].cues else None) or report.get("cues") or []
    deducted = [(f["code"], f["deduction"]) for f in findings
                if f["status"] == "fail" and f["deduction"]]
    month_info = agent_month(db, detail.get("agent_id"), month, settings)
    machine = store.machine_score_row(db, call)  # the analysis' Score row, not the report
    return render(request, "call.html", title=f"通话详情 {call_id}", nav="calls", call=detail,
                  lines=lines, duration=duration, findings=findings, cues=cues,
                  machine_score=machine.score if machine else None, deducted=deducted,
                  breakdown=(machine.breakdown if machine else None) or {}, month=month,
                  month_info=month_info, now=datetime.now(timezone.utc), privacy=privacy)


# --- 个人信息脱敏 -----------------------------------------------------------------------------------

@router.get("/admin/privacy")
def privacy_page(request: Request, user: PageUser, db: SessionDep) -> Response:
    """个人信息脱敏: the masking policy per role and output (admins change it)."""
    if user.role != "admin":
        raise Forbidden("此页面仅管理员可见")
    return render(request, "privacy.html", title="个人信息脱敏", nav="privacy",
                  policy=privacy_svc.get_policy(db), roles=privacy_svc.ROLE_NAMES,
                  outputs=privacy_svc.OUTPUT_NAMES, kinds=privacy_svc.KIND_NAMES)


# --- 复核队列、申诉 ---------------------------------------------------------------------------------

@router.get("/review")
def review_queue(request: Request, user: SupervisorPage, db: SessionDep,
                 settings: SettingsDep) -> Response:
    m = privacy_svc.Masking.for_user(db, user, "pages")
    items = [{**it, "call": m.summary(it["call"])}
             for it in svc.review_queue(db, settings, limit=100, user=user)]
    return render(request, "review.html", title="复核队列", nav="review", items=items)


def finding_view(m: privacy_svc.Masking, f: Finding) -> dict[str, Any]:
    """A finding shown outside its call page (appeals, 我的质检), masked by ``m``."""
    return m.finding({"id": f.id, "code": f.code, "review_state": f.review_state,
                      "message": f.message, "evidence": f.evidence or [],
                      "appeals": [svc.appeal_public(a) for a in f.appeals],
                      "call": {"started_at": f.call.started_at}})


@router.get("/appeals")
def appeals_page(request: Request, user: PageUser, db: SessionDep,
                 state: Annotated[str | None, Query(pattern="^(open|accepted|rejected|all)$")]
                 = None) -> Response:
    state = state or ("open" if user.role != "agent" else "all")
    m = privacy_svc.Masking.for_user(db, user, "pages")
    appeals = [{**m.appeal(svc.appeal_public(a)), "finding": finding_view(m, a.finding)}
               for a in review_svc.list_appeals(db, user, None if state == "all" else state,
                                                limit=300)]
    return render(request, "appeals.html", title="申诉处理" if user.role != "agent" else "我的申诉",
                  nav="appeals", appeals=appeals, state=state)


# --- 月度考核 --------------------------------------------------------------------------------------

@router.get("/assessments")
def assessments_page(request: Request, user: SupervisorPage, db: SessionDep,
                     settings: SettingsDep,
                     month: Annotated[str | None, Query(max_length=7)] = None) -> Response:
    month = _month_param(month) or default_month(db, settings)
    items = store.assessments(db, month, settings=settings)
    codes = sorted({c for a in items for c, r in a.fail_rates.items() if r["failed"]})
    closed = bool(items) and all(a.closed for a in items)
    acks = {r["agent_id"]: r for r in store.acknowledgements(db, month, settings)}
    return render(request, "assessments.html", title="月度考核", nav="assessments", month=month,
                  items=items, codes=codes, closed=closed, prev_month=_shift_month(month, -1),
                  next_month=_shift_month(month, 1), acks=acks)


# --- 我的质检 --------------------------------------------------------------------------------------

@router.get("/me")
def my_page(request: Request, user: PageUser, db: SessionDep, settings: SettingsDep,
            month: Annotated[str | None, Query(max_length=7)] = None) -> Response:
    if user.role != "agent" or not user.agent_id:
        return RedirectResponse("/dashboard", status_code=303)
    month = _month_param(month) or default_month(db, settings, user.agent_id)
    a = store.assess(db, user.agent_id, month, settings=settings)
    start, end = store.month_bounds_utc(month, settings)
    f = svc.CallFilters(page_size=100)
    tz = store.local_tz(settings)
    f.date_from = start.astimezone(tz).date()
    f.date_to = (end.astimezone(tz) - timedelta(seconds=1)).date()
    calls, total = svc.list_calls(db, user, f, settings)
    rows = db.execute(select(Finding, Call).join(Call).where(
        Call.agent_id == user.agent_id, Call.status == "done", Call.started_at >= start,
        Call.started_at < end, Finding.status == "fail")
        .order_by(Call.started_at.desc(), Finding.code)).all()
    deadlines = {}
    now = datetime.now(timezone.utc)
    for _, c in rows:
        if c.id not in deadlines:
            deadlines[c.id] = store.appeal_deadline_for(db, c, settings)
    m = privacy_svc.Masking.for_user(db, user, "pages")
    return render(request, "me.html", title="我的质检", nav="me", month=month, a=a,
                  calls=[m.summary(c) for c in calls], total=total,
                  findings=[(finding_view(m, f), c) for f, c in rows], deadlines=deadlines,
                  now=now, prev_month=_shift_month(month, -1), next_month=_shift_month(month, 1))


# --- 告警 -----------------------------------------------------------------------------------------

@router.get("/alerts")
def alerts_page(request: Request, user: SupervisorPage, db: SessionDep,
                kind: str | None = None) -> Response:
    """告警: the recent alerts (red lines, low scores, monitors, overdue cases, broken promises)
    with links to their calls; the ones newer than the user last saw are marked."""
    from api.services import alerts as alerts_svc
    from qa.alerts import EVENT_NAMES
    data = alerts_svc.list_alerts(db, user, kind=kind if kind in EVENT_NAMES else None,
                                  limit=200)
    m = privacy_svc.Masking.for_user(db, user, "pages")
    data["items"] = [m.alert(a) for a in data["items"]]
    return render(request, "alerts.html", title="告警", nav="alerts", kinds=EVENT_NAMES,
                  kind=kind, **data)


@router.get("/admin/alerts")
def admin_alerts_page(request: Request, user: PageUser, db: SessionDep,
                      settings: SettingsDep) -> Response:
    """告警通道: admins add, edit, deactivate, delete and test the channels alerts go to."""
    if user.role != "admin":
        raise Forbidden("此页面仅管理员可见")
    from api.services import alerts as alerts_svc
    from qa.alerts import CHANNEL_NAMES, EVENT_NAMES
    teams = sorted({t for t in db.scalars(select(Agent.team)) if t})
    return render(request, "admin_alerts.html", title="告警通道", nav="admin_alerts",
                  channels=[dict(c, created_at=c["created_at"].isoformat())
                            for c in alerts_svc.list_channels(db, settings)], kinds=CHANNEL_NAMES,
                  events=EVENT_NAMES, teams=teams)
