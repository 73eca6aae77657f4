"""Monitors (关注词): saved transcript searches counted per day/week, with a rising mark."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from api.deps import IntId, SessionDep, SettingsDep, SupervisorUser, client_ip
from api.schemas import MonitorCounts, MonitorCreate, MonitorPublic
from api.services import monitors as svc

router = APIRouter(prefix="/monitors", tags=["monitors"])
NOT_FOUND = {404: {"description": "关注词不存在"}}


@router.get("", response_model=list[MonitorPublic],
            summary="关注词及近 12 周趋势 / monitors with their weekly counts")
def list_monitors(user: SupervisorUser, db: SessionDep, settings: SettingsDep,
                  until: Annotated[date | None, Query(description="截至哪一天（默认今天）")] = None,
                  ) -> list[MonitorPublic]:
    return [MonitorPublic(**m) for m in svc.list_monitors(db, settings, last_day=until)]


@router.post("", response_model=MonitorPublic, status_code=201,
             responses={409: {"description": "同名关注词已存在"}},
             summary="保存搜索为关注词 / save a search as a monitor")
def create_monitor(body: MonitorCreate, user: SupervisorUser, db: SessionDep,
                   request: Request) -> MonitorPublic:
    row = svc.create(db, user, body.model_dump(), client_ip(request))
    db.commit()
    return MonitorPublic(**svc.public(row))


@router.get("/{monitor_id}/counts", response_model=MonitorCounts, responses=NOT_FOUND,
            summary="关注词按天/周的通话数 / a monitor's counts per day or week")
def monitor_counts(monitor_id: IntId, user: SupervisorUser, db: SessionDep,
                   settings: SettingsDep, date_from: date | None = None,
                   date_to: date | None = None, bucket: Literal["day", "week"] = "day",
                   by: Literal["estate", "scenario"] | None = None) -> MonitorCounts:
    return MonitorCounts(**svc.counts(db, settings, monitor_id, date_from=date_from,
                                      date_to=date_to, bucket=bucket, by=by))


@router.delete("/{monitor_id}", status_code=204, response_class=Response, responses=NOT_FOUND,
               summary="删除关注词 / delete a monitor")
def delete_monitor(monitor_id: IntId, user: SupervisorUser, db: SessionDep,
                   request: Request) -> Response:
    svc.delete(db, user, monitor_id, client_ip(request))
    db.commit()
    return Response(status_code=204)
