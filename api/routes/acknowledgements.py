"""Agents sign their feedback (签收); supervisors see who has not."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from api.deps import MONTH_PATTERN, CurrentUser, SessionDep, SettingsDep, SupervisorUser, client_ip
from api.schemas import AcknowledgementCreate, AcknowledgementPublic, AcknowledgementStatus
from api.services import acknowledgements as svc
from api.services.privacy import Masking

router = APIRouter(tags=["acknowledgements"])
CallId = Annotated[str, Path(max_length=64)]


@router.post("/calls/{call_id}/acknowledge", response_model=AcknowledgementPublic,
             status_code=201,
             responses={404: {"description": "通话不存在或无权查看"},
                        409: {"description": "还没有质检结果，或已签收"}},
             summary="客服签收本人通话的质检结果 / the agent acknowledges a scored call")
def acknowledge(call_id: CallId, body: AcknowledgementCreate, user: CurrentUser,
                db: SessionDep, request: Request) -> AcknowledgementPublic:
    ack = svc.acknowledge(db, user, call_id, body.comment, client_ip(request))
    db.commit()
    m = Masking.for_user(db, user, "api", call_id=call_id,
                         session_id=getattr(request.state, "session_id", None))
    return AcknowledgementPublic(**m.fields(svc.public(ack), "comment"))


@router.get("/acknowledgements", response_model=list[AcknowledgementStatus],
            summary="各客服本月签收情况 / who has acknowledged the month's calls")
def month_status(user: SupervisorUser, db: SessionDep, settings: SettingsDep,
                 month: Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM")]
                 ) -> list[AcknowledgementStatus]:
    return [AcknowledgementStatus(**r) for r in svc.month_status(db, settings, month)]
