"""Agreement between the machine and people (issue #16 part 3): recorded random samples for
review (随机抽检), the agreement page's figures per rule and month (一致性), and calibration
sessions (校准) where supervisors score the same calls blind.

* A **random sample** draws N analysed calls of a month / date range with a recorded seed
  (:func:`qa.agreement.random_draw`); the seed, the population's hash and the drawn ids are
  kept with who drew it and when. Reviews of a sampled call (upholding / overturning its fails
  in the ordinary review, whenever made) are the sample's: the agreement page shows them apart
  from the other reviews (mostly the priority queue's), because only they are unbiased. The
  review model lets a supervisor decide fails only (a pass cannot be marked wrong), so the
  samples' agreement covers the machine's fails; the passes' agreement comes from the
  calibration sessions, where people score every rule.
* A **calibration session** names two or more supervisors who each score every rule of every
  call (``pass``/``fail``/``n/a``) without seeing the machine's verdicts or each other's scores
  until they have submitted; then Cohen's kappa per pair and against the machine's stored
  findings, per rule and overall (:func:`qa.agreement.panel`).

Every change is audited.
"""
from __future__ import annotations

import re
import secrets
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.security import SUPERVISOR_ROLES
from api.services.audit import audit
from api.services.calls import summary
from api.services.errors import Conflict, Forbidden, Invalid, NotFound
from models import Call, Finding, User
from models.tables import (CalibrationCall, CalibrationReviewer, CalibrationScore,
                           CalibrationSession, ReviewSample, ReviewSampleCall)
from qa import agreement as ag
from qa.assessment_store import local_month, local_tz, month_bounds_utc
from qa.settings import Settings

MAX_SAMPLE = 500
MAX_CALIBRATION_CALLS = 50
MAX_RANGE_DAYS = 366
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


# --- rule codes ------------------------------------------------------------------------------------

def builtin_codes() -> list[str]:
    """The catalogue's rule codes, in catalogue order."""
    from qa.rules import rule_classes
    return [r.code for r in rule_classes()]


def rule_names() -> dict[str, str]:
    from api.services.calls import rule_names as names
    return names()


def all_codes(db: Session, call_ids: Any = None) -> list[str]:
    """The built-in codes, then any other code found in the findings (of ``call_ids`` — a list
    or a subquery of call ids — when given), sorted."""
    codes = builtin_codes()
    q = select(Finding.code).distinct()
    if call_ids is not None:
        q = q.where(Finding.call_id.in_(call_ids))
    others = sorted(set(db.scalars(q)) - set(codes))
    return codes + others


# --- periods -------------------------------------------------------------------------------------

def _period(settings: Settings, month: str | None, date_from: date | None,
            date_to: date | None) -> tuple[date, date, str | None]:
    """Local dates ``(first, last, month)`` of a month or an inclusive date range."""
    if month:
        if date_from or date_to:
            raise Invalid("请选择月份或起止日期，不能同时给出 / month or a date range, not both")
        y, m = int(month[:4]), int(month[5:7])
        first = date(y, m, 1)
        nxt = date(y + (m == 12), m % 12 + 1, 1)
        return first, nxt - timedelta(days=1), month
    if not date_from or not date_to:
        raise Invalid("请选择月份，或同时给出开始和结束日期 / give a month or both dates")
    if not all(1900 <= d.year <= 2999 for d in (date_from, date_to)):
        raise Invalid("日期应在 1900–2999 年之间 / dates must be in the years 1900-2999")
    if date_from > date_to:
        raise Invalid("开始日期晚于结束日期 / date_from is after date_to")
    if (date_to - date_from).days >= MAX_RANGE_DAYS:
        raise Invalid(f"日期范围不能超过 {MAX_RANGE_DAYS} 天 / at most {MAX_RANGE_DAYS} days")
    return date_from, date_to, None


def _utc_range(settings: Settings, first: date, last: date) -> tuple[datetime, datetime]:
    tz = local_tz(settings)
    start = datetime(first.year, first.month, first.day, tzinfo=tz).astimezone(timezone.utc)
    nxt = last + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(timezone.utc)
    return start, end


