"""The audit log (read-only): who changed what, when."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from api.deps import SessionDep, SupervisorUser
from api.schemas import AuditPublic
from models import AuditLog

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=list[AuditPublic], summary="审计日志 / audit log")
def list_audit(user: SupervisorUser, db: SessionDep,
               object_type: Annotated[str | None, Query(max_length=50)] = None,
               object_id: Annotated[str | None, Query(max_length=100)] = None,
               action: Annotated[str | None, Query(max_length=100)] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[AuditPublic]:
    q = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if object_type:
        q = q.where(AuditLog.object_type == object_type)
    if object_id:
        q = q.where(AuditLog.object_id == object_id)
    if action:
        q = q.where(AuditLog.action == action)
    return [AuditPublic.model_validate(r) for r in db.scalars(q)]
