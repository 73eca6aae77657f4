"""规则工作室 pages through the ASGI client: agents are refused every studio route, an improper
document comes back with every problem listed and the text kept, a saved document shows its
versions, the override editor starts from the rule's current settings, and a custom rule's
name shows where findings are listed. (The browser flow is ``test_rule_studio_browser.py``.)"""
from __future__ import annotations

import html
import re

import pytest

from tests.seeding import add_user
from fastapi.testclient import TestClient

from .conftest import PASSWORD, web_login

GOOD = ("code: X010\nname: 漏水来电告知24小时报修电话\nmessage: 漏水报修未告知24小时报修电话\n"
        "weight: 5\napplies_when:\n  phrase: {phrases: [漏水, 渗水, 滴水], speaker: customer}\n"
        "passes_when:\n  phrase: {phrases: [二十四小时, 24小时], speaker: agent}\n")
BAD = ("code: Y1\nname: ''\nweight: -3\ncolour: red\n"
       "passes_when:\n  phrase: {phrases: [], speaker: boss}\n")


@pytest.fixture()
def with_admin(ui_app):
    add_user(ui_app, "boss", "admin", PASSWORD)


def _client(app, username):
    c = TestClient(app)
    c.__enter__()
    web_login(c, username)
    return c


@pytest.fixture()
def sup(ui_app):
    c = _client(ui_app, "sup")
    yield c
    c.__exit__(None, None, None)


def token(client, path="/rules/studio") -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).text).group(1)


def save(client, text, comment=""):
    return client.post("/rules/studio/save", data={"yaml_text": text, "comment": comment,
                                                   "csrf_token": token(client)},
                       follow_redirects=False)


def textarea(page: str) -> str:
    m = re.search(r'<textarea id="yaml-text"[^>]*>(.*?)</textarea>', page, re.S)
    return html.unescape(m.group(1))


