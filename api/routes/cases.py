"""Complaint and repair cases (跟进案件) with the standards' deadlines, and the working
calendar they are counted on."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import select

from api.deps import AdminUser, CurrentUser, IntId, SessionDep, SettingsDep, SupervisorUser, client_ip
from api.schemas import CasePublic, CaseUpdate, HolidayPublic
from api.services.audit import audit
from api.services.privacy import Masking
from api.services.errors import NotFound
from models import Case, Holiday
from qa import cases as qa_cases
from qa.workcal import default_days

router = APIRouter(tags=["cases"])
NOT_FOUND = {404: {"description": "案件不存在或无权查看"}}
CASE_NOT_FOUND = "案件不存在或无权查看 / case not found"


def _case(db, user, case_id: int) -> Case:
    case = db.get(Case, case_id)
    if case is None or (user.role == "agent" and (not user.agent_id
                                                  or case.agent_id != user.agent_id)):
        raise NotFound(CASE_NOT_FOUND)
    return case


@router.get("/cases", response_model=list[CasePublic],
            summary="未结的投诉/报修案件 / open complaint and repair cases")
def list_cases(user: SupervisorUser, db: SessionDep, settings: SettingsDep,
               overdue: Annotated[bool, Query(description="只看逾期或失约的")] = False,
               ) -> list[CasePublic]:
    m = Masking.for_user(db, user, "api")
    return [CasePublic(**m.case(v)) for v in qa_cases.open_cases(db, settings,
                                                                 overdue_only=overdue)]


@router.get("/cases/{case_id}", response_model=CasePublic, responses=NOT_FOUND,
            summary="案件 / one case")
def get_case(case_id: IntId, user: CurrentUser, db: SessionDep,
             settings: SettingsDep, request: Request) -> CasePublic:
    case = _case(db, user, case_id)
    return CasePublic(**_masked(db, user, case, qa_cases.case_view(db, case, settings),
                                request))


def _masked(db, user, case: Case, view: dict, request: Request | None = None) -> dict:
    """A case as the masking policy lets ``user`` see it through the API (agents: masked by
    default; a reveal of the case's call lifts it in that session)."""
    sid = getattr(request.state, "session_id", None) if request is not None else None
    return Masking.for_user(db, user, "api", call_id=case.call_id, session_id=sid).case(view)


@router.patch("/cases/{case_id}", response_model=CasePublic, responses=NOT_FOUND,
              summary="更新案件：处理状态、已回访 / update a case")
def update_case(case_id: IntId, body: CaseUpdate, user: SupervisorUser, db: SessionDep,
                settings: SettingsDep, request: Request) -> CasePublic:
    case = _case(db, user, case_id)
    now = datetime.now(timezone.utc)
    if body.state is not None and body.state != case.state:
        qa_cases.set_state(db, case, body.state, settings, now)
    if body.called_back and case.called_back_at is None:
        case.called_back_at = now
    audit(db, user, "case.update", "case", case.id, body.model_dump(exclude_none=True),
          client_ip(request))
    db.commit()
    return CasePublic(**_masked(db, user, case, qa_cases.case_view(db, case, settings), request))


@router.get("/calendar/holidays", response_model=list[HolidayPublic],
            summary="工作日历：节假日与调休 / the working calendar")
def list_holidays(user: SupervisorUser, db: SessionDep,
                  year: Annotated[int, Query(ge=2000, le=2099)]) -> list[HolidayPublic]:
    days = {d: HolidayPublic(day=d, name=n, working=w)
            for d, (w, n) in default_days().items() if d.year == year}
    for h in db.scalars(select(Holiday)):
        if h.day.year == year:
            days[h.day] = HolidayPublic(day=h.day, name=h.name, working=h.working)
    return [days[d] for d in sorted(days)]


@router.put("/calendar/holidays/{day}", response_model=HolidayPublic,
            summary="设置某天为节假日或调休上班 / set a day of the calendar")
def put_holiday(day: Annotated[date, Path()], body: HolidayPublic, user: AdminUser,
                db: SessionDep, request: Request) -> HolidayPublic:
    row = db.get(Holiday, day) or Holiday(day=day)
    row.name, row.working = body.name[:100], body.working
    db.add(row)
    audit(db, user, "calendar.set", "holiday", day.isoformat(),
          {"name": row.name, "working": row.working}, client_ip(request))
    db.commit()
    return HolidayPublic(day=day, name=row.name, working=row.working)


@router.delete("/calendar/holidays/{day}", status_code=204, response_class=Response,
               responses={404: {"description": "这一天没有设置"}},
               summary="删除管理员设置的某天 / remove a day an admin set")
def delete_holiday(day: Annotated[date, Path()], user: AdminUser, db: SessionDep,
                   request: Request) -> Response:
    row = db.get(Holiday, day)
    if row is None:
        raise NotFound("这一天没有设置 / no such day")
    db.delete(row)
    audit(db, user, "calendar.unset", "holiday", day.isoformat(), {}, client_ip(request))
    db.commit()
    return Response(status_code=204)
