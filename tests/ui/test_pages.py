"""The HTML pages through the ASGI client: login, role visibility, filters, paging, the call
page's transcript/finding markup, errors in Chinese. (The browser flows are in
``test_browser.py``.)"""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from .conftest import web_login


@pytest.fixture()
def anon(ui_app):
    with TestClient(ui_app) as c:
        yield c


@pytest.fixture()
def sup(ui_app):
    with TestClient(ui_app) as c:
        web_login(c, "sup")
        yield c


@pytest.fixture()
def agent5(ui_app):
    with TestClient(ui_app) as c:
        web_login(c, "a5")
        yield c


def test_pages_need_login(anon):
    for path in ("/dashboard", "/calls", "/calls/pub-001", "/review", "/appeals",
                 "/assessments", "/me"):
        r = anon.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next=")


def test_bad_login_shows_chinese_error(anon):
    r = anon.post("/login", data={"username": "sup", "password": "wrong-password"})
    assert r.status_code == 401
    assert "用户名或密码" in r.text and 'role="alert"' in r.text
    assert "hqa_session" not in r.headers.get("set-cookie", "")


def test_login_redirects_by_role(ui_app):
    with TestClient(ui_app) as c:
        assert web_login(c, "sup").headers["location"] == "/dashboard"
    with TestClient(ui_app) as c:
        assert web_login(c, "a5").headers["location"] == "/me"
    with TestClient(ui_app) as c:  # an open redirect is not followed
        r = c.post("/login", data={"username": "sup", "password": "ui-test-pass-1",
                                   "next": "//evil.example/"}, follow_redirects=False)
        assert r.headers["location"] == "/dashboard"


def test_dashboard_has_charts_and_health(sup):
    r = sup.get("/dashboard")
    assert r.status_code == 200
    for text in ("质检总览", "团队平均分", "chart-trend", "chart-grades", "chart-failed",
                 "chart-calltypes", "chart-complainttypes", "待复核的禁止行为", "bad.mp3",
                 "文件不是音频", "2026-11"):
        assert text in r.text, text
    assert "/static/vendor/chartjs/chart.umd.min.js" in r.text
    assert sup.get("/static/vendor/chartjs/chart.umd.min.js").status_code == 200


def test_call_list_filters_and_paging(sup):
    r = sup.get("/calls")
    assert "共 41 通" in r.text
    r = sup.get("/calls", params={"agent_id": "A1005"})
    assert "共 8 通" in r.text and "A1004" not in re.sub(r"<option.*?</option>", "", r.text)
    r = sup.get("/calls", params={"rule_failed": "PO03"})
    assert "共 3 通" in r.text
    r = sup.get("/calls", params={"score_min": "abc"})
    assert "最低分应为 0–100 之间的数字" in r.text
    r = sup.get("/calls", params={"date_from": "2026-11-30", "date_to": "2026-11-01"})
    assert "开始日期不能晚于结束日期" in r.text
    r = sup.get("/calls", params={"call_type": "complaint", "page": "1"})
    assert r.status_code == 200 and "投诉" in r.text
    for params in ({"date_to": "9999-12-31"}, {"date_from": "0001-01-01"}):
        r = sup.get("/calls", params=params)
        assert r.status_code == 200 and "日期超出范围" in r.text, params


def test_call_page_marks_evidence_and_offers_review(sup):
    r = sup.get("/calls/pub-020")
    assert r.status_code == 200
    assert 'class="ev"' in r.text and "<sup>PO06</sup>" in r.text  # finding words highlighted
    assert 'data-review="' in r.text and "维持" in r.text and "推翻" in r.text
    assert "得分怎么算的" in r.text and "纠正类型" in r.text
    r = sup.get("/calls/pub-003")
    assert '<audio id="player"' in r.text and "/api/v1/calls/pub-003/audio" in r.text


def test_agent_sees_only_own_calls(agent5):
    r = agent5.get("/calls")
    assert "共 8 通" in r.text
    assert "A1001" not in r.text
    r = agent5.get("/calls/pub-001")  # another agent's call
    assert r.status_code == 404 and "通话不存在或无权查看" in r.text
    assert agent5.get("/dashboard").status_code == 403
    assert agent5.get("/assessments").status_code == 403
    r = agent5.get("/me")
    assert r.status_code == 200 and "考核展望" in r.text and "规范要求" in r.text
    assert 'data-appeal="' in r.text


