"""Personal data in the web UI, in a real headless Chromium: an admin masks the supervisors'
pages at /admin/privacy; the supervisor sees the call masked, reveals it with the button
(audited) and sees the clear data; an agent sees it masked and has no button."""
from __future__ import annotations

import pytest

from tests.seeding import add_user

from .conftest import PASSWORD
from .test_browser import CHROMIUM, _login, _page, _until, browser  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")]


@pytest.fixture()
def with_admin(ui_app):
    add_user(ui_app, "root", "admin", PASSWORD)


def test_admin_masks_supervisor_pages_and_the_supervisor_reveals_a_call(
        browser, live_server, ui_app, with_admin):  # noqa: F811
    page, errors = _page(browser, live_server)
    _login(page, "root")
    page.goto("/admin/privacy")
    assert page.get_by_role("heading", name="个人信息脱敏").is_visible()
    box = page.get_by_label("质检主管 网页 脱敏")
    assert not box.is_checked() and page.get_by_label("客服人员 网页 脱敏").is_checked()
    box.check()
    page.get_by_role("button", name="保存").click()
    _until(page, "document.getElementById('flash').textContent.includes('已保存')")
    page.context.close()

    page, errors = _page(browser, live_server)
    _login(page, "sup")
    page.goto("/calls/pub-001")
    case = page.locator("#case").inner_text()
    assert "*栋*单元**02" in case and "9栋2单元1002" not in case
    assert "一零零二" not in page.locator("body").inner_text()
    page.get_by_role("button", name="查看明文").click()
    _until(page, "!!document.getElementById('revealed')")
    assert "9栋2单元1002" in page.locator("#case").inner_text()
    assert "幺三九，幺六二四，七七三五" in page.locator("body").inner_text()
    assert not errors, errors
    page.context.close()
    from models import AuditLog
    with ui_app.state.sessions() as db:
        assert db.query(AuditLog).filter_by(action="call.reveal", object_id="pub-001",
                                            actor="sup").count() == 1
        assert db.query(AuditLog).filter_by(action="privacy.policy").count() == 1

    page, errors = _page(browser, live_server)
    _login(page, "a1")
    page.goto("/calls/pub-001")
    body = page.locator("body").inner_text()
    assert "*栋*单元**02" in body and "9栋2单元1002" not in body and "幺六二四" not in body
    assert page.get_by_role("button", name="查看明文").count() == 0
    assert page.goto("/admin/privacy").status == 403
    page.context.close()
