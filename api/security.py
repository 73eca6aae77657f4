"""Passwords, sessions, bearer tokens, CSRF and login throttling.

* Passwords: argon2id (``argon2-cffi``), rehashed on login when the parameters change.
* Sessions: a signed, timestamped, HttpOnly, SameSite=Lax cookie (``itsdangerous``) holding the
  user id, a password stamp (changing the password ends every session), a CSRF secret and the
  id of the session's row on the server (``models.AuthSession``): signing out deletes the row,
  so a replayed cookie no longer authenticates.
* Bearer tokens (API clients): the same signed payload with another salt, sent as
  ``Authorization: Bearer <token>``; not subject to CSRF (browsers never send them by
  themselves); held on the server like sessions, so they can be revoked (signing out with the
  token, ``logout?all=true``, disabling the user, a password change).
* CSRF: state-changing requests authenticated by the cookie must echo the session's CSRF token
  in the ``X-CSRF-Token`` header or a ``csrf_token`` form field.
* Throttling: a backoff, not a lock. Past ``login_max_failures`` failed logins (or wrong
  current passwords) for one username within ``login_window_s``, or past four times as many
  from one address, the next try waits ``login_backoff_s``, doubling with every further
  failure (at most the window). A username's failures from elsewhere do not count against an
  address the user signed in from in the last 30 days, so anonymous wrong logins cannot lock
  the real user out of their usual place. Unknown names cost an argon2 check like known ones.
* Password policy: at least ``MIN_PASSWORD_LENGTH`` characters of two kinds or more (lower
  case, upper case, digits, other), four different characters, not one of the commonest
  passwords, not containing the username.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa.settings import Settings

log = logging.getLogger("hotline_qa.api.security")

#: The roles that may see every call, review and manage (supervisors and admins).
SUPERVISOR_ROLES = ("supervisor", "admin")


def is_supervisor(user) -> bool:
    """Whether ``user`` is a supervisor or an admin (the one place that says so)."""
    return getattr(user, "role", None) in SUPERVISOR_ROLES

SESSION_COOKIE = "hqa_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
#: Secrets that must never sign anything (copied from examples, docs, templates).
MIN_PASSWORD_LENGTH = 8
#: Refused whatever their kinds of characters (compared case-insensitively).
COMMON_PASSWORDS = frozenset({
    "password1", "passw0rd", "p@ssw0rd", "p@ssword", "password123", "abc12345", "abcd1234",
    "a1234567", "aa123456", "qwer1234", "qwe12345", "1qaz2wsx", "1q2w3e4r", "admin123",
    "admin@123", "woaini1314", "iloveyou1", "12345678a", "a12345678", "zxcvbnm1"})

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (the rest of the policy applies where a password is
    chosen: :func:`check_password_strength`).

    Raises:
        ValueError: the password is shorter than ``MIN_PASSWORD_LENGTH`` characters.
    """
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValueError(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符")
    return _hasher.hash(password)


def _char_kind(c: str) -> str:
    return "lower" if c.islower() else "upper" if c.isupper() else \
        "digit" if c.isdigit() else "other"


def check_password_strength(password: str, username: str | None = None) -> None:
    """Raises ``ValueError`` (Chinese message) for a password that is too short, uses one kind
    of character only (lower case, upper case, digits, other), has fewer than four different
    characters, is one of the commonest passwords, or contains ``username``."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符")
    if len({_char_kind(c) for c in password}) < 2:
        raise ValueError("密码太简单：请混用至少两类字符（小写字母、大写字母、数字、符号） / "
                         "password too simple: mix at least two of lower case, upper case, "
                         "digits and symbols")
    if len(set(password)) < 4:
        raise ValueError("密码太简单：至少要有 4 个不同的字符 / password too simple: use at "
                         "least 4 different characters")
    if password.casefold() in COMMON_PASSWORDS:
        raise ValueError("密码太常见，请换一个 / this password is too common, choose another")
    name = login_key(username or "")
    if len(name) >= 3 and name in login_key(password):
        raise ValueError("密码不能包含用户名 / the password must not contain the username")


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (never raises on a bad hash)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_dummy_hash: str | None = None


def verify_no_user(password: str) -> bool:
    """The argon2 work of :func:`verify_password` for a name with no usable account (unknown
    or disabled), against a hash of a random password made once with the current parameters:
    the answer's timing does not tell which usernames exist. Always ``False``."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
    verify_password(_dummy_hash, password)
    return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def generate_password(length: int = 16) -> str:
    """A random one-time password (letters and digits, no look-alikes) that meets the
    policy (:func:`check_password_strength`)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        try:
            check_password_strength(password)
        except ValueError:  # one kind of character only: about 1 in 300,000
            continue
        return password


def password_stamp(password_hash: str) -> str:
    """A short fingerprint of the hash: sessions and tokens carry it, so a password change
    invalidates them."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:12]


@dataclass
class SessionData:
    user_id: int
    stamp: str
    csrf: str
    #: the random id of the server-side row (:func:`open_session`); empty in old cookies
    sid: str = ""


class Signer:
    """Signs and verifies session cookies and bearer tokens with one secret key."""

    def __init__(self, secret_key: str, max_age_s: int) -> None:
        self.max_age_s = max_age_s
        self._session = URLSafeTimedSerializer(secret_key, salt="hotline-qa.session")
        self._token = URLSafeTimedSerializer(secret_key, salt="hotline-qa.api-token")

    def make_session(self, user_id: int, stamp: str, sid: str) -> tuple[str, str]:
        """Return ``(cookie value, csrf token)`` for the new session ``sid``
        (:func:`open_session`)."""
        csrf = secrets.token_urlsafe(24)
        return self._session.dumps({"u": user_id, "s": stamp, "c": csrf, "i": sid}), csrf

    def read_session(self, value: str) -> SessionData | None:
        """The session in a cookie, or ``None`` when forged, malformed or expired."""
        return self._read(self._session, value, self.max_age_s)

    def make_token(self, user_id: int, stamp: str, sid: str) -> str:
        """A bearer token for the server-side token ``sid`` (:func:`open_session`)."""
        return self._token.dumps({"u": user_id, "s": stamp, "c": "", "i": sid})

    def read_token(self, value: str, max_age_s: int) -> SessionData | None:
        return self._read(self._token, value, max_age_s)

    @staticmethod
    def _read(ser: URLSafeTimedSerializer, value: str, max_age: int) -> SessionData | None:
        try:
            data: Any = ser.loads(value, max_age=max_age)
        except SignatureExpired:
            return None
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("u"), int):
            return None
        return SessionData(int(data["u"]), str(data.get("s", "")), str(data.get("c", "")),
                           str(data.get("i", "")))


