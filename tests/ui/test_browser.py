"""The web UI in a real headless Chromium (Playwright): a supervisor opens a call, plays and
seeks the recording, upholds findings and sees the agent's month grade change; an agent sees
only their own calls and appeals a finding; the supervisor rejects the appeal. Screenshots of
the main pages go to ``artifacts/screenshots/``."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from .conftest import PASSWORD, REPO

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "artifacts" / "screenshots"

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(),
                                 reason="/usr/bin/chromium is not installed (Debian package "
                                        "'chromium'; .ci/run installs it)")]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--autoplay-policy=no-user-gesture-required", "--mute-audio"])
        yield b
        b.close()


def _until(page, expression: str, timeout_s: float = 15.0) -> None:
    """Wait until a JavaScript expression is true. Page.wait_for_function compiles its
    predicate with eval inside the page, which the product's Content-Security-Policy refuses
    (no 'unsafe-eval'), so poll through Page.evaluate, which the policy does not govern.
    A poll that a page reload interrupts ("Execution context was destroyed") is retried."""
    from playwright.sync_api import Error as PlaywrightError
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if page.evaluate(expression):
                return
        except PlaywrightError as exc:
            if "context was destroyed" not in str(exc):
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s:.0f} s: {expression}")
        time.sleep(0.05)


def _page(browser, base: str):
    ctx = browser.new_context(base_url=base, locale="zh-CN", viewport={"width": 1360,
                                                                         "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # anything the Content-Security-Policy blocks is an error of the page too
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and
            "Content Security Policy" in msg.text else None)
    return page, errors


def _login(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_supervisor_and_agent_flows(browser, live_server):
    sup, sup_errors = _page(browser, live_server)
    _login(sup, "sup")
    assert sup.url.endswith("/dashboard")
    sup.wait_for_selector("body[data-charts-ready='1']")  # Chart.js drew every chart
    assert sup.locator("#team-avg").inner_text() != "—"
    _shot(sup, "01-dashboard")

    sup.goto("/calls")
    sup.get_by_label("客服", exact=True).select_option("A1005")
    sup.get_by_role("button", name="筛选").click()
    assert "共 8 通" in sup.locator("#total").inner_text()
    _shot(sup, "02-call-list")

    # the call with a real recording: play, seek from a transcript line and by keyboard
    sup.goto("/calls/pub-003")
    player = sup.locator("#player")
    _until(sup, "document.getElementById('player').readyState >= 1")
    assert sup.evaluate("document.getElementById('player').duration") > 30
    line = sup.locator("li.line").nth(3)
    target = float(line.get_attribute("data-seek"))
    line.click()
    _until(sup, f"Math.abs(document.getElementById('player').currentTime - {target})"
                          " < 1.5")
    _until(sup, "!document.getElementById('player').paused")
    other = sup.locator("li.line").nth(6)
    target2 = float(other.get_attribute("data-seek"))
    other.focus()
    sup.keyboard.press("Enter")
    _until(sup, f"Math.abs(document.getElementById('player').currentTime - "
                          f"{target2}) < 1.5")
    player.evaluate("p => p.pause()")
    # a finding's evidence button seeks to the words behind it
    ev = sup.locator("article.finding button.seek").first
    ev_t = float(ev.get_attribute("data-seek"))
    ev.click()
    _until(sup, f"Math.abs(document.getElementById('player').currentTime - {ev_t})"
                          " < 1.5")
    player.evaluate("p => p.pause()")
    # uphold the first finding
    card = sup.locator("article.finding").first
    card.locator("textarea").fill("录音中确实没有确认客户是否明白")
    card.get_by_role("button", name="维持（确认不合格）").click()
    sup.wait_for_selector("#flash:not([hidden])")
    assert "已维持" in sup.locator("#flash").inner_text()
    assert sup.locator("article.finding").first.locator(".badge.state").inner_text() == "已维持"
    _shot(sup, "03-call-page")

    # upholding a red line makes the agent's month C (A1005: average ≈ 87 → B)
    sup.goto("/calls/pub-020")
    assert sup.locator("#month-grade").inner_text() == "B"
    red = sup.locator("article.finding.redline").first
    red.get_by_role("button", name="维持（确认不合格）").click()
    sup.wait_for_selector("#flash:not([hidden])")
    assert sup.locator("#month-grade").inner_text() == "C"
    sup.goto("/assessments?month=2026-11")
    row = sup.locator("tr[data-agent='A1005']")
    assert row.locator(".grade").inner_text() == "C"
    assert "已确认" in row.inner_text()
    _shot(sup, "04-assessment")
    sup.goto("/review")
    _shot(sup, "05-review-queue")

    # the agent: only their own calls; appeal a finding
    agent, agent_errors = _page(browser, live_server)
    _login(agent, "a5")
    assert agent.url.endswith("/me")
    _shot(agent, "06-my-qa")
    agent.goto("/calls")
    assert "共 8 通" in agent.locator("#total").inner_text()
    ids = agent.locator("table.grid td:nth-child(2) .muted").all_inner_texts()
    assert ids and set(ids) == {"A1005"}
    resp = agent.goto("/calls/pub-001")  # another agent's call
    assert resp.status == 404 and "通话不存在或无权查看" in agent.content()
    agent.goto("/calls/pub-040")
    form = agent.locator("article.finding.redline form.appeal-form").first  # the PO04
    fid = form.get_attribute("data-appeal")
    form.locator("textarea").fill("客户要求转物业公司，我已给出工程部电话，不属于推诿")
    form.get_by_role("button", name="提交申诉").click()
    agent.wait_for_selector("#flash:not([hidden])")
    assert "申诉已提交" in agent.locator("#flash").inner_text()
    assert "待处理" in agent.locator(f"#finding-{fid}").inner_text()

    # the supervisor rejects the appeal (final)
    sup.goto("/appeals")
    appeal = sup.locator("article.appeal").first
    assert "不属于推诿" in appeal.inner_text()
    appeal.locator("textarea").fill("录音中客服说“这不归我们管”，未给出具体号码，维持")
    _shot(sup, "07-appeals")
    appeal.get_by_role("button", name="驳回（维持该项）").click()
    sup.wait_for_selector("#flash:not([hidden])")
    assert "已驳回" in sup.locator("#flash").inner_text()
    sup.goto("/appeals?state=rejected")
    assert "已驳回" in sup.locator("article.appeal").first.inner_text()
    agent.goto("/appeals")
    assert "已驳回" in agent.locator("article.appeal").first.inner_text()
    assert not sup_errors and not agent_errors, sup_errors + agent_errors


def test_keyboard_and_labels(browser, live_server):
    """Every form control has a label, and the skip link is the first stop of the tab order."""
    page, errors = _page(browser, live_server)
    _login(page, "sup")
    for path in ("/calls", "/calls/pub-020", "/assessments"):
        page.goto(path)
        unlabelled = page.evaluate("""() => [...document.querySelectorAll(
            'input:not([type=hidden]), select, textarea')].filter(e =>
            !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name)""")
        assert unlabelled == [], (path, unlabelled)
    page.goto("/calls")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到正文"
    assert not errors, errors


def test_export_shows_progress_and_downloads(browser, live_server):
    page, errors = _page(browser, live_server)
    _login(page, "sup")
    page.goto("/assessments?month=2026-11")
    with page.expect_download() as dl:
        page.get_by_role("button", name="导出 Excel").click()
    assert dl.value.suggested_filename == "月度考核-2026-11.xlsx"
    path = dl.value.path()
    assert path and os.path.getsize(path) > 1000
    _until(page, "document.getElementById('export-status').textContent"
                           ".includes('已导出')")
    assert not errors, errors


def test_upload_shows_progress_and_links_the_new_call(browser, live_server):
    page, errors = _page(browser, live_server)
    _login(page, "sup")
    page.goto("/calls")
    page.get_by_label("录音文件或转写 JSON").set_input_files(
        str(REPO / "tests" / "data" / "calls" / "pub-001.stereo.mp3"))
    page.get_by_label("客服工号").fill("A1001")
    page.get_by_role("button", name="上传并分析").click()
    link = page.locator("#upload-result a")
    link.wait_for()
    assert "排队" in page.locator("#upload-result").inner_text()
    link.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#analysis-progress").is_visible()  # queued: progress until analysed
    # a second upload of the same file is recognised
    page.goto("/calls")
    page.get_by_label("录音文件或转写 JSON").set_input_files(
        str(REPO / "tests" / "data" / "calls" / "pub-001.stereo.mp3"))
    page.get_by_role("button", name="上传并分析").click()
    _until(page, "document.getElementById('upload-result').textContent"
                           ".includes('重复')")
    assert not errors, errors


def test_pages_work_under_the_content_security_policy(browser, live_server):
    """Every page with its scripts, styles, charts and the player, and nothing refused."""
    page, errors = _page(browser, live_server)
    page.add_init_script("window.__csp = []; document.addEventListener("
                         "'securitypolicyviolation', e => window.__csp.push("
                         "e.violatedDirective + ' ' + e.blockedURI));")
    _login(page, "sup")
    for path in ("/dashboard", "/calls", "/calls/pub-003", "/review", "/appeals",
                 "/assessments?month=2026-11", "/account"):
        response = page.goto(path)
        page.wait_for_load_state("networkidle")
        assert response.headers["x-frame-options"] == "DENY", path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        assert page.evaluate("window.__csp") == [], (path, page.evaluate("window.__csp"))
    page.goto("/dashboard")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("Object.keys(Chart.instances).length") >= 3  # the charts were drawn
    page.goto("/calls/pub-003")
    page.wait_for_load_state("networkidle")
    # the timeline bars keep their inline positions
    assert page.locator("#timeline .seg").first.evaluate("e => e.style.left") != ""
    assert not errors, errors


def test_search_opens_the_call_at_the_hit(browser, live_server):
    sup, errors = _page(browser, live_server)
    _login(sup, "sup")
    box = sup.locator("form.topsearch input[name=q]")
    box.fill("九五折")
    box.press("Enter")
    sup.wait_for_selector("#hits .hit")
    assert sup.url.split("?")[0].endswith("/search")
    first = sup.locator("#hits .hit").first
    assert first.locator("mark").first.inner_text() == "九五折"
    _shot(sup, "09-search")
    first.locator("a.hit-link").click()
    sup.wait_for_selector("#player")
    assert "/calls/pub-003" in sup.url
    _until(sup, "document.getElementById('player').readyState >= 1")
    _until(sup, "Math.abs(document.getElementById('player').currentTime - 53.2) < 0.3")
    assert "focus" in sup.locator("#u6").get_attribute("class")
    assert not errors, errors

    agent, agent_errors = _page(browser, live_server)
    _login(agent, "a5")
    agent.goto("/calls")
    own = set(agent.eval_on_selector_all(
        "table.grid a[href^='/calls/']", "els => els.map(e => e.getAttribute('href').slice(7))"))
    agent.locator("form.topsearch input[name=q]").fill("您好")
    agent.locator("form.topsearch input[name=q]").press("Enter")
    agent.wait_for_selector("#hits .hit")
    found = set(agent.eval_on_selector_all("#hits .hit", "els => els.map(e => e.dataset.call)"))
    assert found and found <= own, found - own
    assert not agent_errors, agent_errors


def test_a_supervisor_names_and_merges_call_reason_topics(browser, live_server, ui_app):
    from datetime import datetime, timedelta

    from tests.api.test_api_topics import TZ, make_docs
    from tests.seeding import add_reason_calls
    docs, _ = make_docs({"leak": 10, "noise": 10, "fee": 10}, seed=4, prefix="t")
    with ui_app.state.sessions() as db:
        add_reason_calls(db, docs, [datetime(2027, 1, 11, 9, tzinfo=TZ) + timedelta(hours=i)
                                    for i in range(len(docs))])
        db.commit()
    sup, errors = _page(browser, live_server)
    _login(sup, "sup")
    sup.set_default_timeout(60_000)  # each page computes the week's topics (seconds)
    sup.goto("/topics?week=2027-W02")
    topics = sup.locator("#topics > li")
    n = topics.count()
    assert n >= 3
    first = topics.first
    first.locator("form.name-form input[name=name]").fill("漏水报修")
    first.locator("form.name-form button").click()
    _until(sup, "document.querySelector('#topics h2') && "
                "Array.from(document.querySelectorAll('#topics h2')).some("
                "h => h.textContent === '漏水报修')", 60)
    _shot(sup, "10-topics")
    boxes = sup.locator("#topics input[name=merge]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    sup.locator("#merge-name").fill("合并主题")
    sup.locator("form.merge-form button").click()
    _until(sup, f"document.querySelectorAll('#topics > li').length === {n - 1}", 60)
    assert "合并主题" in sup.locator("#topics").inner_text()
    assert not errors, errors


def test_an_agent_signs_a_scored_call(browser, live_server):
    agent, errors = _page(browser, live_server)
    _login(agent, "a5")
    agent.goto("/calls")
    agent.locator("table.grid a[href^='/calls/']").first.click()
    agent.wait_for_selector("form.ack-form")
    agent.locator("#ack-comment").fill("已知晓，下次注意")
    agent.locator("form.ack-form button").click()
    _until(agent, "document.querySelector('#ack .ok') !== null")
    assert "已知晓，下次注意" in agent.locator("#ack").inner_text()
    assert agent.locator("form.ack-form").count() == 0
    assert not errors, errors


def test_a_supervisor_records_the_call_back_of_a_case(browser, live_server):
    sup, errors = _page(browser, live_server)
    _login(sup, "sup")
    sup.goto("/calls/pub-001#case")
    sup.wait_for_selector("#case")
    sup.locator("[data-case-action=called_back]").click()
    _until(sup, "document.querySelector('[data-case-action=called_back]') === null")
    assert "已兑现" in sup.locator("#case").inner_text() or "回访" in sup.locator("#flash").inner_text()
    assert not errors, errors
