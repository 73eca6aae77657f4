"""规则工作室 in a real headless Chromium: a supervisor writes X010 (on a leak call the agent
must say 二十四小时) partly in the form (the YAML pane follows), sees every problem of a bad
document listed next to the text, corrects it, saves it and dry-runs it on the stored calls;
activates it; a transcript uploaded on the call list and analysed by the workers gets
the X010 finding and its deduction, shown under the rule's own name on the call page and in
the agent's 我的质检."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.seeding import DATA

from .test_browser import CHROMIUM, _login, _page, _shot, _until, browser  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(),
                                 reason="/usr/bin/chromium is not installed")]

NAME = "漏水来电告知24小时报修电话"
MESSAGE = "漏水报修未告知24小时报修电话"


def _yaml(page) -> str:
    return page.locator("#yaml-text").input_value()


def _leak_call(tmp_path) -> str:
    """pub-015 (A1005's leak call, the agent never says 二十四小时) as a new transcript file."""
    truth = json.loads((DATA / "truth" / "pub-015.truth.json").read_text(encoding="utf-8"))
    started = (datetime.now(timezone(timedelta(hours=8))) - timedelta(hours=1)).replace(
        microsecond=0)
    doc = {"call_id": "x010-leak", "duration": truth["duration"],
           "metadata": {**truth["metadata"], "agent_id": "A1005",
                        "started_at": started.isoformat()},
           "utterances": truth["utterances"]}
    path = tmp_path / "漏水来电.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_a_supervisor_writes_dry_runs_and_activates_a_custom_rule(
        browser, live_server, ui_app, tmp_path):  # noqa: F811
    from api.templating import fmt_time
    from models import Call, Finding
    from qa.custom_rules import parse_document
    from qa.rule_store import dry_run
    from qa.worker import run_one

    sup, errors = _page(browser, live_server)
    _login(sup, "sup")
    sup.get_by_role("link", name="规则工作室").click()
    sup.wait_for_selector("#builtin-rules")
    sup.locator("#new-rule").click()
    sup.wait_for_selector("#passes-block li.cond-row")

    # the form: code, names, weight; the pass condition's phrases; a new applies-when row
    sup.get_by_label("规则编号").fill("X010")
    sup.get_by_label("中文名称").fill(NAME)
    sup.get_by_label("扣分提示").fill(MESSAGE)
    sup.get_by_label("扣分", exact=True).fill("5")
    passes = sup.locator("#passes-block li.cond-row").first
    passes.get_by_label("短语（每行一个）").fill("二十四小时\n24小时")
    sup.locator("#applies-block button.add-row").click()
    applies = sup.locator("#applies-block li.cond-row").first
    applies.get_by_label("短语（每行一个）").fill("漏水\n渗水\n滴水")
    applies.get_by_label("说话人").select_option("customer")
    text = _yaml(sup)
    for want in ("code: X010", f"name: {NAME}", f"message: {MESSAGE}", "weight: 5",
                 "applies_when:", "phrases: [漏水, 渗水, 滴水]", "speaker: customer",
                 "passes_when:", "phrases: [二十四小时, 24小时]", "speaker: agent"):
        assert want in text, (want, text)
    doc = parse_document(text)
    assert doc.code == "X010" and doc.name == NAME and doc.weight == 5
    # the form's "any" and "not": two pass rows, the second negated, combined with 任一满足
    sup.locator("#passes-block button.add-row").click()
    second = sup.locator("#passes-block li.cond-row").nth(1)
    second.get_by_label("条件类型").select_option("silence")
    second.get_by_label("静默至少（秒）").fill("30")
    second.get_by_label("不满足（取反）").check()
    sup.locator("#passes-block select.combine").select_option("any")
    text = _yaml(sup)
    assert "any:" in text and "- not:" in text and "min_seconds: 30" in text, text
    parse_document(text)
    second.get_by_role("button", name="删除此条件").click()
    assert "silence" not in _yaml(sup)
    _shot(sup, "20-rule-editor")

    # a bad document typed by hand: every problem listed next to the text, nothing lost
    bad = _yaml(sup).replace("weight: 5", "weight: 300").replace("speaker: customer",
                                                                  "speaker: boss")
    sup.locator("#yaml-text").fill(bad)
    _until(sup, "!document.getElementById('doc-errors').hidden")  # checked as it is typed
    assert sup.locator("#form-unavailable").is_visible()  # speaker boss: the form cannot show it
    sup.get_by_role("button", name="保存为新版本").click()
    sup.wait_for_load_state("networkidle")
    listed = sup.locator("#doc-error-list li").all_inner_texts()
    assert len(listed) == 2 and any(x.startswith("weight:") for x in listed), listed
    assert any("applies_when.phrase.speaker" in x for x in listed), listed
    assert _yaml(sup) == bad
    # corrected by hand: the form reads the text back
    sup.locator("#yaml-text").fill(bad.replace("speaker: boss", "speaker: customer"))
    _until(sup, "!document.getElementById('form-unavailable').hidden === false")
    _until(sup, "document.getElementById('f-weight').value === '300'")
    sup.get_by_label("扣分", exact=True).fill("5")  # and the form writes it again
    assert "weight: 5" in _yaml(sup)
    sup.get_by_label("本版说明（可选）").fill("漏水来电专项检查")
    sup.get_by_role("button", name="保存为新版本").click()
    sup.wait_for_url("**/rules/studio/X010?saved=1")
    assert "已保存为第 1 版" in sup.locator("#saved-notice").inner_text()
    assert "漏水来电专项检查" in sup.locator("#version-table").inner_text()
    saved = _yaml(sup)

    # dry run on the stored calls: the same figures as the service computes
    sup.get_by_role("button", name="试运行").click()
    _until(sup, "!document.getElementById('dry-run-result').hidden", 120)
    with ui_app.state.sessions() as db:
        want = dry_run(db, parse_document(saved), last_n=200,
                       settings=ui_app.state.settings)
    assert sup.locator("#dr-calls").inner_text() == str(want.calls) == "40"
    assert sup.locator("#dr-fail").inner_text() == str(want.counts["fail"])
    assert sup.locator("#dr-pass").inner_text() == str(want.counts["pass"])
    assert sup.locator("#dr-na").inner_text() == str(want.counts["n/a"])
    fails = {i.call_id for i in want.items if i.status == "fail"}
    assert "pub-015" in fails
    rows = sup.locator("#dr-fails tbody tr[data-call]")
    assert {r.get_attribute("data-call") for r in rows.all()} == fails
    row = sup.locator("#dr-fails tr[data-call='pub-015']")
    assert row.locator("a.dr-call").get_attribute("href") == "/calls/pub-015"
    item = next(i for i in want.items if i.call_id == "pub-015")
    assert row.locator("a.dr-call").inner_text() == fmt_time(
        item.started_at, ZoneInfo(ui_app.state.settings.timezone))  # as the pages show times
    ev = item.evidence[0]
    assert ev["text"] in row.inner_text()
    assert row.locator("ul.evidence a").first.get_attribute("href") == \
        f"/calls/pub-015?t={max(0.0, ev['start']):.1f}"
    assert "无法计算" in sup.locator("#dr-quality").inner_text()  # no reviewed X010 yet
    _shot(sup, "21-rule-dry-run")

    # the supervisor activates version 1
    admin = sup
    admin.goto("/rules/studio")
    admin.locator("#rule-docs a", has_text="X010").click()
    admin.wait_for_selector("#version-table")
    admin.once("dialog", lambda d: d.accept())
    admin.locator("#version-table button[data-activate='1']").click()
    _until(admin, "document.getElementById('flash').textContent.includes('已启用')")
    assert "生效：第 1 版" in admin.locator("#doc-state").inner_text()
    admin.goto("/rules/studio")
    assert "第 1 版" in admin.locator("#rule-docs tr[data-code='X010'] .active-version").inner_text()

    # a new call through the upload and the workers gets the finding and its deduction
    sup.goto("/calls")
    sup.get_by_label("录音文件或转写 JSON").set_input_files(_leak_call(tmp_path))
    sup.get_by_role("button", name="上传并分析").click()
    sup.locator("#upload-result a").wait_for()
    call_id = sup.locator("#upload-result a").inner_text()
    while run_one(ui_app.state.engine, "test:1", ui_app.state.settings) is not None:
        pass
    with ui_app.state.sessions() as db:
        call = db.get(Call, call_id)
        assert call.status == "done", call.error
        f = db.query(Finding).filter_by(call_id=call_id, code="X010").one()
        assert f.status == "fail" and f.deduction == 5 and f.message == MESSAGE
    sup.goto(f"/calls/{call_id}")
    card = sup.locator("article.finding", has_text="X010")
    assert NAME in card.locator("h3").inner_text() and MESSAGE in card.inner_text()
    assert "扣分 5" in card.inner_text()
    assert "−5" in sup.locator("tr", has_text="X010").first.inner_text()

    # the agent of that call sees the deduction in 我的质检
    agent, agent_errors = _page(browser, live_server)
    _login(agent, "a5")
    assert agent.url.endswith("/me")
    mine = agent.locator("article.finding", has_text="X010")
    assert mine.count() == 1
    assert NAME in mine.locator("h3").inner_text() and MESSAGE in mine.inner_text()
    _shot(agent, "22-me-custom-rule")
    r = agent.goto("/rules/studio")
    assert r.status == 403

    # the supervisor queues the re-scoring of a day of past calls for the workers
    admin.goto("/rules/studio")
    admin.get_by_label("开始日期").fill("2026-11-15")
    admin.get_by_label("结束日期").fill("2026-11-15")
    admin.once("dialog", lambda d: d.accept())
    admin.get_by_role("button", name="重新评分").click()
    _until(admin, "document.getElementById('rescore-result').textContent.includes('已排队')")
    with ui_app.state.sessions() as db:
        from models import Job
        queued = db.query(Job).filter_by(kind="reanalyze", state="queued").count()
    assert queued >= 1
    assert f"已排队重新评分 {queued} 通" in admin.locator("#rescore-result").inner_text()
    assert "X010:v1" in admin.locator("#rescore-result").inner_text()
    assert not errors and not agent_errors, errors + agent_errors


