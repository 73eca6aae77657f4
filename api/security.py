"""Passwords, sessions, bearer tokens, CSRF and login throttling.

* Passwords: argon2id (``argon2-cffi``), rehashed on login when the parameters change.
* Sessions: a signed, timestamped, HttpOnly, SameSite=Lax cookie (``itsdangerous``) holding the
  user id, a password stamp (changing the password ends every session) and a CSRF secret.
* Bearer tokens (API clients): the same signed payload with another salt, sent as
  ``Authorization: Bearer <token>``; not subject to CSRF (browsers never send them by
  themselves).
* CSRF: state-changing requests authenticated by the cookie must echo the session's CSRF token
  in the ``X-CSRF-Token`` header or a ``csrf_token`` form field.
* Throttling: more than ``login_max_failures`` failed logins for one username or one address
  within ``login_window_s`` blocks further tries until the window passes.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa.settings import Settings

log = logging.getLogger("api.security")

SESSION_COOKIE = "hqa_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
#: Secrets that must never sign anything (copied from examples, docs, templates).
UNSAFE_SECRETS = {"changeme", "change-me", "secret", "dev", "development", "please-change-me"}
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``.

    Raises:
        ValueError: the password is shorter than ``MIN_PASSWORD_LENGTH`` characters.
    """
    check_password_strength(password)
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    """Raises ``ValueError`` (Chinese message) for a password that is too short."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValueError(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符")


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (never raises on a bad hash)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def generate_password(length: int = 16) -> str:
    """A random one-time password (letters and digits, no look-alikes)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def password_stamp(password_hash: str) -> str:
    """A short fingerprint of the hash: sessions and tokens carry it, so a password change
    invalidates them."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:12]


def resolve_secret_key(settings: Settings) -> str:
    """The key that signs sessions: ``settings.secret_key``, else one generated once and kept
    in ``home/secret_key`` (mode 600).

    Raises:
        ValueError: the configured key is a known placeholder or shorter than 16 characters.
    """
    key = settings.secret_key
    if key:
        if key.lower() in UNSAFE_SECRETS or len(key) < 16:
            raise ValueError("HOTLINE_QA_SECRET_KEY 不安全（占位符或少于 16 个字符）/ "
                             "unsafe secret key: use a random string of 16+ characters")
        return key
    path = Path(settings.home) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    log.info("generated a new secret key in %s", path)
    return key


@dataclass
class SessionData:
    user_id: int
    stamp: str
    csrf: str


class Signer:
    """Signs and verifies session cookies and bearer tokens with one secret key."""

    def __init__(self, secret_key: str, max_age_s: int) -> None:
        self.max_age_s = max_age_s
        self._session = URLSafeTimedSerializer(secret_key, salt="hotline-qa.session")
        self._token = URLSafeTimedSerializer(secret_key, salt="hotline-qa.api-token")

    def make_session(self, user_id: int, stamp: str) -> tuple[str, str]:
        """Return ``(cookie value, csrf token)`` for a new session."""
        csrf = secrets.token_urlsafe(24)
        return self._session.dumps({"u": user_id, "s": stamp, "c": csrf}), csrf

    def read_session(self, value: str) -> SessionData | None:
        """The session in a cookie, or ``None`` when forged, malformed or expired."""
        return self._read(self._session, value, self.max_age_s)

    def make_token(self, user_id: int, stamp: str) -> str:
        return self._token.dumps({"u": user_id, "s": stamp, "c": ""})

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
        return SessionData(int(data["u"]), str(data.get("s", "")), str(data.get("c", "")))


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(expected, given)


# --- throttling -------------------------------------------------------------------------------

def login_key(username: str) -> str:
    """The name failures are counted under: ``Sup``, ``SUP`` and `` sup`` are one account to
    the login (its lookup ignores case) and so one to the throttle."""
    return unicodedata.normalize("NFKC", username or "").strip().casefold()[:150]


def login_blocked(db: Session, settings: Settings, username: str, ip: str | None) -> bool:
    """Whether too many recent failures for this username (:func:`login_key`) or address block
    a new try."""
    from models import LoginAttempt

    username = login_key(username)
    since = datetime.now(timezone.utc) - timedelta(seconds=settings.login_window_s)
    q = select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.success.is_(False), LoginAttempt.at >= since)
    by_user = db.scalar(q.where(LoginAttempt.username == username)) or 0
    by_ip = db.scalar(q.where(LoginAttempt.ip == ip)) if ip else 0
    # an address may try a few usernames (a shared office), but not unboundedly
    return by_user >= settings.login_max_failures or (by_ip or 0) >= 4 * settings.login_max_failures


def record_login(db: Session, username: str, ip: str | None, success: bool) -> None:
    from models import LoginAttempt

    username = login_key(username)
    db.add(LoginAttempt(username=username, ip=ip, success=success))
    if success:  # a good login forgives the user's earlier failures
        db.query(LoginAttempt).filter(LoginAttempt.username == username,
                                      LoginAttempt.success.is_(False)).delete()
