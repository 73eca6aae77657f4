"""Web pages of agreement and calibration (supervisors and admins only; simplified Chinese):
一致性 ``/agreement``, 随机抽检 ``/samples`` and ``/samples/{id}``, 校准 ``/calibration``,
the blind scoring form ``/calibration/{id}/score`` and the results ``/calibration/{id}/results``.

Reads go through :mod:`api.services.calibration`; the pages' script (``static/calibration.js``)
writes through the JSON API with the session's CSRF token.
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from api.deps import SessionDep, SettingsDep
from api.routes.pages import SupervisorPage, _month_param, _shift_month
from api.services import calibration as svc
from api.services.errors import Forbidden
from api.services.privacy import Masking
from api.templating import render
from models import Agent, User

router = APIRouter(include_in_schema=False)


@router.get("/agreement")
def agreement_page(request: Request, user: SupervisorPage, db: SessionDep,
                   settings: SettingsDep, month: str | None = None,
                   sort: str | None = None) -> Response:
    """一致性: per rule, how many machine fails people upheld / overturned this month —
    random samples apart from the other reviews — and the calibration scores."""
    month = _month_param(month) or svc.latest_month(db, settings)
    data = svc.agreement(db, settings, month)
    rows = data["rules"]
    if sort == "overturned":
        rows = sorted(rows, key=lambda r: (-r["overturned"],
                                           -(r["overturned"] / r["decided"]) if r["decided"]
                                           else 0, r["code"]))
    by_code = {r["code"]: r for r in data["rules"]}
    return render(request, "agreement.html", title="一致性", nav="agreement", data=data,
                  rows=rows, month=month, sort=sort, prev=_shift_month(month, -1),
                  next=_shift_month(month, 1),
                  most=[by_code[c] for c in data["most_overturned"]])


@router.get("/samples")
def samples_page(request: Request, user: SupervisorPage, db: SessionDep,
                 settings: SettingsDep) -> Response:
    """随机抽检: the recorded random draws, and the form to draw one."""
    samples = [svc.sample_public(db, s) for s in svc.list_samples(db)]
    agents = list(db.scalars(select(Agent).order_by(Agent.id)))
    return render(request, "samples.html", title="随机抽检", nav="samples", samples=samples,
                  agents=agents, month=svc.latest_month(db, settings))


@router.get("/samples/{sample_id}")
def sample_page(sample_id: int, request: Request, user: SupervisorPage, db: SessionDep,
                settings: SettingsDep) -> Response:
    s = svc.get_sample(db, sample_id)
    view = svc.sample_public(db, s, calls=True, masking=Masking.for_user(db, user, "pages"))
    ok, note = svc.verify_sample(db, s, settings)
    return render(request, "sample.html", title=f"随机抽检 · {s.name}", nav="samples",
                  sample=view, reproducible=ok, reproducible_note=note)


@router.get("/calibration")
def calibration_list(request: Request, user: SupervisorPage, db: SessionDep,
                     settings: SettingsDep) -> Response:
    """校准: the sessions (with what the signed-in supervisor has to do) and the form to
    create one."""
    sessions = [svc.session_public(db, cs, user) for cs in svc.list_sessions(db)]
    people = list(db.scalars(select(User).where(User.role.in_(svc.SUPERVISOR_ROLES),
                                                User.active.is_(True)).order_by(User.username)))
    samples = [s for s in svc.list_samples(db, 50)]
    return render(request, "calibration_list.html", title="校准", nav="calibration",
                  sessions=sessions, people=people, samples=samples,
                  month=svc.latest_month(db, settings), me_id=user.id)


@router.get("/calibration/{session_id}")
def calibration_session(session_id: int, user: SupervisorPage, db: SessionDep) -> Response:
    cs = svc.get_session(db, session_id)
    target = "results" if svc.may_see_results(cs, user) else "score"
    return RedirectResponse(f"/calibration/{session_id}/{target}", status_code=303)


@router.get("/calibration/{session_id}/score")
def calibration_score(session_id: int, request: Request, user: SupervisorPage,
                      db: SessionDep) -> Response:
    """The blind scoring form: each call's transcript and recording, and for every rule
    合格 / 不合格 / 不适用 (none chosen until the reviewer chooses) — no machine verdict, score
    or anybody else's scores."""
    cs = svc.get_session(db, session_id)
    mine = svc.reviewer_row(cs, user)
    if mine is None:
        raise Forbidden("您不是本次校准的评分人")
    if mine.submitted_at is not None:
        return RedirectResponse(f"/calibration/{session_id}/results", status_code=303)
    draft = {(s["call_id"], s["code"]): s["label"]
             for s in svc.my_scores(db, cs, user)["scores"]}
    calls = [svc.blind_call(db, c.call_id, Masking.for_user(
        db, user, "pages", call_id=c.call_id, session_id=request.state.session_id))
             for c in cs.calls]
    return render(request, "calibration_score.html", title=f"校准评分 · {cs.name}",
                  nav="calibration", session=svc.session_public(db, cs, user), calls=calls,
                  draft=draft, codes=list(cs.codes or []))


@router.get("/calibration/{session_id}/results")
def calibration_results(session_id: int, request: Request, user: SupervisorPage,
                        db: SessionDep) -> Response:
    res = svc.results(db, user, session_id)  # Forbidden while the user still scores blind
    return render(request, "calibration_results.html", title=f"校准结果 · {res['name']}",
                  nav="calibration", res=res,
                  session=svc.session_public(db, svc.get_session(db, session_id), user))
