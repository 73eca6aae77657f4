"""Alerts in a real headless Chromium: the badge counts the unseen alerts, the alerts page
links to the calls and marks them seen; an admin creates a channel in the form (the secret
shown masked afterwards), sends a test message to a real local receiver, deactivates and
deletes it; an agent has neither the badge nor the page."""
from __future__ import annotations

import pytest

from tests.seeding import add_user

from tests.qa.alert_receivers import start_http_receiver

from .conftest import PASSWORD
from .test_browser import CHROMIUM, _login, _page, _until, browser  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(),
                                 reason="/usr/bin/chromium is not installed")]

SECRET = "SECa8c1e5b7d3f2a9f3a9"


@pytest.fixture()
def with_admin(ui_app):
    add_user(ui_app, "boss", "admin", PASSWORD)


def test_badge_alerts_page_and_admin_channel_form(browser, live_server, with_admin):  # noqa: F811
    rec = start_http_receiver()
    try:
        sup, errors = _page(browser, live_server)
        _login(sup, "sup")
        sup.goto("/dashboard")
        _until(sup, "!document.getElementById('alert-badge').hidden")
        n = int(sup.locator("#alert-badge").inner_text())
        assert n > 0
        sup.get_by_role("link", name="告警").first.click()
        sup.wait_for_selector("#alerts-table")
        assert sup.locator("#alerts-table tbody tr.unseen").count() == n
        link = sup.locator("#alerts-table a[href='/calls/pub-012']").first
        assert link.count() == 1
        sup.get_by_role("button", name="全部标为已读").click()
        _until(sup, "document.getElementById('alert-badge').hidden")
        assert sup.locator("#alerts-unseen").inner_text() == "0"
        link.click()
        sup.wait_for_url("**/calls/pub-012")
        assert not errors, errors

        admin, errors = _page(browser, live_server)
        _login(admin, "boss")
        admin.goto("/admin/alerts")
        form = admin.locator("#channel-form")
        form.get_by_label("名称").fill("质检群")
        form.get_by_label("类型").select_option("feishu")
        form.get_by_label("地址").fill(rec.url + "/open-apis/bot/v2/hook/abc")
        form.get_by_label("密钥").fill(SECRET)
        form.get_by_label("案件逾期").check()
        form.get_by_role("button", name="保存").click()
        admin.wait_for_selector("#channels tr[data-channel-id]")
        row = admin.locator("#channels tr[data-channel-id]").first
        assert "SEC…f3a9" in row.inner_text() and SECRET not in admin.content()
        assert "飞书机器人" in row.inner_text() and "案件逾期" in row.inner_text()
        row.get_by_role("button", name="发送测试").click()
        _until(admin, "document.getElementById('flash').textContent.includes('测试消息已送达')")
        (got,) = rec.wait_for(1)
        assert got.path == "/open-apis/bot/v2/hook/abc" and got.json()["msg_type"] == "post"
        assert {"timestamp", "sign"} <= set(got.json())
        row.get_by_role("button", name="停用").click()
        _until(admin, "document.querySelector('#channels tr[data-channel-id]') &&"
                      " document.querySelector('#channels tr[data-channel-id]').innerText"
                      ".includes('已停用')")
        admin.once("dialog", lambda d: d.accept())
        admin.locator("#channels tr[data-channel-id]").first.get_by_role(
            "button", name="删除").click()
        _until(admin, "document.querySelector('#channels tr[data-channel-id]') === null")
        assert not errors, errors

        agent, errors = _page(browser, live_server)
        _login(agent, "a1")
        assert agent.locator("#alert-badge").count() == 0
        r = agent.goto("/alerts")
        assert r.status == 403
    finally:
        rec.server.shutdown()