def _population(db: Session, settings: Settings, first: date, last: date,
                agent_id: str | None) -> list[str]:
    start, end = _utc_range(settings, first, last)
    q = select(Call.id).where(Call.status == "done", Call.started_at >= start,
                              Call.started_at < end)
    if agent_id:
        q = q.where(Call.agent_id == agent_id)
    return sorted(db.scalars(q))


def latest_month(db: Session, settings: Settings) -> str:
    """The local month of the latest analysed call (this month when there is none)."""
    tz = local_tz(settings)
    latest = db.scalar(select(Call.started_at).where(Call.status == "done",
                                                     Call.started_at.is_not(None))
                       .order_by(Call.started_at.desc()).limit(1))
    if latest is None:
        now = datetime.now(tz)
        return f"{now.year:04d}-{now.month:02d}"
    return local_month(latest, tz)


# --- random samples ------------------------------------------------------------------------------

def draw_sample(db: Session, user: User, settings: Settings, *, size: int,
                month: str | None = None, date_from: date | None = None,
                date_to: date | None = None, seed: int | None = None,
                agent_id: str | None = None, name: str | None = None,
                purpose: str = "review", ip: str | None = None) -> ReviewSample:
    """Draw ``size`` analysed calls at random from a month or date range (local dates) and
    record the draw. ``seed`` (0 … 2³¹−1) makes it repeatable; none: a random one, recorded.

    Raises:
        Invalid: a bad period or size. Conflict: no analysed call in the period.
    """
    limit = MAX_SAMPLE if purpose == "review" else MAX_CALIBRATION_CALLS
    if not 1 <= size <= limit:
        raise Invalid(f"抽样数量应在 1–{limit} 之间 / size must be 1-{limit}")
    first, last, month = _period(settings, month, date_from, date_to)
    population = _population(db, settings, first, last, agent_id)
    if not population:
        raise Conflict("该时间段没有已分析的通话，无法抽样 / no analysed call in the period")
    if seed is None:
        seed = secrets.randbelow(2**31)
    ids = ag.random_draw(population, size, seed)
    period = month or f"{first.isoformat()}~{last.isoformat()}"
    s = ReviewSample(name=(name or "").strip() or f"随机抽检 {period}", purpose=purpose,
                     seed=seed, date_from=first, date_to=last, month=month, agent_id=agent_id,
                     size=size, population=len(population),
                     population_sha256=ag.population_hash(population), call_ids=ids,
                     created_by=user.id)
    s.calls = [ReviewSampleCall(call_id=cid, position=i) for i, cid in enumerate(ids)]
    db.add(s)
    db.flush()
    audit(db, user, "sample.draw", "review_sample", s.id,
          {"seed": seed, "period": period, "agent_id": agent_id, "size": size,
           "population": len(population), "population_sha256": s.population_sha256,
           "call_ids": ids, "purpose": purpose}, ip)
    return s


def get_sample(db: Session, sample_id: int) -> ReviewSample:
    s = db.get(ReviewSample, sample_id)
    if s is None:
        raise NotFound("抽样不存在 / sample not found")
    return s


def list_samples(db: Session, limit: int = 200) -> list[ReviewSample]:
    return list(db.scalars(select(ReviewSample).order_by(ReviewSample.created_at.desc(),
                                                         ReviewSample.id.desc()).limit(limit)))