def test_agents_are_refused_every_studio_route(ui_app):
    with TestClient(ui_app) as anon:
        r = anon.get("/rules/studio", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    agent = _client(ui_app, "a5")
    try:
        for path in ("/rules/studio", "/rules/studio/new", "/rules/studio/new?override=SV04",
                     "/rules/studio/X001", "/rules/studio/SV04?version=1"):
            r = agent.get(path, follow_redirects=False)
            assert r.status_code == 403, path
            assert "此页面仅质检主管可见" in r.text
        tok = token(agent, "/me")
        r = agent.post("/rules/studio/save", data={"yaml_text": GOOD, "csrf_token": tok},
                       follow_redirects=False)
        assert r.status_code == 403
        r = agent.post("/rules/studio/check", json={"yaml_text": GOOD},
                       headers={"X-CSRF-Token": tok})
        assert r.status_code == 403
        assert agent.post("/api/v1/rule-documents/dry-run", json={"yaml_text": GOOD},
                          headers={"X-CSRF-Token": tok}).status_code == 403
        assert "规则工作室" not in agent.get("/me").text  # no link in the agent's navigation
    finally:
        agent.__exit__(None, None, None)
    with ui_app.state.sessions() as db:
        from models import RuleVersion
        assert db.query(RuleVersion).count() == 0


def test_an_improper_document_lists_every_problem_and_keeps_the_text(sup, ui_app):
    from qa.custom_rules import RuleDocumentError, parse_document
    with pytest.raises(RuleDocumentError) as exc:
        parse_document(BAD)
    r = save(sup, BAD, "试一下")
    assert r.status_code == 422
    listed = re.search(r'<ul id="doc-error-list">(.*?)</ul>', r.text, re.S).group(1)
    items = [html.unescape(x) for x in re.findall(r"<li>(.*?)</li>", listed, re.S)]
    assert len(items) == len(exc.value.errors) >= 4
    for want, got in zip(exc.value.errors, items):
        assert got == want.split(" / ")[0]
    assert textarea(r.text) == BAD  # nothing lost
    assert 'value="试一下"' in r.text
    r = save(sup, "code: [unclosed")
    assert r.status_code == 422 and "不是合法的 YAML" in r.text
    assert textarea(r.text) == "code: [unclosed"
    # a stale form is refused
    r = sup.post("/rules/studio/save", data={"yaml_text": GOOD, "csrf_token": "nope"})
    assert r.status_code == 403
    with ui_app.state.sessions() as db:
        from models import RuleVersion
        assert db.query(RuleVersion).count() == 0


def test_saving_makes_versions_listed_in_the_studio(sup, ui_app, with_admin):
    r = save(sup, GOOD, "第一版")
    assert r.status_code == 303 and r.headers["location"] == "/rules/studio/X010?saved=1"
    page = sup.get(r.headers["location"]).text
    assert "已保存为第 1 版" in page and textarea(page) == GOOD and "第一版" in page
    assert 'data-activate="1"' in page   # supervisors activate their own rules
    # the same text again is not a new version: said next to the text, nothing lost
    r = save(sup, GOOD)
    assert r.status_code == 409 and "相同" in r.text and textarea(r.text) == GOOD
    assert save(sup, GOOD.replace("weight: 5", "weight: 6"), "扣 6 分").status_code == 303
    listing = sup.get("/rules/studio").text
    row = re.search(r'<tr data-code="X010">(.*?)</tr>', listing, re.S).group(1)
    assert "漏水来电告知24小时报修电话" in row and "未启用" in row and "第 2 版" in row
    assert "质检主管" in row  # who saved it (display name)
    assert "X010 漏水来电告知24小时报修电话" in sup.get("/calls").text  # the filter's rules
    page = sup.get("/rules/studio/X010?version=1").text
    assert "正在查看第 1 版" in page and textarea(page) == GOOD
    assert sup.get("/rules/studio/X010?version=7").status_code == 404
    assert sup.get("/rules/studio/X404").status_code == 404
    admin = _client(ui_app, "boss")
    try:
        page = admin.get("/rules/studio/X010").text
        assert 'data-activate="2"' in page and 'data-activate="1"' in page
        assert 'id="rescore-form"' in admin.get("/rules/studio").text
    finally:
        admin.__exit__(None, None, None)
    assert 'id="rescore-form"' in listing


def test_the_override_editor_starts_from_the_current_settings(sup):
    from qa.configuration import _defaults
    from qa.custom_rules import parse_document
    r = sup.get("/rules/studio")
    assert r.status_code == 200 and "/rules/studio/new?override=SV04" in r.text
    page = sup.get("/rules/studio/new?override=SV04").text
    text = textarea(page)
    doc = parse_document(text)
    assert doc.kind == "override" and doc.code == "SV04"
    assert doc.settings()["thanks_phrases"] == _defaults()["rules"]["SV04"]["thanks_phrases"]
    assert sup.get("/rules/studio/new?override=ZZ99").status_code == 404
    # an active override is where its rule's current settings come from
    r = save(sup, "override: SV04\nsettings:\n  thanks_phrases: {add: [感谢您的耐心]}\n")
    assert r.status_code == 303
    r = sup.get("/rules/studio/new?override=SV04", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/rules/studio/SV04"


def test_every_built_in_rule_with_settings_gets_a_valid_override_text():
    from api.routes.rule_studio_pages import builtin_settings, override_template
    from qa.custom_rules import parse_document
    from qa.rules import rule_classes
    for cls in rule_classes():
        current = builtin_settings(cls.code)
        if current:
            doc = parse_document(override_template(cls.code, current))
            assert doc.code == cls.code and doc.settings()
            assert set(doc.settings()) <= set(current)


def test_check_reads_the_text_for_the_form(sup):
    tok = token(sup)
    r = sup.post("/rules/studio/check", json={"yaml_text": GOOD}, headers={"X-CSRF-Token": tok})
    assert r.status_code == 200
    d = r.json()
    assert d["errors"] == [] and d["kind"] == "custom" and d["code"] == "X010"
    assert d["data"]["applies_when"]["phrase"]["speaker"] == "customer"
    d = sup.post("/rules/studio/check", json={"yaml_text": BAD},
                 headers={"X-CSRF-Token": tok}).json()
    assert len(d["errors"]) >= 4 and d["data"]["code"] == "Y1"
    d = sup.post("/rules/studio/check", json={"yaml_text": "override: CL01\nsettings: {}\n"},
                 headers={"X-CSRF-Token": tok}).json()
    assert d["kind"] == "override" and "farewell_phrases" in d["defaults"] and d["errors"]
    assert sup.post("/rules/studio/check", json={"yaml_text": GOOD}).status_code == 403
