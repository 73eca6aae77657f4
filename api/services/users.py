"""Accounts: create users, change passwords and roles, authenticate, the first admin."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.security import (check_password_strength, end_user_sessions, generate_password,
                          hash_password, login_wait_s, needs_rehash, record_login,
                          verify_no_user, verify_password, wait_message)
from api.services.audit import audit
from api.services.errors import Conflict, Invalid, NotFound, ServiceError, Throttled
from models import Agent, User
from qa.settings import Settings

ROLES = ("admin", "supervisor", "agent")
BAD_LOGIN = "用户名或密码错误 / wrong username or password"
WRONG_CURRENT = "原密码不正确 / wrong current password"


def _check_role(db: Session, role: str, agent_id: str | None, *, create_agent: bool) -> None:
    if role not in ROLES:
        raise Invalid(f"角色只能是 {'/'.join(ROLES)} / role must be one of {ROLES}")
    if role == "agent":
        if not agent_id:
            raise Invalid("客服人员账号必须关联工号（agent_id）/ agent users need an agent_id")
        if db.get(Agent, agent_id) is None:
            if not create_agent:
                raise Invalid(f"工号 {agent_id} 不存在 / unknown agent id {agent_id}")
            db.add(Agent(id=agent_id, name=agent_id))
            db.flush()


def create_user(db: Session, actor: User | None, username: str, password: str, role: str,
                agent_id: str | None = None, display_name: str | None = None, *,
                create_agent: bool = False, ip: str | None = None,
                one_time: bool = False) -> User:
    """Create a user. Raises :class:`Invalid` (bad role/agent/password) or :class:`Conflict`
    (username taken). ``one_time``: the user must change the password at the first sign-in."""
    username = username.strip()
    if not username:
        raise Invalid("用户名不能为空 / username is empty")
    if db.scalar(select(User).where(func.lower(User.username) == username.lower())):
        raise Conflict(f"用户名 {username} 已存在 / username taken")
    _check_role(db, role, agent_id, create_agent=create_agent)
    try:
        check_password_strength(password, username)
        pw = hash_password(password)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    user = User(username=username, password_hash=pw, role=role,
                agent_id=agent_id if role == "agent" else None, display_name=display_name,
                active=True, password_changed_at=datetime.now(timezone.utc),
                password_one_time=one_time)
    db.add(user)
    db.flush()
    audit(db, actor, "user.create", "user", user.id,
          {"username": username, "role": role, "agent_id": user.agent_id}, ip)
    return user


def set_password(db: Session, actor: User | None, user: User, password: str,
                 ip: str | None = None, *, one_time: bool = False) -> None:
    """Set a new password (ends the user's sessions and tokens).

    ``one_time``: the password was made or chosen by someone else (the first admin's printed
    password, an admin's reset): the user must change it before doing anything else (the API
    and the pages refuse everything but changing it, see ``api.deps`` and ``api.routes.pages``).
    """
    try:
        check_password_strength(password, user.username)
        user.password_hash = hash_password(password)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    user.password_changed_at = datetime.now(timezone.utc)
    user.password_one_time = one_time
    if user.id is not None:
        end_user_sessions(db, user.id)
    audit(db, actor, "user.password", "user", user.id,
          {"username": user.username, "one_time": one_time}, ip)
    db.flush()


def update_user(db: Session, actor: User, user_id: int, changes: dict, ip: str | None = None
                ) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在 / user not found")
    role = changes.get("role") or user.role
    agent_id = changes["agent_id"] if changes.get("agent_id") is not None else user.agent_id
    _check_role(db, role, agent_id, create_agent=False)
    if user.id == actor.id and (role != "admin" or changes.get("active") is False):
        raise Conflict("不能取消自己的管理员权限或停用自己 / cannot demote or disable yourself")
    before = {"role": user.role, "agent_id": user.agent_id, "active": user.active,
              "display_name": user.display_name}
    user.role, user.agent_id = role, agent_id if role == "agent" else None
    if changes.get("display_name") is not None:
        user.display_name = changes["display_name"]
    if changes.get("active") is not None:
        user.active = bool(changes["active"])
        if not user.active:  # a disabled user's sessions and tokens end for good
            end_user_sessions(db, user.id)
    after = {"role": user.role, "agent_id": user.agent_id, "active": user.active,
             "display_name": user.display_name}
    audit(db, actor, "user.update", "user", user.id, {"before": before, "after": after}, ip)
    if changes.get("password"):  # an admin resetting someone else's password: one-time
        set_password(db, actor, user, changes["password"], ip, one_time=actor.id != user.id)
    db.flush()
    return user


def authenticate(db: Session, settings: Settings, username: str, password: str,
                 ip: str | None) -> User:
    """Check a login. Raises :class:`Throttled` while failures make this name or address
    wait (:func:`api.security.login_wait_s`), :class:`Invalid` (401 by the routes) on a wrong
    username or password. Commits the attempt record. An unknown or disabled name costs the
    same argon2 check as a known one."""
    username = (username or "").strip()
    check_login_wait(db, settings, username, ip)
    user = db.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is not None and user.active:
        ok = verify_password(user.password_hash, password)
    else:
        ok = verify_no_user(password)
    record_login(db, username, ip, ok)
    if not ok:
        db.commit()
        raise Invalid(BAD_LOGIN)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = datetime.now(timezone.utc)
    db.commit()
    return user


def check_login_wait(db: Session, settings: Settings, username: str, ip: str | None) -> None:
    """Raises :class:`Throttled` while recent failures make this name or address wait."""
    wait = login_wait_s(db, settings, username, ip)
    if wait:
        raise Throttled(wait_message(wait))


def change_own_password(db: Session, settings: Settings, user: User, old_password: str,
                        new_password: str, ip: str | None = None) -> None:
    """A user choosing a new password. A wrong current password counts as a failed login
    (throttled like one: a stolen session cannot guess it); the new one must differ from the
    current one (a one-time password is not "changed" to itself). Raises :class:`Throttled`,
    :class:`ServiceError` (400: a wrong current password, recorded and committed) or
    :class:`Invalid` (the same password again, the policy)."""
    check_login_wait(db, settings, user.username, ip)
    if not verify_password(user.password_hash, old_password):
        record_login(db, user.username, ip, False)
        db.commit()
        raise ServiceError(WRONG_CURRENT)  # 400
    if new_password == old_password:
        raise Invalid("新密码不能与当前密码相同 / the new password must differ from the "
                      "current one")
    set_password(db, user, user, new_password, ip)


def ensure_first_admin(db: Session, username: str = "admin") -> tuple[User, str] | None:
    """Create the first admin with a random one-time password when no admin exists.

    Returns ``(user, password)`` when one was created (print the password once), else None.
    The password is one-time: the admin must change it at the first sign-in.
    """
    if db.scalar(select(User).where(User.role == "admin", User.active.is_(True)).limit(1)):
        return None
    password = generate_password()
    existing = db.scalar(select(User).where(User.username == username))
    if existing is not None:
        existing.role, existing.active = "admin", True
        set_password(db, None, existing, password, one_time=True)
        return existing, password
    return create_user(db, None, username, password, "admin", one_time=True), password