def _usernames(db: Session, ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {u.id: u.display_name or u.username for u in
            db.scalars(select(User).where(User.id.in_(ids)))}


def _fail_counts(db: Session, call_ids: list[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"fails": 0, "pending": 0,
                                                          "upheld": 0, "overturned": 0})
    if not call_ids:
        return out
    for cid, state in db.execute(select(Finding.call_id, Finding.review_state).where(
            Finding.call_id.in_(call_ids), Finding.status == "fail")):
        out[cid]["fails"] += 1
        key = {"upheld": "upheld", "overturned": "overturned"}.get(state, "pending")
        out[cid][key] += 1
    return out


def sample_public(db: Session, s: ReviewSample, *, calls: bool = False,
                  masking: Any = None) -> dict[str, Any]:
    """A sample as the API and the pages show it: the record, progress (fails decided, calls
    checked) and, with ``calls``, every drawn call with its review state."""
    ids = [c.call_id for c in s.calls]
    counts = _fail_counts(db, ids)
    names = _usernames(db, {s.created_by, *(c.checked_by for c in s.calls)})
    out: dict[str, Any] = {
        "id": s.id, "name": s.name, "purpose": s.purpose, "seed": s.seed,
        "date_from": s.date_from, "date_to": s.date_to, "month": s.month,
        "agent_id": s.agent_id, "size": s.size, "population": s.population,
        "population_sha256": s.population_sha256, "call_ids": list(s.call_ids or []),
        "created_by": names.get(s.created_by), "created_at": s.created_at,
        "calls_checked": sum(c.checked_at is not None for c in s.calls),
        "fails": sum(counts[i]["fails"] for i in ids),
        "pending": sum(counts[i]["pending"] for i in ids),
    }
    out["reviewed"] = out["fails"] - out["pending"]
    if calls:
        rows = []
        by_id = {c.id: c for c in db.scalars(select(Call).where(Call.id.in_(ids)))}
        for sc in s.calls:
            call = by_id.get(sc.call_id)
            if call is None:
                continue
            summ = summary(db, call)
            rows.append({"call": masking.summary(summ) if masking is not None else summ,
                         "position": sc.position, **counts[sc.call_id],
                         "checked_at": sc.checked_at, "checked_by": names.get(sc.checked_by)})
        out["calls"] = rows
    return out


def verify_sample(db: Session, s: ReviewSample, settings: Settings) -> tuple[bool, str]:
    """Draw again with the recorded seed: whether the same calls come out (and why not)."""
    population = _population(db, settings, s.date_from, s.date_to, s.agent_id)
    if ag.population_hash(population) != s.population_sha256:
        return False, (f"抽样后该时间段的通话有变化（现 {len(population)} 通，抽样时 "
                       f"{s.population} 通），用同一种子重抽结果会不同")
    if ag.random_draw(population, s.size, s.seed) != list(s.call_ids or []):
        return False, "用记录的种子重抽，结果与记录不同"
    return True, "用记录的种子重抽，得到同样的通话"


def check_sample_call(db: Session, user: User, sample_id: int, call_id: str,
                      ip: str | None = None) -> ReviewSampleCall:
    """Mark a sampled call as looked at (its fails decided, its passes seen).

    Raises:
        NotFound: no such sample or call in it. Conflict: fails still pending, or checked.
    """
    s = get_sample(db, sample_id)
    sc = next((c for c in s.calls if c.call_id == call_id), None)
    if sc is None:
        raise NotFound("该通话不在此抽样中 / call not in this sample")
    if sc.checked_at is not None:
        raise Conflict("该通话已标记为已抽检 / already checked")
    if _fail_counts(db, [call_id])[call_id]["pending"]:
        raise Conflict("请先复核该通话的不合格项（维持或推翻）/ decide its fails first")
    sc.checked_at, sc.checked_by = datetime.now(timezone.utc), user.id
    audit(db, user, "sample.check", "review_sample", s.id, {"call_id": call_id}, ip)
    db.flush()
    return sc


# --- the agreement page ----------------------------------------------------------------------------

def _group() -> dict[str, Any]:
    return {"fails": 0, "upheld": 0, "overturned": 0, "pending": 0}


def _finish(g: dict[str, Any]) -> dict[str, Any]:
    g["agreement"], g["overturn_rate"] = ag.overturn_rate(g["upheld"], g["overturned"])
    return g


def agreement(db: Session, settings: Settings, month: str) -> dict[str, Any]:
    """Machine–human agreement per rule for the calls of a local month.

    ``sample``: the fails of the calls drawn in random samples (unbiased; ``pending`` ones
    not yet decided), ``queue``: the fails of the other calls (reviewed through the priority
    queue, the call list, appeals), ``calibration``: the submitted calibration scores of the
    month's calls against the machine's verdict (passes included). ``agreement`` = upheld /
    decided, ``overturn_rate`` = overturned / decided. ``most_overturned``: the codes people
    overturn most, most overturned first (then the higher rate).
    """
    start, end = month_bounds_utc(month, settings)
    in_month = select(Call.id).where(Call.status == "done", Call.started_at >= start,
                                     Call.started_at < end)
    sampled = set(db.scalars(select(ReviewSampleCall.call_id).distinct().where(
        ReviewSampleCall.call_id.in_(in_month))))
    rows: dict[str, dict[str, Any]] = {}

    def row(code: str) -> dict[str, Any]:
        if code not in rows:
            rows[code] = {"code": code, "machine_fails": 0, "sample": _group(),
                          "queue": _group(), "calibration": {"n": 0, "agree": 0}}
        return rows[code]

    for code in all_codes(db, in_month):
        row(code)
    for cid, code, state in db.execute(select(Finding.call_id, Finding.code,
                                              Finding.review_state)
                                       .where(Finding.status == "fail",
                                              Finding.call_id.in_(in_month))):
        r = row(code)
        r["machine_fails"] += 1
        g = r["sample" if cid in sampled else "queue"]
        g["fails"] += 1
        g[state if state in ("upheld", "overturned") else "pending"] += 1
    # calibration: submitted reviewers' scores against the stored findings
    submitted = (select(CalibrationReviewer.session_id, CalibrationReviewer.user_id)
                 .where(CalibrationReviewer.submitted_at.is_not(None)).subquery())
    q = (select(CalibrationScore.code, CalibrationScore.label, Finding.status)
         .join(submitted, (submitted.c.session_id == CalibrationScore.session_id)
               & (submitted.c.user_id == CalibrationScore.user_id))
         .join(Finding, (Finding.call_id == CalibrationScore.call_id)
               & (Finding.code == CalibrationScore.code))
         .where(CalibrationScore.call_id.in_(in_month)))
    for code, label, status in db.execute(q):
        c = row(code)["calibration"]
        c["n"] += 1
        c["agree"] += label == status
    names = rule_names()
    totals = {"sample": _group(), "queue": _group(), "calibration": {"n": 0, "agree": 0},
              "machine_fails": 0}
    out_rows = []
    for code in list(rows):
        r = rows[code]
        r["name"] = names.get(code)
        for k in ("sample", "queue"):
            for f in ("fails", "upheld", "overturned", "pending"):
                totals[k][f] += r[k][f]
            _finish(r[k])
        c = r["calibration"]
        c["percent"] = round(100.0 * c["agree"] / c["n"], 1) if c["n"] else None
        totals["calibration"]["n"] += c["n"]
        totals["calibration"]["agree"] += c["agree"]
        totals["machine_fails"] += r["machine_fails"]
        r["overturned"] = r["sample"]["overturned"] + r["queue"]["overturned"]
        r["decided"] = r["overturned"] + r["sample"]["upheld"] + r["queue"]["upheld"]
        out_rows.append(r)
    for k in ("sample", "queue"):
        _finish(totals[k])
    tc = totals["calibration"]
    tc["percent"] = round(100.0 * tc["agree"] / tc["n"], 1) if tc["n"] else None
    most = sorted((r for r in out_rows if r["overturned"]),
                  key=lambda r: (-r["overturned"], -(r["overturned"] / r["decided"]), r["code"]))
    return {"month": month, "sample_calls": len(sampled), "rules": out_rows, "totals": totals,
            "most_overturned": [r["code"] for r in most]}


# --- calibration sessions --------------------------------------------------------------------------

def _reviewers(db: Session, reviewer_ids: list[int]) -> list[User]:
    ids = list(dict.fromkeys(reviewer_ids))
    if len(ids) < 2:
        raise Invalid("至少需要两名评分人 / at least two reviewers")
    users = {u.id: u for u in db.scalars(select(User).where(User.id.in_(ids)))}
    bad = [i for i in ids if i not in users or not users[i].active
           or users[i].role not in SUPERVISOR_ROLES]
    if bad:
        raise Invalid(f"评分人须为在用的质检主管或管理员：{bad} / reviewers must be active "
                      "supervisors or admins")
    return [users[i] for i in ids]


def create_session(db: Session, user: User, settings: Settings, *, name: str,
                   reviewer_ids: list[int], call_ids: list[str] | None = None,
                   sample_id: int | None = None, draw: dict[str, Any] | None = None,
                   codes: list[str] | None = None, ip: str | None = None
                   ) -> CalibrationSession:
    """A calibration session over picked calls (``call_ids``), the calls of a recorded sample
    (``sample_id``) or a new random draw (``draw``: the arguments of :func:`draw_sample`,
    recorded as a sample with ``purpose='calibration'``) — exactly one of them; ``codes``:
    the rules scored (default: every built-in code and any other of these calls' findings).

    Raises:
        Invalid: no or several call sources, unknown / unanalysed calls, too many, bad
        reviewers or codes. NotFound: no such sample.
    """
    sources = sum(x is not None for x in (call_ids, sample_id, draw))
    if sources != 1:
        raise Invalid("请从以下方式中选一种给出通话：指定通话、已有抽样、随机抽取 / give exactly "
                      "one of call_ids, sample_id, draw")
    name = (name or "").strip()
    if not name:
        raise Invalid("请填写校准名称 / name is required")
    reviewers = _reviewers(db, reviewer_ids)
    if draw is not None:
        s = draw_sample(db, user, settings, purpose="calibration",
                        name=draw.get("name") or f"校准：{name}",
                        **{k: v for k, v in draw.items() if k != "name"}, ip=ip)
        sample_id, ids = s.id, list(s.call_ids)
    elif sample_id is not None:
        ids = list(get_sample(db, sample_id).call_ids or [])
    else:
        ids = list(dict.fromkeys(call_ids or []))
    if not ids:
        raise Invalid("没有要评分的通话 / no calls")
    if len(ids) > MAX_CALIBRATION_CALLS:
        raise Invalid(f"一次校准最多 {MAX_CALIBRATION_CALLS} 通电话 / at most "
                      f"{MAX_CALIBRATION_CALLS} calls")
    done = set(db.scalars(select(Call.id).where(Call.id.in_(ids), Call.status == "done")))
    missing = [i for i in ids if i not in done]
    if missing:
        raise Invalid(f"这些通话不存在或尚未分析完成：{', '.join(missing[:10])} / calls not "
                      "found or not analysed")
    if codes is None:
        codes = all_codes(db, ids)
    else:
        codes = list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
        bad = [c for c in codes if not CODE_RE.match(c)]
        if not codes or bad:
            raise Invalid(f"规则代码无效：{bad} / invalid rule codes")
    cs = CalibrationSession(name=name[:200], state="open", sample_id=sample_id, codes=codes,
                            created_by=user.id)
    cs.calls = [CalibrationCall(call_id=cid, position=i) for i, cid in enumerate(ids)]
    cs.reviewers = [CalibrationReviewer(user_id=u.id) for u in reviewers]
    db.add(cs)
    db.flush()
    audit(db, user, "calibration.create", "calibration_session", cs.id,
          {"name": cs.name, "call_ids": ids, "reviewers": [u.username for u in reviewers],
           "codes": codes, "sample_id": sample_id}, ip)
    return cs


def get_session(db: Session, session_id: int) -> CalibrationSession:
    cs = db.get(CalibrationSession, session_id)
    if cs is None:
        raise NotFound("校准不存在 / calibration session not found")
    return cs


def list_sessions(db: Session, limit: int = 200) -> list[CalibrationSession]:
    return list(db.scalars(select(CalibrationSession).order_by(
        CalibrationSession.created_at.desc(), CalibrationSession.id.desc()).limit(limit)))


def reviewer_row(cs: CalibrationSession, user: User) -> CalibrationReviewer | None:
    return next((r for r in cs.reviewers if r.user_id == user.id), None)


def may_see_results(cs: CalibrationSession, user: User) -> bool:
    """Everyone but a named reviewer who has not submitted yet (blind scoring)."""
    r = reviewer_row(cs, user)
    return r is None or r.submitted_at is not None


def _my_cells(db: Session, cs: CalibrationSession, user: User) -> dict[tuple[str, str], str]:
    return {(s.call_id, s.code): s.label for s in db.scalars(select(CalibrationScore).where(
        CalibrationScore.session_id == cs.id, CalibrationScore.user_id == user.id))}


def session_public(db: Session, cs: CalibrationSession, user: User) -> dict[str, Any]:
    """The session without anybody's scores or the machine's verdicts (safe to show a
    reviewer who has not submitted)."""
    names = _usernames(db, {cs.created_by, *(r.user_id for r in cs.reviewers)})
    users = {u.id: u for u in db.scalars(select(User).where(
        User.id.in_([r.user_id for r in cs.reviewers])))}
    mine = reviewer_row(cs, user)
    needed = len(cs.calls) * len(cs.codes or [])
    return {
        "id": cs.id, "name": cs.name, "state": cs.state, "sample_id": cs.sample_id,
        "codes": list(cs.codes or []), "call_ids": [c.call_id for c in cs.calls],
        "created_by": names.get(cs.created_by), "created_at": cs.created_at,
        "closed_at": cs.closed_at,
        "reviewers": [{"user_id": r.user_id,
                       "username": users[r.user_id].username if r.user_id in users else "",
                       "display_name": names.get(r.user_id),
                       "submitted_at": r.submitted_at} for r in cs.reviewers],
        "me": {"reviewer": mine is not None,
               "submitted": bool(mine and mine.submitted_at is not None),
               "scored": len(_my_cells(db, cs, user)) if mine else 0, "needed": needed,
               "may_see_results": may_see_results(cs, user)},
    }


def my_scores(db: Session, cs: CalibrationSession, user: User) -> dict[str, Any]:
    """The user's own scores of a session (a draft until submitted).

    Raises:
        Forbidden: the user is not one of the session's reviewers."""
    mine = reviewer_row(cs, user)
    if mine is None:
        raise Forbidden("您不是本次校准的评分人 / not a reviewer of this session")
    cells = _my_cells(db, cs, user)
    order = {c.call_id: i for i, c in enumerate(cs.calls)}
    code_order = {c: i for i, c in enumerate(cs.codes or [])}
    return {"session_id": cs.id, "submitted_at": mine.submitted_at,
            "scores": [{"call_id": c, "code": k, "label": v} for (c, k), v in
                       sorted(cells.items(), key=lambda x: (order.get(x[0][0], 0),
                                                             code_order.get(x[0][1], 0)))]}


def save_scores(db: Session, user: User, session_id: int, scores: list[dict[str, Any]],
                submit: bool = False, ip: str | None = None) -> CalibrationSession:
    """Save the user's scores (``label`` ``None`` clears a cell); ``submit`` makes them final
    and needs every rule of every call scored. When the last reviewer submits, the session
    closes.

    Raises:
        NotFound: no such session. Forbidden: not a reviewer. Conflict: already submitted,
        or the session is closed. Invalid: a call or code not in the session, or (``submit``)
        cells left empty.
    """
    cs = get_session(db, session_id)
    mine = reviewer_row(cs, user)
    if mine is None:
        raise Forbidden("您不是本次校准的评分人 / not a reviewer of this session")
    if mine.submitted_at is not None:
        raise Conflict("您已提交评分，不能再修改 / already submitted")
    if cs.state != "open":
        raise Conflict("本次校准已结束 / the session is closed")
    calls = {c.call_id for c in cs.calls}
    codes = set(cs.codes or [])
    bad = [f"{s['call_id']}/{s['code']}" for s in scores
           if s["call_id"] not in calls or s["code"] not in codes]
    if bad:
        raise Invalid(f"不属于本次校准的通话或规则：{', '.join(bad[:10])} / not in the session")
    existing = {(s.call_id, s.code): s for s in db.scalars(select(CalibrationScore).where(
        CalibrationScore.session_id == cs.id, CalibrationScore.user_id == user.id))}
    changed = 0
    for s in scores:
        key = (s["call_id"], s["code"])
        row = existing.get(key)
        if s.get("label") is None:
            if row is not None:
                db.delete(row)
                existing.pop(key)
                changed += 1
        elif row is None:
            row = CalibrationScore(session_id=cs.id, user_id=user.id, call_id=key[0],
                                   code=key[1], label=s["label"])
            db.add(row)
            existing[key] = row
            changed += 1
        elif row.label != s["label"]:
            row.label = s["label"]
            changed += 1
    db.flush()
    if submit:
        missing = len(calls) * len(codes) - len(existing)
        if missing:
            raise Invalid(f"还有 {missing} 项未评分，请每通电话的每条规则都选择 合格 / 不合格 / "
                          f"不适用 / {missing} cells not scored")
        mine.submitted_at = datetime.now(timezone.utc)
        if all(r.submitted_at is not None for r in cs.reviewers):
            cs.state, cs.closed_at = "closed", mine.submitted_at
    audit(db, user, "calibration.submit" if submit else "calibration.scores",
          "calibration_session", cs.id, {"changed": changed, "scored": len(existing),
                                         "labels": {f"{c}/{k}": r.label for (c, k), r in
                                                    existing.items()} if submit else None}, ip)
    db.flush()
    return cs


def results(db: Session, user: User, session_id: int) -> dict[str, Any]:
    """Agreement of the submitted reviewers with each other (Cohen's kappa per pair, their
    mean) and with the machine's stored findings, per rule and overall, and the cells where
    they differ.

    Raises:
        NotFound: no such session. Forbidden: a reviewer who has not submitted (blind)."""
    cs = get_session(db, session_id)
    if not may_see_results(cs, user):
        raise Forbidden("请先提交您自己的评分，之后才能查看机器结论和其他人的评分 / submit your "
                        "own scores first")
    done = [r for r in cs.reviewers if r.submitted_at is not None]
    users = {u.id: u for u in db.scalars(select(User).where(
        User.id.in_([r.user_id for r in cs.reviewers])))}
    label_of = {r.user_id: users[r.user_id].username if r.user_id in users else str(r.user_id)
                for r in cs.reviewers}
    call_ids = [c.call_id for c in cs.calls]
    codes = list(cs.codes or [])
    ratings: dict[str, dict[tuple[str, str], str]] = {label_of[r.user_id]: {} for r in done}
    if done:
        for s in db.scalars(select(CalibrationScore).where(
                CalibrationScore.session_id == cs.id,
                CalibrationScore.user_id.in_([r.user_id for r in done]))):
            ratings[label_of[s.user_id]][(s.call_id, s.code)] = s.label
    machine = {(f.call_id, f.code): f.status for f in db.scalars(select(Finding).where(
        Finding.call_id.in_(call_ids), Finding.code.in_(codes)))}
    names = rule_names()
    per_rule = []
    for code in codes:
        sub = {r: {k: v for k, v in cells.items() if k[1] == code}
               for r, cells in ratings.items()}
        m = {k: v for k, v in machine.items() if k[1] == code}
        per_rule.append({"code": code, "name": names.get(code),
                         **_named(ag.panel(sub, m))})
    overall = _named(ag.panel(ratings, machine))
    disagreements = []
    for cid in call_ids:
        for code in codes:
            labels = {r: cells.get((cid, code)) for r, cells in ratings.items()}
            m = machine.get((cid, code))
            seen = {v for v in labels.values() if v is not None} | ({m} if m else set())
            if len(seen) > 1:
                disagreements.append({"call_id": cid, "code": code, "machine": m,
                                      "labels": {k: v for k, v in labels.items() if v}})
    return {"session_id": cs.id, "name": cs.name, "state": cs.state,
            "reviewers": [{"user_id": r.user_id, "username": label_of[r.user_id],
                           "display_name": users[r.user_id].display_name
                           if r.user_id in users else None,
                           "submitted_at": r.submitted_at} for r in done],
            "waiting": [label_of[r.user_id] for r in cs.reviewers if r.submitted_at is None],
            "calls": len(call_ids), "codes": codes, "overall": overall, "rules": per_rule,
            "disagreements": disagreements}


def _named(p: dict[str, Any]) -> dict[str, Any]:
    """A :func:`qa.agreement.panel` result with the rater names as text."""
    return {**p, "pairs": [{**x, "a": str(x["a"]), "b": str(x["b"])} for x in p["pairs"]],
            "machine": [{**x, "rater": str(x["rater"])} for x in p.get("machine", [])]}


def blind_call(db: Session, call_id: str, masking: Any) -> dict[str, Any]:
    """What a reviewer sees of a call while scoring blind: its time, length, transcript and
    recording — no findings, score or review state."""
    call = db.get(Call, call_id)
    if call is None:
        raise NotFound("通话不存在 / call not found")
    transcript = (call.report or {}).get("transcript") or {}
    utts = transcript.get("utterances") or [
        {"speaker": u.speaker, "start": u.start, "end": u.end, "text": u.text}
        for u in call.utterances]
    text = masking.text if masking is not None and masking.masked else (lambda s: s)
    return {"id": call.id, "started_at": call.started_at, "duration": call.duration,
            "audio_url": f"/api/v1/calls/{call.id}/audio" if call.media_type == "audio"
            else None,
            "utterances": [{"speaker": u.get("speaker", "unknown"),
                            "start": float(u.get("start") or 0), "end": float(u.get("end") or 0),
                            "text": text(u.get("text") or "")} for u in utts]}
