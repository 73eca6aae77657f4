"""Personal data: the masking policy (admins change it) and revealing one call's data
(supervisors, audited, for a limited time in the session that asked)."""
from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import AdminUser, CurrentUser, SessionDep, SupervisorUser, client_ip
from api.schemas import MaskingPolicy, RevealPublic
from api.services import privacy as svc

router = APIRouter(tags=["privacy"])


@router.get("/privacy/policy", response_model=MaskingPolicy,
            summary="个人信息脱敏策略 / the masking policy")
def get_policy(user: SupervisorUser, db: SessionDep) -> MaskingPolicy:
    return MaskingPolicy(**svc.get_policy(db))


@router.put("/privacy/policy", response_model=MaskingPolicy,
            responses={403: {"description": "仅管理员"}, 422: {"description": "策略无效"}},
            summary="修改脱敏策略（管理员）/ change the masking policy (admins)")
def put_policy(body: MaskingPolicy, user: AdminUser, db: SessionDep,
               request: Request) -> MaskingPolicy:
    """Example: ``PUT /api/v1/privacy/policy`` with
    ``{"roles": {"supervisor": {"pages": true}}, "reveal_minutes": 10}``; roles and outputs
    left out keep their defaults."""
    policy = svc.set_policy(db, user, body.model_dump(), client_ip(request))
    db.commit()
    return MaskingPolicy(**policy)


@router.post("/calls/{call_id}/reveal", response_model=RevealPublic,
             responses={403: {"description": "客服人员不能查看明文"},
                        404: {"description": "通话不存在或无权查看"}},
             summary="查看一通电话的个人信息明文（记入审计）/ reveal one call's personal data")
def reveal(call_id: str, user: CurrentUser, db: SessionDep, request: Request) -> RevealPublic:
    """Supervisors and admins: this call's personal data is shown unmasked in this session for
    the policy's ``reveal_minutes`` (default 15); the reveal is audited (``call.reveal``)."""
    until = svc.reveal(db, user, call_id, getattr(request.state, "session_id", None),
                       client_ip(request))
    db.commit()
    return RevealPublic(call_id=call_id, revealed_until=until,
                        minutes=svc.get_policy(db)["reveal_minutes"])
