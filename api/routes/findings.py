"""Findings: read one, review it (uphold / overturn), appeal it, and the review queue."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.deps import IntId, CurrentUser, SessionDep, SettingsDep, SupervisorUser, client_ip
from api.schemas import AppealCreate, AppealPublic, FindingPublic, QueueItem, ReviewCreate
from api.services import calls as svc
from api.services import review as review_svc
from api.services.privacy import Masking

router = APIRouter(tags=["findings"])
NOT_FOUND = {404: {"description": "质检项不存在或无权查看"}}


def _masking(db, user, call_id: str, request: Request) -> Masking:
    """The API's masking for ``user`` of one call (lifted while a reveal of it lasts)."""
    return Masking.for_user(db, user, "api", call_id=call_id,
                            session_id=getattr(request.state, "session_id", None))


def _public(db, user, settings, finding_id: int, request: Request) -> FindingPublic:
    f = svc.get_finding(db, user, finding_id)
    detail = svc.detail(db, user, f.call_id, settings)
    return FindingPublic.model_validate(_masking(db, user, f.call_id, request).finding(
        next(x for x in detail["findings"] if x["id"] == finding_id)))


@router.get("/findings/{finding_id}", response_model=FindingPublic, responses=NOT_FOUND,
            summary="质检项 / one finding")
def get_finding(finding_id: IntId, user: CurrentUser, db: SessionDep,
                settings: SettingsDep, request: Request) -> FindingPublic:
    return _public(db, user, settings, finding_id, request)


@router.post("/findings/{finding_id}/review", response_model=FindingPublic,
             responses={**NOT_FOUND, 409: {"description": "不能复核（非不合格项、已关账或申诉已结）"}},
             summary="复核：维持或推翻 / review: uphold or overturn")
def review(finding_id: IntId, body: ReviewCreate, user: SupervisorUser, db: SessionDep,
           settings: SettingsDep, request: Request) -> FindingPublic:
    review_svc.review_finding(db, user, finding_id, body.decision, body.comment, settings,
                              client_ip(request))
    db.commit()
    return _public(db, user, settings, finding_id, request)


@router.post("/findings/{finding_id}/appeals", response_model=AppealPublic, status_code=201,
             responses={**NOT_FOUND, 403: {"description": "只有客服人员本人可以申诉"},
                        409: {"description": "申诉期已过、已关账或已申诉"}},
             summary="申诉 / appeal a finding (agent, own calls)")
def appeal(finding_id: IntId, body: AppealCreate, user: CurrentUser, db: SessionDep,
           settings: SettingsDep, request: Request) -> AppealPublic:
    a = review_svc.file_appeal(db, user, finding_id, body.reason, settings, client_ip(request))
    db.commit()
    return AppealPublic.model_validate(_masking(db, user, a.call_id, request).appeal(
        svc.appeal_public(a)))


@router.get("/review-queue", response_model=list[QueueItem],
            summary="复核队列：禁止行为 → 低置信度 → 抽检 / review queue")
def review_queue(user: SupervisorUser, db: SessionDep, settings: SettingsDep,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50,
                 agent_id: Annotated[str | None, Query(max_length=64)] = None
                 ) -> list[QueueItem]:
    m = Masking.for_user(db, user, "api")
    return [QueueItem.model_validate({**x, "call": m.summary(x["call"])})
            for x in svc.review_queue(db, settings, limit=limit, agent_id=agent_id, user=user)]
