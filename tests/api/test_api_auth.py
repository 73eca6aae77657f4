"""Accounts and sessions: login, tokens, forged/expired sessions, CSRF, throttling, passwords."""
from __future__ import annotations

from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer

from api.security import SESSION_COOKIE, hash_password, verify_password

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
    # the form field works too (HTML form posts)
    r = no_csrf.post("/api/v1/auth/logout", data={"csrf_token": sup.headers["X-CSRF-Token"]})
    assert r.status_code == 204
    assert sup.post(f"/api/v1/findings/{fid}/review", json=body).status_code == 200


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
