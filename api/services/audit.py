"""The audit log: every change made by a person, with who and when."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from models import AuditLog, User


def audit(db: Session, user: User | None, action: str, object_type: str | None = None,
          object_id: Any = None, details: dict[str, Any] | None = None,
          ip: str | None = None) -> AuditLog:
    """Add an audit entry (flushed with the caller's transaction)."""
    entry = AuditLog(user_id=user.id if user else None,
                     actor=user.username if user else "system", action=action,
                     object_type=object_type,
                     object_id=None if object_id is None else str(object_id),
                     details=details or {}, ip=ip)
    db.add(entry)
    return entry
