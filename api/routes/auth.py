"""Sign in and out: session cookie (browsers) or bearer token (API clients)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from api.deps import TOKEN_MAX_AGE_S, CurrentUser, SessionDep, SettingsDep, client_ip
from api.schemas import LoginRequest, PasswordChange, SessionPublic, TokenPublic, UserPublic
from api.security import (SESSION_COOKIE, end_session, end_user_sessions, open_session,
                          password_stamp)
from api.services import users as svc
from api.services.audit import audit
from api.services.errors import Invalid

router = APIRouter(prefix="/auth", tags=["auth"])
ERR = {401: {"description": "用户名或密码错误"}, 429: {"description": "登录失败次数过多"}}


def _login(db, settings, body: LoginRequest, request: Request):
    try:
        return svc.authenticate(db, settings, body.username, body.password, client_ip(request))
    except Invalid as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, exc.message) from None


def set_session_cookie(db, response: Response, request: Request, user, settings) -> str:
    """Open a server-side session for ``user`` and set its cookie; returns the CSRF token.
    The caller commits."""
    sid = open_session(db, user, "session", settings.session_max_age_s, client_ip(request))
    value, csrf = request.app.state.signer.make_session(user.id,
                                                        password_stamp(user.password_hash), sid)
    response.set_cookie(SESSION_COOKIE, value, max_age=settings.session_max_age_s, httponly=True,
                        samesite="lax", secure=settings.secure_cookies, path="/")
    return csrf


@router.post("/login", response_model=SessionPublic, responses=ERR,
             summary="登录（会话 Cookie）/ sign in with a session cookie")
def login(body: LoginRequest, request: Request, response: Response, db: SessionDep,
          settings: SettingsDep) -> SessionPublic:
    user = _login(db, settings, body, request)
    csrf = set_session_cookie(db, response, request, user, settings)
    audit(db, user, "auth.login", "user", user.id, ip=client_ip(request))
    db.commit()
    return SessionPublic(user=UserPublic.model_validate(user), csrf_token=csrf)


@router.post("/token", response_model=TokenPublic, responses=ERR,
             summary="获取 API 令牌 / bearer token for API clients")
def token(body: LoginRequest, request: Request, db: SessionDep,
          settings: SettingsDep) -> TokenPublic:
    user = _login(db, settings, body, request)
    sid = open_session(db, user, "token", TOKEN_MAX_AGE_S, client_ip(request))
    tok = request.app.state.signer.make_token(user.id, password_stamp(user.password_hash), sid)
    audit(db, user, "auth.token", "user", user.id, ip=client_ip(request))
    db.commit()
    return TokenPublic(access_token=tok, expires_in=TOKEN_MAX_AGE_S)


@router.post("/logout", status_code=204,
             summary="退出登录：结束本会话或吊销本令牌 / sign out (ends this session or token)")
def logout(user: CurrentUser, request: Request, response: Response, db: SessionDep,
           everywhere: Annotated[bool, Query(
               alias="all", description="同时结束该用户的所有会话和 API 令牌 / end every "
                                        "session and token of the user")] = False
           ) -> Response:
    if everywhere:
        end_user_sessions(db, user.id)
    else:
        end_session(db, request.state.session_id)
    audit(db, user, "auth.logout", "user", user.id, {"all": True} if everywhere else None,
          ip=client_ip(request))
    db.commit()
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.status_code = 204
    return response


@router.get("/me", response_model=SessionPublic, summary="当前用户 / who am I")
def me(user: CurrentUser, request: Request) -> SessionPublic:
    return SessionPublic(user=UserPublic.model_validate(user),
                         csrf_token=getattr(request.state, "csrf_token", None))


@router.post("/password", status_code=204,
             responses={400: {"description": "原密码不正确"},
                        422: {"description": "新密码不符合要求或与原密码相同"},
                        429: {"description": "原密码错误次数过多"}},
             summary="修改自己的密码 / change own password")
def change_password(body: PasswordChange, user: CurrentUser, request: Request,
                    db: SessionDep, settings: SettingsDep) -> Response:
    svc.change_own_password(db, settings, user, body.old_password, body.new_password,
                            client_ip(request))
    db.commit()
    return Response(status_code=204)
