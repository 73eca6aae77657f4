"""Typed dependencies of the routes: database session, settings, the current user by role.

``SessionDep`` — a SQLAlchemy session for the request (rolled back on error; handlers commit).
``CurrentUser`` — any signed-in, active user (session cookie or bearer token whose session is
still open on the server, see :func:`api.security.session_user`); a write request
authenticated by the cookie must carry the CSRF token. ``SupervisorUser`` — supervisor or admin.
``AdminUser`` — admin only.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request, Security, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.security import (CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, csrf_matches, is_supervisor,
                          session_user)
from models import User
from qa.settings import Settings

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
#: What a user holding a one-time password may still do (the API paths, prefix included).
ONE_TIME_ALLOWED = {"/api/v1/auth/password", "/api/v1/auth/logout", "/api/v1/auth/me"}
MUST_CHANGE_PASSWORD = ("请先修改一次性密码（POST /api/v1/auth/password 或网页“修改密码”）/ "
                        "change your one-time password first")
TOKEN_MAX_AGE_S = 30 * 24 * 3600


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    session = request.app.state.sessions()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]

UNAUTHENTICATED = "未登录或登录已过期，请重新登录 / not signed in or session expired"
# The two ways to sign in, declared so that the OpenAPI document names them (its security
# schemes); they never refuse anything themselves: get_current_user reads and checks both.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="POST /api/v1/auth/token 的 access_token / the token from "
                                "POST /api/v1/auth/token")
COOKIE = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, scheme_name="session",
                      description="POST /api/v1/auth/login 设置；写操作须带 X-CSRF-Token / set by "
                                  "POST /api/v1/auth/login; writes need the X-CSRF-Token header")


def signed_in(request: Request, db: Session, *, bearer: bool) -> tuple[User | None, Any, bool]:
    """Who sends ``request`` — the one authentication of the API and the pages: the session
    cookie (or, where ``bearer``, an ``Authorization: Bearer`` token) whose signature is good
    *and* whose session is still open on the server (:func:`api.security.session_user`).
    Returns ``(user or None, the signed data, whether it came by cookie)``; on success the
    request's state holds the user, its CSRF token and session id."""
    signer = request.app.state.signer
    auth = request.headers.get("authorization", "")
    if bearer and auth.lower().startswith("bearer "):
        data = signer.read_token(auth[7:].strip(), TOKEN_MAX_AGE_S)
        via_cookie = False
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        data = signer.read_session(cookie) if cookie else None
        via_cookie = True
    user = session_user(db, data, "session" if via_cookie else "token")
    if user is not None:
        request.state.user = user
        request.state.csrf_token = data.csrf or None
        request.state.session_id = data.sid
    return user, data, via_cookie


async def get_current_user(request: Request, db: SessionDep,
                           _bearer: Annotated[HTTPAuthorizationCredentials | None,
                                              Security(BEARER)],
                           _cookie: Annotated[str | None, Security(COOKIE)]) -> User:
    user, data, via_cookie = signed_in(request, db, bearer=True)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, UNAUTHENTICATED,
                            headers={"WWW-Authenticate": "Bearer"})
    if user.password_one_time and request.url.path not in ONE_TIME_ALLOWED:
        raise HTTPException(status.HTTP_403_FORBIDDEN, MUST_CHANGE_PASSWORD)
    if via_cookie and request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER)
        if not given and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
        if not csrf_matches(data.csrf, given):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                "请求缺少有效的 CSRF 令牌，请刷新页面后重试 / CSRF token missing "
                                "or invalid")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_supervisor(user: CurrentUser) -> User:
    if not is_supervisor(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "需要质检主管权限 / supervisors only")
    return user


def require_admin(user: CurrentUser) -> User:
    if user.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "需要管理员权限 / admins only")
    return user


SupervisorUser = Annotated[User, Depends(require_supervisor)]
AdminUser = Annotated[User, Depends(require_admin)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


#: A database id in a path (positive, fits every database's INTEGER).
IntId = Annotated[int, Path(ge=1, le=2_147_483_647)]
#: A month ``YYYY-MM`` / ISO week ``YYYY-Www`` (years 1900-2999) in a query or path.
MONTH_PATTERN = r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$"
WEEK_PATTERN = r"^(19|2\d)\d{2}-W(0[1-9]|[1-4]\d|5[0-3])$"
