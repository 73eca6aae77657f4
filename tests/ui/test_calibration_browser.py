"""Agreement and calibration pages: in a real headless Chromium a supervisor creates a calibration
session in the form, two supervisors score it blind (the results stay closed to the second until
they submit) and the results page shows Cohen's kappa; through the ASGI client, the agreement
and random-sample pages render for supervisors and stay closed to agents."""
from __future__ import annotations

import re

import pytest

from tests.seeding import add_user
from fastapi.testclient import TestClient

from .conftest import PASSWORD, web_login
from .test_browser import CHROMIUM, _login, _page, _until, browser  # noqa: F401 - fixture


@pytest.fixture()
def with_sup2(ui_app):
    add_user(ui_app, "sup2", "supervisor", PASSWORD, display_name="二号主管")


# Two calls × two rules. Items (pub-001 GR01, pub-002 GR01, pub-001 GR02, pub-002 GR02):
#   sup  pass fail pass n/a
#   sup2 pass fail fail n/a
# overall: p_o = 3/4; sup p 2 f 1 n 1, sup2 p 1 f 2 n 1 → p_e = (2 + 2 + 1)/16 = 5/16
#          κ = (12 − 5)/(16 − 5) = 7/11 = 0.64
# GR01: both pass, fail → κ = 1.00; GR02: sup pass n/a, sup2 fail n/a → p_o = 1/2,
#       p_e = 1/2·1/2 (n/a) = 1/4 → κ = (1/2 − 1/4)/(3/4) = 0.33
SCORES = {"sup": {("pub-001", "GR01"): "pass", ("pub-002", "GR01"): "fail",
                  ("pub-001", "GR02"): "pass", ("pub-002", "GR02"): "n/a"},
          "sup2": {("pub-001", "GR01"): "pass", ("pub-002", "GR01"): "fail",
                   ("pub-001", "GR02"): "fail", ("pub-002", "GR02"): "n/a"}}


def _score(page, username: str) -> None:
    page.wait_for_selector("#score-form")
    assert page.locator('#score-form input[type="radio"]:checked').count() == 0  # none prefilled
    for (cid, code), label in SCORES[username].items():
        page.check(f'input[name="{cid}|{code}"][value="{label}"]')
    _until(page, "document.getElementById('score-progress').textContent.includes('4 / 4')")
    page.get_by_role("button", name="提交评分").click()
    page.wait_for_url(re.compile(r".*/calibration/\d+/results$"))


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_two_supervisors_score_blind_and_see_kappa(browser, live_server, with_sup2):  # noqa: F811
    sup, errors = _page(browser, live_server)
    _login(sup, "sup")
    sup.get_by_role("link", name="校准").click()
    form = sup.locator("#calibration-form")
    form.get_by_label("名称", exact=True).fill("浏览器校准")
    form.get_by_label("二号主管（sup2）").check()
    form.get_by_label("指定通话", exact=True).check()
    form.get_by_label("通话编号").fill("pub-001, pub-002")
    form.get_by_label("规则", exact=True).fill("GR01, GR02")
    form.get_by_role("button", name="创建校准").click()
    sup.wait_for_url(re.compile(r".*/calibration/\d+/score$"))
    sid = re.search(r"/calibration/(\d+)/", sup.url).group(1)
    # blind: the calls' transcripts and the choices, no verdict, score or review of anybody
    assert sup.locator(".calibration-call").count() == 2 and sup.locator(".finding").count() == 0
    text = " ".join(sup.locator(".calibration-call").all_inner_texts())
    assert not any(w in text for w in ("得分", "扣分", "机器", "置信", "维持", "推翻", "待复核"))
    _score(sup, "sup")
    assert "尚未提交" in sup.locator("main").inner_text() and "sup2" in sup.content()
    assert not errors, errors

    sup2, errors2 = _page(browser, live_server)
    _login(sup2, "sup2")
    r = sup2.goto(f"/calibration/{sid}/results")
    assert r.status == 403 and "提交" in sup2.locator("main").inner_text()
    sup2.goto("/calibration")
    sup2.get_by_role("link", name=re.compile("去评分")).click()
    _score(sup2, "sup2")
    pair = sup2.locator("#overall tr.pair").first
    assert "sup – sup2" in pair.inner_text()
    assert pair.locator("td.kappa").inner_text() == "0.64"
    assert sup2.locator("#overall-mean-kappa").inner_text() == "0.64"
    assert sup2.locator('#per-rule tr[data-code="GR01"] td[data-col="mean-kappa"]').inner_text() \
        == "1.00"
    assert sup2.locator('#per-rule tr[data-code="GR02"] td[data-col="mean-kappa"]').inner_text() \
        == "0.33"
    assert sup2.locator("#overall tr.machine").count() == 2
    assert sup2.locator("#disagreements tbody tr").count() >= 1
    sup.reload()
    assert sup.locator("#overall-mean-kappa").inner_text() == "0.64"
    assert not errors2, errors2


def test_agreement_and_sample_pages(ui_app):
    with TestClient(ui_app) as c:
        web_login(c, "sup")
        r = c.get("/agreement?month=2026-11")
        assert r.status_code == 200 and "随机抽检（无偏）" in r.text and 'data-code="GR01"' in r.text
        assert 'href="/agreement"' in r.text and 'href="/calibration"' in r.text
        assert c.get("/agreement?month=2026-11&sort=overturned").status_code == 200
        r = c.get("/samples")
        assert r.status_code == 200 and "还没有随机抽检记录" in r.text
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', r.text).group(1)
        s = c.post("/api/v1/samples", json={"month": "2026-11", "size": 4, "seed": 11},
                   headers={"X-CSRF-Token": csrf}).json()
        r = c.get(f"/samples/{s['id']}")
        assert r.status_code == 200 and str(s["seed"]) in r.text
        assert all(f'data-call-id="{cid}"' in r.text for cid in s["call_ids"])
        assert "用记录的种子重抽，得到同样的通话" in r.text
        assert c.get("/calibration").status_code == 200
    with TestClient(ui_app) as a:
        web_login(a, "a1")
        for path in ("/agreement", "/samples", f"/samples/{s['id']}", "/calibration",
                     "/calibration/1", "/calibration/1/score", "/calibration/1/results"):
            assert a.get(path, follow_redirects=False).status_code == 403, path
        assert 'href="/calibration"' not in a.get("/me").text
