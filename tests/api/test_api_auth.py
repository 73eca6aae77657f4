"""Accounts and sessions: login, tokens, forged/expired sessions, CSRF, throttling, passwords."""
from __future__ import annotations

from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer

from api.security import SESSION_COOKIE, hash_password, password_stamp, verify_password

PASSWORD = "correct-horse-1"


def test_password_hash_is_argon2_and_verifies():
    h = hash_password("s3cret-enough")
    assert h.startswith("$argon2id$") and verify_password(h, "s3cret-enough")
    assert not verify_password(h, "wrong") and not verify_password("garbage", "x")


def test_login_sets_httponly_cookie_and_me(anon):
    r = anon.post("/api/v1/auth/login", json={"username": "sup", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert r.json()["user"]["role"] == "supervisor" and r.json()["csrf_token"]
    me = anon.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["user"]["username"] == "sup"
    assert "password_hash" not in me.text


def test_wrong_password_and_unknown_user(anon):
    for user in ("sup", "nobody"):
        r = anon.post("/api/v1/auth/login", json={"username": user, "password": "nope-nope"})
        assert r.status_code == 401 and "用户名或密码错误" in r.json()["detail"]


def test_unauthenticated_is_401(anon):
    for path in ("/api/v1/calls", "/api/v1/auth/me", "/api/v1/assessments?month=2026-11",
                 "/api/v1/calls/pub-001/audio"):
        r = anon.get(path)
        assert r.status_code == 401, path
        assert "未登录" in r.json()["detail"]


def test_login_throttling(anon, app):
    for _ in range(app.state.settings.login_max_failures):
        assert anon.post("/api/v1/auth/login",
                         json={"username": "a1", "password": "bad-bad-bad"}).status_code == 401
    r = anon.post("/api/v1/auth/login", json={"username": "a1", "password": PASSWORD})
    assert r.status_code == 429 and "次数过多" in r.json()["detail"]
    # another user is not blocked
    assert anon.post("/api/v1/auth/login",
                     json={"username": "a2", "password": PASSWORD}).status_code == 200


def test_login_throttling_ignores_the_case_of_the_name(anon, app):
    names = ["A1", "a1", " A1", "ａ１", "A1 "]  # one account to the login, one to the throttle
    for i in range(app.state.settings.login_max_failures):
        assert anon.post("/api/v1/auth/login", json={"username": names[i % len(names)],
                                                     "password": "bad-bad-bad"}).status_code == 401
    for name in ("a1", "A1"):
        r = anon.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        assert r.status_code == 429 and "次数过多" in r.json()["detail"]
    assert anon.post("/api/v1/auth/login",
                     json={"username": "A2", "password": PASSWORD}).status_code == 200


def test_forged_session_rejected(app):
    forged = URLSafeTimedSerializer("not-the-key-" * 3, salt="hotline-qa.session").dumps(
        {"u": 1, "s": "x", "c": "y"})
    c = TestClient(app, cookies={SESSION_COOKIE: forged})
    assert c.get("/api/v1/auth/me").status_code == 401
    c = TestClient(app, cookies={SESSION_COOKIE: "garbage.value.here"})
    assert c.get("/api/v1/calls").status_code == 401


def test_expired_session_rejected(app, sup):
    cookie = sup.cookies.get(SESSION_COOKIE)
    app.state.signer.max_age_s = -1  # every session is now older than allowed
    c = TestClient(app, cookies={SESSION_COOKIE: cookie})
    assert c.get("/api/v1/auth/me").status_code == 401


def test_csrf_enforced_on_cookie_writes(app, sup, db):
    from models import Finding
    fid = db.query(Finding).filter_by(status="fail").first().id
    body = {"decision": "uphold", "comment": "ok"}
    no_csrf = TestClient(app, cookies={SESSION_COOKIE: sup.cookies.get(SESSION_COOKIE)})
    r = no_csrf.post(f"/api/v1/findings/{fid}/review", json=body)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = no_csrf.post(f"/api/v1/findings/{fid}/review", json=body,
                     headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    assert sup.post(f"/api/v1/findings/{fid}/review", json=body).status_code == 200
    # the form field works too (HTML form posts)
    r = no_csrf.post("/api/v1/auth/logout", data={"csrf_token": sup.headers["X-CSRF-Token"]})
    assert r.status_code == 204


def test_bearer_token_needs_no_csrf(anon, db):
    r = anon.post("/api/v1/auth/token", json={"username": "sup", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    tok = r.json()["access_token"]
    c = TestClient(anon.app, headers={"Authorization": f"Bearer {tok}"})
    assert c.get("/api/v1/auth/me").json()["user"]["username"] == "sup"
    from models import Finding
    fid = db.query(Finding).filter_by(status="fail").first().id
    assert c.post(f"/api/v1/findings/{fid}/review",
                  json={"decision": "uphold"}).status_code == 200
    bad = TestClient(anon.app, headers={"Authorization": "Bearer " + tok[:-3] + "abc"})
    assert bad.get("/api/v1/auth/me").status_code == 401


def test_password_change_ends_other_sessions(app, agent1):
    old = TestClient(app, cookies={SESSION_COOKIE: agent1.cookies.get(SESSION_COOKIE)})
    r = agent1.post("/api/v1/auth/password",
                    json={"old_password": "wrong-old-pw", "new_password": "another-pass-2"})
    assert r.status_code == 400
    r = agent1.post("/api/v1/auth/password",
                    json={"old_password": PASSWORD, "new_password": "another-pass-2"})
    assert r.status_code == 204
    assert old.get("/api/v1/auth/me").status_code == 401
    r = TestClient(app).post("/api/v1/auth/login",
                             json={"username": "a1", "password": "another-pass-2"})
    assert r.status_code == 200


def test_short_new_password_is_a_clear_422(agent1):
    r = agent1.post("/api/v1/auth/password",
                    json={"old_password": PASSWORD, "new_password": "short"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "new_password"
    assert "太短" in r.json()["detail"][0]["message"]


def test_one_time_password_must_be_changed_before_anything_else(app, anon, db):
    from api.services.users import ensure_first_admin
    from models import User
    for u in db.query(User).filter_by(role="admin"):
        u.active = False  # a fresh installation: no admin yet
    made = ensure_first_admin(db, "boss")
    db.commit()
    assert made is not None
    user, one_time = made
    assert user.password_one_time
    c = TestClient(app)
    r = c.post("/api/v1/auth/login", json={"username": "boss", "password": one_time})
    assert r.status_code == 200 and r.json()["user"]["password_one_time"] is True
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    blocked = c.get("/api/v1/calls")
    assert blocked.status_code == 403 and "一次性密码" in blocked.json()["detail"]
    assert c.get("/api/v1/users").status_code == 403
    assert c.get("/api/v1/auth/me").status_code == 200
    assert c.post("/api/v1/auth/password", json={"old_password": one_time,
                                                 "new_password": "my-own-pass-7"}
                  ).status_code == 204
    assert c.get("/api/v1/calls").status_code == 401  # the session ended with the change
    fresh = TestClient(app)
    r = fresh.post("/api/v1/auth/login", json={"username": "boss", "password": "my-own-pass-7"})
    assert r.status_code == 200 and r.json()["user"]["password_one_time"] is False
    assert fresh.get("/api/v1/calls").status_code == 200


def test_password_set_by_an_admin_is_one_time_for_the_user(admin, app):
    r = admin.post("/api/v1/users", json={"username": "zhou", "password": "given-by-admin-1",
                                          "role": "supervisor"})
    assert r.status_code == 201 and r.json()["password_one_time"] is True
    c = TestClient(app)
    assert c.post("/api/v1/auth/login", json={"username": "zhou",
                                              "password": "given-by-admin-1"}).status_code == 200
    assert c.get("/api/v1/calls").status_code == 403
    # the admin's own password change of someone else's account is one-time as well
    a1 = next(u for u in admin.get("/api/v1/users").json() if u["username"] == "a1")
    r = admin.patch(f"/api/v1/users/{a1['id']}", json={"password": "reset-by-admin-2"})
    assert r.status_code == 200 and r.json()["password_one_time"] is True


def login(app, username: str, password: str = PASSWORD) -> TestClient:
    c = TestClient(app)
    r = c.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


def _replay(app, client: TestClient) -> TestClient:
    """Another client presenting the same cookie and CSRF token (a stolen or kept cookie)."""
    return TestClient(app, cookies={SESSION_COOKIE: client.cookies.get(SESSION_COOKIE)},
                      headers={"X-CSRF-Token": client.headers["X-CSRF-Token"]})


def _failed_finding(db) -> int:
    from models import Finding
    return db.query(Finding).filter_by(status="fail").first().id


def test_logout_ends_the_server_side_session(app, sup, db):
    fid = _failed_finding(db)
    kept = _replay(app, sup)
    assert kept.get("/api/v1/auth/me").status_code == 200
    assert sup.post("/api/v1/auth/logout").status_code == 204
    # the replayed cookie neither reads nor writes any more
    assert kept.get("/api/v1/auth/me").status_code == 401
    r = kept.post(f"/api/v1/findings/{fid}/review", json={"decision": "uphold"})
    assert r.status_code == 401 and "未登录" in r.json()["detail"]
    from models import AuditLog
    assert db.query(AuditLog).filter_by(action="auth.logout", actor="sup").count() == 1


def _token(anon, username: str, password: str = PASSWORD) -> TestClient:
    r = anon.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return TestClient(anon.app, headers={"Authorization": f"Bearer {r.json()['access_token']}"})


def test_a_bearer_token_is_revoked_by_signing_out_with_it(anon, app):
    first, second = _token(anon, "sup"), _token(anon, "sup")
    assert first.post("/api/v1/auth/logout").status_code == 204
    assert first.get("/api/v1/auth/me").status_code == 401
    assert second.get("/api/v1/auth/me").status_code == 200  # only that token ended
    # "sign out everywhere" from a browser session ends every session and token of the user
    browser = login(app, "sup")
    assert browser.post("/api/v1/auth/logout", params={"all": "true"}).status_code == 204
    assert second.get("/api/v1/auth/me").status_code == 401
    assert browser.get("/api/v1/auth/me").status_code == 401


def test_disabling_a_user_revokes_sessions_and_tokens_and_reenabling_revives_none(
        anon, admin, app, agent1):
    token = _token(anon, "a1")
    kept = _replay(app, agent1)
    uid = agent1.get("/api/v1/auth/me").json()["user"]["id"]
    assert admin.patch(f"/api/v1/users/{uid}", json={"active": False}).status_code == 200
    assert token.get("/api/v1/auth/me").status_code == 401
    assert kept.get("/api/v1/auth/me").status_code == 401
    assert admin.patch(f"/api/v1/users/{uid}", json={"active": True}).status_code == 200
    for old in (token, kept, agent1):  # nothing issued before the disabling works again
        assert old.get("/api/v1/auth/me").status_code == 401
    assert login(app, "a1").get("/api/v1/auth/me").status_code == 200


def test_a_password_change_revokes_the_users_tokens(anon, agent1):
    token = _token(anon, "a1")
    assert agent1.post("/api/v1/auth/password", json={
        "old_password": PASSWORD, "new_password": "another-pass-2"}).status_code == 204
    assert token.get("/api/v1/auth/me").status_code == 401


def test_a_cookie_signed_without_a_server_session_is_refused(app, sup):
    """A validly signed cookie/token alone (e.g. issued before sessions were kept on the
    server, or made with the key) is not a session."""
    from models import User
    with app.state.sessions() as s:
        u = s.query(User).filter_by(username="sup").one()
        value, _ = app.state.signer.make_session(u.id, password_stamp(u.password_hash), "made-up")
        token = app.state.signer.make_token(u.id, password_stamp(u.password_hash), "")
    assert TestClient(app, cookies={SESSION_COOKIE: value}).get("/api/v1/auth/me"
                                                                ).status_code == 401
    assert TestClient(app, headers={"Authorization": f"Bearer {token}"}).get(
        "/api/v1/auth/me").status_code == 401


# --- issue 20 item 5: timing, one-time password, policy, current-password guesses, backoff ----

def test_unknown_and_disabled_names_cost_an_argon2_check_like_known_ones(anon, app, db,
                                                                         monkeypatch):
    import statistics
    import time

    import api.security as security
    from models import User
    db.query(User).filter_by(username="a4").one().active = False
    db.commit()
    calls = []
    real = security._hasher

    class Counting:  # the hasher, counting its checks
        def __getattr__(self, name):
            return getattr(real, name)

        def verify(self, h, p):
            calls.append(h)
            return real.verify(h, p)

    monkeypatch.setattr(security, "_hasher", Counting())

    def timed(name: str) -> float:
        t = time.perf_counter()
        r = anon.post("/api/v1/auth/login", json={"username": name, "password": "nope-nope-1"})
        assert r.status_code == 401
        return time.perf_counter() - t

    known = statistics.median(timed("sup") for _ in range(3))
    assert len(calls) == 3
    unknown = statistics.median(timed(n) for n in ("nobody", "nobody2", "a4"))
    assert len(calls) == 6  # the unknown names and the disabled user were checked too
    assert unknown > 0.4 * known, (unknown, known)  # before: about 1/50 of it


def test_a_one_time_password_cannot_be_changed_to_itself(admin, app):
    r = admin.post("/api/v1/users", json={"username": "zhou", "password": "given-by-admin-1",
                                          "role": "supervisor"})
    assert r.status_code == 201
    c = login(app, "zhou", "given-by-admin-1")
    r = c.post("/api/v1/auth/password", json={"old_password": "given-by-admin-1",
                                              "new_password": "given-by-admin-1"})
    assert r.status_code == 422 and "不能与当前密码相同" in r.json()["detail"]
    assert c.get("/api/v1/calls").status_code == 403  # still one-time
    assert c.post("/api/v1/auth/password", json={"old_password": "given-by-admin-1",
                                                 "new_password": "my-choice-this-3"}
                  ).status_code == 204


def test_password_policy_beyond_length(agent1, admin, sup):
    import pytest

    from api.security import check_password_strength
    for weak, message in (("abcdefghij", "两类"), ("12345678", "两类"), ("ABCDEFGH", "两类"),
                          ("aaaaaaa1", "4 个不同"), ("abababab1", "4 个不同"),
                          ("Password1", "常见"), ("1qaz2wsx", "常见")):
        with pytest.raises(ValueError, match=message):
            check_password_strength(weak)
        r = agent1.post("/api/v1/auth/password",
                        json={"old_password": PASSWORD, "new_password": weak})
        assert r.status_code == 422 and message in r.json()["detail"], weak
        assert "/ " in r.json()["detail"]  # Chinese, then English
    r = sup.post("/api/v1/auth/password",
                 json={"old_password": PASSWORD, "new_password": "SUP-2026-winter"})
    assert r.status_code == 422 and "用户名" in r.json()["detail"]
    r = admin.post("/api/v1/users", json={"username": "qian", "password": "qianqian-1",
                                          "role": "supervisor"})
    assert r.status_code == 422 and "用户名" in r.json()["detail"]
    for good in ("correct-horse-1", "Tr0ub4dor", "我的密码是2026"):
        check_password_strength(good, "qian")


def test_current_password_guesses_are_throttled(app, agent1):
    for _ in range(app.state.settings.login_max_failures):
        r = agent1.post("/api/v1/auth/password",
                        json={"old_password": "guess-guess-1", "new_password": "another-pass-2"})
        assert r.status_code == 400 and "原密码不正确" in r.json()["detail"]
    r = agent1.post("/api/v1/auth/password",
                    json={"old_password": PASSWORD, "new_password": "another-pass-2"})
    assert r.status_code == 429 and "次数过多" in r.json()["detail"]
    assert agent1.get("/api/v1/auth/me").status_code == 200  # nothing changed


def _client_at(app, ip: str) -> TestClient:
    return TestClient(app, client=(ip, 40000))


def test_anonymous_wrong_logins_do_not_lock_the_real_user_out(app):
    office, attacker, travel = "10.1.2.3", "203.0.113.9", "198.51.100.7"
    ok = {"username": "a1", "password": PASSWORD}
    assert _client_at(app, office).post("/api/v1/auth/login", json=ok).status_code == 200
    evil = _client_at(app, attacker)
    n = app.state.settings.login_max_failures
    for name in ("a1", "x-1", "x-2", "x-3"):  # enough failures to slow the address down too
        for _ in range(n + 2):  # the tries past n wait, and are not counted
            evil.post("/api/v1/auth/login", json={"username": name, "password": "guess-guess-1"})
    r = evil.post("/api/v1/auth/login", json=ok)
    assert r.status_code == 429 and "次数过多" in r.json()["detail"]
    # the real user, where they usually sign in: not locked out
    assert _client_at(app, office).post("/api/v1/auth/login", json=ok).status_code == 200
    # from a place they never signed in from, the name's backoff applies
    assert _client_at(app, travel).post("/api/v1/auth/login", json=ok).status_code == 429
    # and the attacker's address is slowed down for every other name too
    assert evil.post("/api/v1/auth/login", json={"username": "a2", "password": PASSWORD}
                     ).status_code == 429


def test_failed_logins_back_off_rather_than_lock(app, db):
    from datetime import timedelta

    from api.security import login_wait_s, record_login
    from models import LoginAttempt
    settings = app.state.settings
    for _ in range(settings.login_max_failures):
        record_login(db, "a1", "10.9.9.9", False)
    db.commit()
    first = login_wait_s(db, settings, "a1", "10.9.9.9")
    assert 0 < first <= settings.login_backoff_s < settings.login_window_s

    def age(seconds: float) -> None:
        for a in db.query(LoginAttempt):
            a.at = a.at - timedelta(seconds=seconds)
        db.commit()

    age(settings.login_backoff_s + 1)
    assert login_wait_s(db, settings, "a1", "10.9.9.9") == 0  # a try is allowed again
    record_login(db, "a1", "10.9.9.9", False)  # and failing it doubles the wait
    db.commit()
    assert settings.login_backoff_s < login_wait_s(db, settings, "a1", "10.9.9.9") \
        <= 2 * settings.login_backoff_s
    for _ in range(20):
        record_login(db, "a1", "10.9.9.9", False)
    db.commit()
    assert login_wait_s(db, settings, "a1", "10.9.9.9") <= settings.login_window_s