def test_pages_render_for_supervisor(sup):
    assert "复核队列" in sup.get("/review").text
    assert "禁止行为（红线）" in sup.get("/review").text
    r = sup.get("/assessments", params={"month": "2026-11"})
    assert "导出 Excel" in r.text and "A1005" in r.text
    assert sup.get("/assessments", params={"month": "2026-13"}).status_code == 422
    assert sup.get("/appeals").status_code == 200


def test_logout_needs_csrf(sup):
    assert sup.post("/logout", data={"csrf_token": "nope"}).status_code == 403
    page = sup.get("/dashboard").text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    r = sup.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_logout_ends_the_session_on_the_server(ui_app, sup):
    cookie = sup.cookies.get("hqa_session")
    token = re.search(r'name="csrf-token" content="([^"]+)"', sup.get("/dashboard").text).group(1)
    assert sup.post("/logout", data={"csrf_token": token}, follow_redirects=False
                    ).status_code == 303
    with TestClient(ui_app, cookies={"hqa_session": cookie}) as replay:  # a kept copy
        r = replay.get("/dashboard", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        r = replay.post("/api/v1/auth/logout", headers={"X-CSRF-Token": token})
        assert r.status_code == 401


def test_account_page(sup):
    r = sup.get("/account")
    assert r.status_code == 200 and "修改密码" in r.text and 'data-password="1"' in r.text


def test_call_in_progress_shows_progress(ui_app, sup):
    from models import Call
    db = ui_app.state.sessions()
    db.get(Call, "pub-010").status = "processing"
    db.commit()
    db.close()
    r = sup.get("/calls/pub-010")
    assert 'id="analysis-progress"' in r.text and "分析中" in r.text
    assert "本通话所有适用规则均合格" not in r.text


def test_one_time_password_sends_every_page_to_the_password_form(ui_app):
    from api.services.users import set_password
    from models import User
    s = ui_app.state.sessions()
    user = s.query(User).filter_by(username="sup").one()
    set_password(s, None, user, "printed-once-9", one_time=True)
    s.commit()
    s.close()
    with TestClient(ui_app) as c:
        r = c.post("/login", data={"username": "sup", "password": "printed-once-9"},
                   follow_redirects=False)
        assert r.status_code == 303
        for path in ("/dashboard", "/calls", "/review", "/"):
            r = c.get(path, follow_redirects=False)
            assert (r.status_code, r.headers["location"]) == (303, "/account"), path
        page = c.get("/account")
        assert page.status_code == 200 and "一次性密码" in page.text and "data-password" in page.text


def test_every_response_has_the_security_headers(ui_app, sup, anon):
    for client, path in ((anon, "/login"), (sup, "/dashboard"), (sup, "/calls/pub-003"),
                         (sup, "/static/app.js"), (sup, "/api/v1/calls"), (anon, "/api/v1/calls"),
                         (sup, "/calls/nope"), (anon, "/api/v1/health")):
        r = client.get(path, follow_redirects=False)
        assert r.headers["x-frame-options"] == "DENY", path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["referrer-policy"] == "same-origin", path
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp, path
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0], path


def test_a_server_error_has_the_security_headers_too(ui_app):
    """Starlette answers an unhandled exception from its outermost middleware: the headers
    must be put on outside it, or a 500 page could be framed."""
    @ui_app.get("/boom-for-test")
    def boom():
        raise RuntimeError("boom")

    with TestClient(ui_app, raise_server_exceptions=False) as c:
        r = c.get("/boom-for-test")
    assert r.status_code == 500
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_pages_have_no_inline_scripts():
    """The policy allows no inline script: the templates keep their scripts in /static (a JSON
    data block is no script)."""
    from api.templating import HERE
    for t in (HERE / "templates").glob("*.html"):
        for tag in re.findall(r"<script\b[^>]*>", t.read_text(encoding="utf-8")):
            assert "src=" in tag or 'type="application/json"' in tag, (t.name, tag)
        assert not re.search(r"\son[a-z]+=", t.read_text(encoding="utf-8")), t.name