# --- server-side sessions and tokens ----------------------------------------------------------

def _session_key(sid: str) -> str:
    """The row id of a session: the SHA-256 of the random id in the cookie/token (the table
    alone gives nobody a usable id)."""
    return hashlib.sha256(sid.encode()).hexdigest()


def open_session(db: Session, user: Any, kind: str, max_age_s: int, ip: str | None) -> str:
    """Record a new browser session (``kind="session"``) or bearer token (``"token"``) of
    ``user``, valid for ``max_age_s``; returns the random id its cookie/token carries
    (:meth:`Signer.make_session`, :meth:`Signer.make_token`). Expired rows are removed on the
    way. The caller commits."""
    from models import AuthSession

    now = datetime.now(timezone.utc)
    db.query(AuthSession).filter(AuthSession.expires_at < now).delete(
        synchronize_session=False)
    sid = secrets.token_urlsafe(32)
    db.add(AuthSession(id=_session_key(sid), user_id=user.id, kind=kind, created_at=now,
                       expires_at=now + timedelta(seconds=max_age_s), ip=ip))
    return sid


def session_user(db: Session, data: SessionData | None, kind: str) -> Any:
    """The user a verified cookie/token payload stands for, or ``None``: the session or token
    was ended (signed out, revoked, expired), the user is gone or disabled, or the password
    changed since."""
    from models import AuthSession, User

    if data is None or not data.sid:
        return None
    row = db.get(AuthSession, _session_key(data.sid))
    if row is None or row.user_id != data.user_id or row.kind != kind \
            or row.expires_at <= datetime.now(timezone.utc):
        return None
    user = db.get(User, data.user_id)
    if user is None or not user.active or password_stamp(user.password_hash) != data.stamp:
        return None
    return user


def end_session(db: Session, sid: str | None) -> None:
    """End one session or token (signing out): its cookie/token no longer authenticates."""
    from models import AuthSession

    if sid:
        db.query(AuthSession).filter(AuthSession.id == _session_key(sid)).delete(
            synchronize_session=False)


def end_user_sessions(db: Session, user_id: int) -> int:
    """End every session and token of a user (disabled, password changed, "sign out
    everywhere"); returns how many there were."""
    from models import AuthSession

    return db.query(AuthSession).filter(AuthSession.user_id == user_id).delete(
        synchronize_session=False)


