"""Monthly assessments (月度考核): live until a supervisor closes (freezes) the month."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from api.deps import MONTH_PATTERN, CurrentUser, SessionDep, SettingsDep, SupervisorUser, client_ip
from api.schemas import AssessmentPublic, CloseMonth
from api.services.audit import audit
from api.services.errors import Invalid, NotFound
from qa import assessment_store as store
from qa.assessment import parse_month
from qa.assessment_store import local_tz

router = APIRouter(prefix="/assessments", tags=["assessments"])
Month = Annotated[str, Path(pattern=MONTH_PATTERN, description="YYYY-MM")]
MonthQ = Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM")]


def _pub(a, settings) -> AssessmentPublic:
    """``a`` as sent: a red line's ``started_at`` (local wall-clock time, as months are counted)
    with the local zone's offset, so that it reads as the same instant as the call's."""
    out = AssessmentPublic.model_validate(a.to_dict())
    for r in out.red_lines:
        if r.started_at is not None and r.started_at.tzinfo is None:
            r.started_at = r.started_at.replace(tzinfo=local_tz(settings))
    return out


@router.get("", response_model=list[AssessmentPublic],
            summary="某月全部客服的考核（客服只看自己）/ a month's assessments")
def list_assessments(month: MonthQ, user: CurrentUser, db: SessionDep,
                     settings: SettingsDep) -> list[AssessmentPublic]:
    if user.role == "agent":
        if not user.agent_id:
            return []
        out = store.assessments(db, month, agent_id=user.agent_id, settings=settings)
    else:
        out = store.assessments(db, month, settings=settings)  # computed, not saved
    return [_pub(a, settings) for a in out]


@router.get("/{agent_id}/{month}", response_model=AssessmentPublic,
            responses={404: {"description": "无此考核或无权查看"}},
            summary="一位客服的月度考核 / one agent's month")
def get_assessment(agent_id: Annotated[str, Path(max_length=64)], month: Month,
                   user: CurrentUser, db: SessionDep, settings: SettingsDep) -> AssessmentPublic:
    if user.role == "agent" and user.agent_id != agent_id:
        raise NotFound("考核不存在或无权查看 / assessment not found")
    from models import Agent
    if db.get(Agent, agent_id) is None:
        raise NotFound("考核不存在或无权查看 / assessment not found")
    return _pub(store.assess(db, agent_id, month, settings=settings), settings)


@router.post("/{month}/close", response_model=list[AssessmentPublic],
             summary="关账：冻结当月考核 / close (freeze) the month")
def close(month: Month, body: CloseMonth, user: SupervisorUser, db: SessionDep,
          settings: SettingsDep, request: Request) -> list[AssessmentPublic]:
    try:
        parse_month(month)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    out = store.close_month(db, month, user_id=user.id, agent_ids=body.agent_ids,
                            settings=settings)
    audit(db, user, "assessment.close", "month", month,
          {"agents": [a.agent_id for a in out]}, client_ip(request))
    db.commit()
    return [_pub(a, settings) for a in out]