def test_a_supervisor_adds_a_phrase_to_a_built_in_rule_and_sees_precision_and_recall(
        browser, live_server, ui_app):  # noqa: F811
    from models import Finding
    from qa.configuration import _defaults
    from qa.custom_rules import parse_document
    from qa.rule_store import dry_run

    with ui_app.state.sessions() as db:  # supervisors' verdicts on two stored SV04 fails
        fails = db.query(Finding).filter_by(code="SV04", status="fail") \
            .order_by(Finding.call_id).all()
        assert len(fails) >= 2
        fails[0].review_state, fails[1].review_state = "upheld", "overturned"
        db.commit()
    sup, errors = _page(browser, live_server)
    _login(sup, "sup")
    sup.goto("/rules/studio")
    sup.locator("#builtin-rules tr[data-code='SV04'] a", has_text="修改短语/阈值").click()
    box = sup.locator("#override-settings textarea[data-setting='thanks_phrases']")
    box.wait_for()
    shipped = _defaults()["rules"]["SV04"]["thanks_phrases"]
    assert box.input_value().splitlines() == shipped  # the rule's current settings
    assert parse_document(_yaml(sup)).settings()["thanks_phrases"] == shipped
    box.fill(box.input_value() + "\n感谢您的耐心")
    text = _yaml(sup)
    assert text.startswith("override: SV04\n") and "add: [感谢您的耐心]" in text, text
    doc = parse_document(text)
    assert doc.settings()["thanks_phrases"] == [*shipped, "感谢您的耐心"]

    sup.get_by_role("button", name="试运行").click()
    _until(sup, "!document.getElementById('dry-run-result').hidden", 120)
    with ui_app.state.sessions() as db:
        want = dry_run(db, doc, last_n=200, settings=ui_app.state.settings)
    quality = sup.locator("#dr-quality").inner_text()
    assert want.verdicts["calls"] == 2 and "主管复核过 SV04 的 2 通" in quality, quality
    pct = lambda x: "—" if x is None else f"{x * 100:.1f}%"  # noqa: E731
    assert f"查准率 {pct(want.precision)}" in quality and f"查全率 {pct(want.recall)}" in quality
    verdicts = sup.locator("#dr-fails .badge, #dr-passes .badge").all_inner_texts()
    assert sorted(verdicts) == sorted(["维持不合格", "推翻（合格）"])

    sup.get_by_role("button", name="保存为新版本").click()
    sup.wait_for_url("**/rules/studio/SV04?saved=1")
    # every control of the editor has a label (the custom form with a row of each type too)
    unlabelled = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
        .map(e => e.outerHTML)"""
    assert sup.evaluate(unlabelled) == []
    sup.goto("/rules/studio/new")
    sup.wait_for_selector("#passes-block li.cond-row")
    kinds = sup.locator("#passes-block li.cond-row select.ctype option").all_inner_texts()
    assert len(kinds) == 10
    for i in range(10):
        sup.locator("#passes-block button.add-row").click()
        sup.locator("#passes-block li.cond-row").nth(i + 1).locator("select.ctype") \
            .select_option(index=i)
    assert sup.evaluate(unlabelled) == []
    text = _yaml(sup)
    for op in ("phrase:", "meaning:", "speaker:", "silence:", "speech_rate:", "talk_ratio:",
               "interruption:", "call_type:", "complaint_type:", "metadata:"):
        assert op in text, (op, text, errors)
    # the same text typed by hand is read back into the form, which writes it out unchanged
    by_hand = text.replace('name: ""', "name: 往返")
    sup.locator("#yaml-text").fill(by_hand)
    _until(sup, "document.getElementById('f-name').value === '往返'")
    assert sup.locator("#form-unavailable").is_hidden()
    assert sup.locator("#passes-block li.cond-row").count() == 11
    sup.get_by_label("扣分", exact=True).fill("6")
    assert _yaml(sup) == by_hand.replace("weight: 5", "weight: 6")
    sup.goto("/rules/studio")
    assert "有未启用的修改" in sup.locator("#builtin-rules tr[data-code='SV04']").inner_text()
    assert "修改内置规则" in sup.locator("#rule-docs tr[data-code='SV04']").inner_text()
    assert not errors, errors