# --- response headers ---------------------------------------------------------------------------

#: Pages and their scripts come from this origin only; no inline or foreign scripts, no
#: framing. Inline *styles* stay allowed: the call page's timeline and the assessment table
#: place their bars with ``style`` attributes (no script can be injected through them).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; media-src 'self'; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
#: The interactive API documentation (FastAPI's Swagger UI page): its inline start-up script
#: and its files from the CDN, nothing more.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin"}


class SecurityHeadersMiddleware:
    """ASGI middleware: every HTTP response gets ``SECURITY_HEADERS`` and a
    Content-Security-Policy (``docs_path`` gets :data:`DOCS_CONTENT_SECURITY_POLICY`); a
    header the route set itself is kept."""

    def __init__(self, app: Any, docs_path: str | None = None) -> None:
        self.app, self.docs_path = app, docs_path

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.datastructures import MutableHeaders
        csp = DOCS_CONTENT_SECURITY_POLICY if scope.get("path") == self.docs_path \
            else CONTENT_SECURITY_POLICY

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in (*SECURITY_HEADERS.items(),
                                    ("Content-Security-Policy", csp)):
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(expected, given)


# --- throttling -------------------------------------------------------------------------------

def login_key(username: str) -> str:
    """The name failures are counted under: ``Sup``, ``SUP`` and `` sup`` are one account to
    the login (its lookup ignores case) and so one to the throttle."""
    return unicodedata.normalize("NFKC", username or "").strip().casefold()[:150]


#: A username's failures from elsewhere never count against an address the user signed in
#: from within this many days.
KNOWN_ADDRESS_DAYS = 30


def login_wait_s(db: Session, settings: Settings, username: str, ip: str | None) -> int:
    """Seconds before a new try for this username (:func:`login_key`) from this address is
    allowed; 0: now.

    Failures within ``login_window_s`` count: past ``login_max_failures`` for the username, or
    past four times as many for the address (a shared office tries several names), the wait
    after the latest of them is ``login_backoff_s`` doubled for every further failure, at most
    the window. From an address the user signed in from within ``KNOWN_ADDRESS_DAYS`` only the
    username's failures from that address count: wrong logins elsewhere slow the guesser down
    but never lock the real user out.
    """
    from models import LoginAttempt

    username = login_key(username)
    now = datetime.now(timezone.utc)
    fails = select(func.count(), func.max(LoginAttempt.at)).where(
        LoginAttempt.success.is_(False),
        LoginAttempt.at >= now - timedelta(seconds=settings.login_window_s))
    by_user = fails.where(LoginAttempt.username == username)
    checks = [(by_user, settings.login_max_failures)]
    if ip:
        known = db.scalar(select(LoginAttempt.id).where(
            LoginAttempt.username == username, LoginAttempt.ip == ip,
            LoginAttempt.success.is_(True),
            LoginAttempt.at >= now - timedelta(days=KNOWN_ADDRESS_DAYS)).limit(1))
        if known is not None:
            checks = [(by_user.where(LoginAttempt.ip == ip), settings.login_max_failures)]
        checks.append((fails.where(LoginAttempt.ip == ip), 4 * settings.login_max_failures))
    wait = 0.0
    for query, allowed in checks:
        count, last = db.execute(query).one()
        if count >= allowed and last is not None:
            delay = min(settings.login_window_s,
                        settings.login_backoff_s * 2 ** min(count - allowed, 30))
            wait = max(wait, delay - (now - last).total_seconds())
    return math.ceil(wait) if wait > 0 else 0


def wait_message(seconds: int) -> str:
    """The Chinese/English answer to a try that must wait ``seconds``."""
    if seconds >= 60:
        zh_wait, en_wait = f"{math.ceil(seconds / 60)} 分钟", f"{math.ceil(seconds / 60)} min"
    else:
        zh_wait, en_wait = f"{seconds} 秒", f"{seconds} s"
    return f"密码错误次数过多，请 {zh_wait}后再试 / too many wrong passwords, try again in {en_wait}"


def record_login(db: Session, username: str, ip: str | None, success: bool) -> None:
    """Record a login try (a wrong current password counts as a failed one)."""
    from models import LoginAttempt

    username = login_key(username)
    db.add(LoginAttempt(username=username, ip=ip, success=success))
    if success:  # a good login forgives the user's earlier failures from this address only
        db.query(LoginAttempt).filter(LoginAttempt.username == username,
                                      LoginAttempt.ip == ip,
                                      LoginAttempt.success.is_(False)).delete()
