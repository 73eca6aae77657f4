"""Appeals: agents see their own, supervisors see all and decide (final)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.deps import IntId, CurrentUser, SessionDep, SettingsDep, SupervisorUser, client_ip
from api.schemas import AppealDecision, AppealPublic
from api.services import review as review_svc
from api.services.calls import appeal_public

router = APIRouter(prefix="/appeals", tags=["appeals"])
NOT_FOUND = {404: {"description": "申诉不存在或无权查看"}}


@router.get("", response_model=list[AppealPublic], summary="申诉列表 / appeals")
def list_appeals(user: CurrentUser, db: SessionDep,
                 state: Annotated[str | None, Query(pattern="^(open|accepted|rejected)$")] = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[AppealPublic]:
    return [AppealPublic.model_validate(appeal_public(a))
            for a in review_svc.list_appeals(db, user, state, limit)]


@router.get("/{appeal_id}", response_model=AppealPublic, responses=NOT_FOUND,
            summary="申诉详情 / one appeal")
def get_appeal(appeal_id: IntId, user: CurrentUser, db: SessionDep) -> AppealPublic:
    return AppealPublic.model_validate(appeal_public(review_svc.visible_appeal(db, user,
                                                                               appeal_id)))


@router.post("/{appeal_id}/decision", response_model=AppealPublic,
             responses={**NOT_FOUND, 409: {"description": "已处理（最终结果）或已关账"}},
             summary="处理申诉：成立或驳回（最终）/ accept or reject (final)")
def decide(appeal_id: IntId, body: AppealDecision, user: SupervisorUser, db: SessionDep,
           settings: SettingsDep, request: Request) -> AppealPublic:
    a = review_svc.decide_appeal(db, user, appeal_id, body.decision, body.reply, settings,
                                 client_ip(request))
    db.commit()
    return AppealPublic.model_validate(appeal_public(a))