def test_search_page_marks_hits_and_links_to_the_second(sup, agent5):
    r = sup.get("/search", params={"q": "师傅", "speaker": "agent"})
    assert r.status_code == 200, r.text
    hits = re.findall(r'<li class="hit card" data-call="([^"]+)">', r.text)
    assert hits and "<mark>师傅</mark>" in r.text and "共 " in r.text
    assert re.search(r'href="/calls/pub-\d+\?t=\d+\.\d#u\d+"', r.text)
    assert 'role="search"' in sup.get("/calls").text  # the search box is on every page
    fuzzy = sup.get("/search", params={"q": "楼水", "sound": "1"})
    badge = '音近</span>'
    assert badge in fuzzy.text and "<mark>漏水</mark>" in fuzzy.text
    assert badge not in sup.get("/search", params={"q": "漏水", "sound": "1"}).text
    bad = sup.get("/search", params={"q": "-漏水"})
    assert bad.status_code == 200 and "不能只有排除词" in bad.text
    assert "日期" in sup.get("/search", params={"q": "师傅", "date_from": "11/02"}).text
    # an agent finds only their own calls
    mine = agent5.get("/search", params={"q": "您好"})
    assert re.findall(r'<li class="hit card" data-call="([^"]+)">', mine.text)
    assert set(re.findall(r"A10\d\d", mine.text)) == {"A1005"}
    assert set(re.findall(r"A10\d\d", sup.get("/search", params={"q": "您好"}).text)) > {"A1005"}
    page = sup.get("/calls/pub-001", params={"t": "43.9"})
    assert page.status_code == 200 and 'id="u0"' in page.text


def test_monitors_on_the_dashboard_and_the_save_form(ui_app, sup, agent5):
    import html
    import json

    from models import Monitor
    with ui_app.state.sessions() as db:
        db.add(Monitor(name="维修师傅", query="师傅", speaker="agent"))
        db.commit()
    r = sup.get("/dashboard", params={"month": "2026-11"})
    assert "chart-monitors" in r.text and "维修师傅" in r.text
    assert 'href="/search?q=%E5%B8%88%E5%82%85&speaker=agent"' in r.text
    row = re.search(r'<tr data-monitor="\d+">(.*?)</tr>', r.text, re.S).group(1)
    this_week = int(re.findall(r'<td class="num">(\d+)</td>', row)[0])
    assert this_week >= 0
    data = re.search(r'id="dashboard-data">(.*?)</script>', r.text, re.S).group(1)
    assert json.loads(data)["monitors"][0]["name"] == "维修师傅"
    assert len(json.loads(data)["monitors"][0]["counts"]) == 12
    page = sup.get("/search", params={"q": "师傅", "speaker": "agent", "estate": "御景湾"})
    form = re.search(r'data-monitor="([^"]+)"', page.text).group(1)
    assert json.loads(html.unescape(form)) == {"query": "师傅", "sound": False,
                                                "speaker": "agent",
                                                "filters": {"estate": "御景湾"}}
    assert "data-monitor" not in agent5.get("/search", params={"q": "您好"}).text


def test_topics_page(ui_app, sup, agent5):
    from tests.api.test_api_topics import TZ, make_docs
    from datetime import datetime, timedelta

    from tests.seeding import add_reason_calls
    docs, _ = make_docs({"leak": 10, "noise": 10}, seed=3, prefix="t")
    with ui_app.state.sessions() as db:
        add_reason_calls(db, docs, [datetime(2027, 1, 11, 9, tzinfo=TZ) + timedelta(hours=i)
                                    for i in range(len(docs))])
        db.commit()
    r = sup.get("/topics")  # the week of the newest call
    assert r.status_code == 200, r.text
    assert "来电原因 <span class=\"muted\">2027-W02</span>" in r.text
    assert r.text.count('<li class="card topic"') >= 2 and "本周新出现" in r.text
    assert 'data-topic-merge' in r.text and 'data-vector="{' in r.text
    assert sup.get("/topics", params={"week": "2027-02"}).status_code == 422
    assert agent5.get("/topics").status_code == 403


def test_acknowledgement_on_the_call_page_and_the_month_sheet(sup, agent5):
    own = re.search(r'href="/calls/(pub-\d+)"', agent5.get("/calls").text).group(1)
    page = agent5.get(f"/calls/{own}")
    assert f'data-ack="{own}"' in page.text and "签收质检结果" in page.text
    assert "客服尚未签收" in sup.get(f"/calls/{own}").text
    assert f'data-ack="{own}"' not in sup.get(f"/calls/{own}").text
    sheet = sup.get("/assessments", params={"month": "2026-11"}).text
    assert "签收</th>" in sheet and re.search(r'title="未签收 \d+ 通">0/\d+</a>', sheet)


def test_case_box_on_the_call_page_and_late_cases_on_the_dashboard(sup, agent5):
    page = sup.get("/calls/pub-001")
    assert 'id="case"' in page.text and "跟进案件" in page.text and "9栋2单元1002" in page.text
    assert "承诺未兑现" in page.text and 'data-case-action="called_back"' in page.text
    dash = sup.get("/dashboard", params={"month": "2026-11"}).text
    assert 'id="late-cases"' in dash and "/calls/pub-001#case" in dash
