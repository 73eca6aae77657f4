"""Appeals: agents see their own, supervisors see all and decide (final)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.deps import IntId, CurrentUser, SessionDep, SettingsDep, SupervisorUser, client_ip
from api.schemas import AppealDecision, AppealPublic
from api.services import review as review_svc
from api.services.calls import appeal_public
from api.services.privacy import Masking

router = APIRouter(prefix="/appeals", tags=["appeals"])
NOT_FOUND = {404: {"description": "申诉不存在或无权查看"}}


@router.get("", response_model=list[AppealPublic], summary="申诉列表 / appeals")
def list_appeals(user: CurrentUser, db: SessionDep,
                 state: Annotated[str | None, Query(pattern="^(open|accepted|rejected)$")] = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[AppealPublic]:
    m = Masking.for_user(db, user, "api")
    return [AppealPublic.model_validate(m.appeal(appeal_public(a)))
            for a in review_svc.list_appeals(db, user, state, limit)]


def _public(db, user, a, request: Request) -> AppealPublic:
    """One appeal as the masking policy lets ``user`` see it (a reveal of its call lifts it)."""
    m = Masking.for_user(db, user, "api", call_id=a.call_id,
                         session_id=getattr(request.state, "session_id", None))
    return AppealPublic.model_validate(m.appeal(appeal_public(a)))


@router.get("/{appeal_id}", response_model=AppealPublic, responses=NOT_FOUND,
            summary="申诉详情 / one appeal")
def get_appeal(appeal_id: IntId, user: CurrentUser, db: SessionDep,
               request: Request) -> AppealPublic:
    return _public(db, user, review_svc.visible_appeal(db, user, appeal_id), request)


@router.post("/{appeal_id}/decision", response_model=AppealPublic,
             responses={**NOT_FOUND, 409: {"description": "已处理（最终结果）或已关账"}},
             summary="处理申诉：成立或驳回（最终）/ accept or reject (final)")
def decide(appeal_id: IntId, body: AppealDecision, user: SupervisorUser, db: SessionDep,
           settings: SettingsDep, request: Request) -> AppealPublic:
    a = review_svc.decide_appeal(db, user, appeal_id, body.decision, body.reply, settings,
                                 client_ip(request))
    db.commit()
    return _public(db, user, a, request)
