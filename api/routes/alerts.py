"""Alerts (告警): recent alerts and the unseen count for supervisors; the channels they go
to (WeCom, DingTalk, Feishu, webhook, e-mail) for admins."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.deps import AdminUser, IntId, SessionDep, SettingsDep, SupervisorUser, client_ip
from api.schemas import (AlertChannelCreate, AlertChannelPublic, AlertChannelUpdate, AlertKind,
                         AlertList, AlertSeenUpdate, AlertTestResult, AlertUnseen)
from api.services import alerts as svc
from api.services.privacy import Masking

router = APIRouter(prefix="/alerts", tags=["alerts"])
NOT_FOUND = {404: {"description": "告警通道不存在"}}


@router.get("", response_model=AlertList, summary="最近的告警 / recent alerts")
def list_alerts(user: SupervisorUser, db: SessionDep,
                kind: AlertKind | None = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100,
                before_id: Annotated[int | None, Query(ge=1, le=2_147_483_647,
                                                       description="翻页：早于此 id")] = None,
                ) -> AlertList:
    data = svc.list_alerts(db, user, kind=kind, limit=limit, before_id=before_id)
    m = Masking.for_user(db, user, "api")
    return AlertList(**{**data, "items": [m.alert(a) for a in data["items"]]})


@router.get("/unseen", response_model=AlertUnseen, summary="未读告警数 / the badge count")
def unseen(user: SupervisorUser, db: SessionDep) -> AlertUnseen:
    return AlertUnseen(unseen=svc.unseen_count(db, user))


@router.post("/seen", response_model=AlertUnseen,
             summary="标记告警已读 / mark alerts seen (up to an id, default all)")
def mark_seen(body: AlertSeenUpdate, user: SupervisorUser, db: SessionDep) -> AlertUnseen:
    svc.mark_seen(db, user, body.last_event_id)
    db.commit()
    return AlertUnseen(unseen=svc.unseen_count(db, user))


@router.get("/channels", response_model=list[AlertChannelPublic],
            summary="告警通道 / alert channels (secrets masked)")
def list_channels(user: AdminUser, db: SessionDep,
                  settings: SettingsDep) -> list[AlertChannelPublic]:
    return [AlertChannelPublic(**c) for c in svc.list_channels(db, settings)]


@router.post("/channels", response_model=AlertChannelPublic, status_code=201,
             responses={409: {"description": "同名告警通道已存在"}},
             summary="新建告警通道 / create an alert channel")
def create_channel(body: AlertChannelCreate, user: AdminUser, db: SessionDep,
                   settings: SettingsDep, request: Request) -> AlertChannelPublic:
    ch = svc.create_channel(db, user, settings, body.model_dump(), client_ip(request))
    db.commit()
    return AlertChannelPublic(**svc.public_channel(db, ch, settings))


@router.get("/channels/{channel_id}", response_model=AlertChannelPublic, responses=NOT_FOUND,
            summary="一个告警通道 / one alert channel")
def get_channel(channel_id: IntId, user: AdminUser, db: SessionDep,
                settings: SettingsDep) -> AlertChannelPublic:
    return AlertChannelPublic(**svc.public_channel(db, svc.get_channel(db, channel_id),
                                                   settings))


@router.patch("/channels/{channel_id}", response_model=AlertChannelPublic,
              responses={**NOT_FOUND, 409: {"description": "同名告警通道已存在"}},
              summary="修改或停用告警通道 / edit or deactivate an alert channel")
def update_channel(channel_id: IntId, body: AlertChannelUpdate, user: AdminUser,
                   db: SessionDep, settings: SettingsDep,
                   request: Request) -> AlertChannelPublic:
    ch = svc.update_channel(db, user, settings, channel_id, body.model_dump(exclude_unset=True),
                            client_ip(request))
    db.commit()
    return AlertChannelPublic(**svc.public_channel(db, ch, settings))


@router.delete("/channels/{channel_id}", status_code=204, response_class=Response,
               responses=NOT_FOUND, summary="删除告警通道 / delete an alert channel")
def delete_channel(channel_id: IntId, user: AdminUser, db: SessionDep,
                   request: Request) -> Response:
    svc.delete_channel(db, user, channel_id, client_ip(request))
    db.commit()
    return Response(status_code=204)


@router.post("/channels/{channel_id}/test", response_model=AlertTestResult,
             responses=NOT_FOUND, summary="发送测试消息 / send a test message now")
def test_channel(channel_id: IntId, user: AdminUser, db: SessionDep, settings: SettingsDep,
                 request: Request) -> AlertTestResult:
    out = svc.test_channel(db, user, settings, channel_id, client_ip(request))
    db.commit()
    return AlertTestResult(**out)
