"""Reports: scenario/estate extraction, monthly/weekly/complaint documents, xlsx/csv/json."""
from __future__ import annotations

import io
import json
from datetime import datetime

import pytest
from openpyxl import load_workbook

from qa.assessment import CallOutcome, FindingOutcome
from qa.reports import (ReportConfig, ReportConfigError, complaint_statistics, extract_estate,
                        extract_scenario, monthly_report, render, weekly_complaint_report)
from transcribe.records import Transcript


def _truth(data_dir, cid):
    return json.loads((data_dir / "truth" / f"{cid}.truth.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("cid,scenario", [("pub-001", "漏水"), ("pub-002", "电梯"),
                                          ("pub-007", "噪音"), ("pub-017", "卫生保洁")])
def test_scenario_from_truth(data_dir, cid, scenario):
    t = Transcript.from_dict({k: v for k, v in _truth(data_dir, cid).items()
                              if k in ("call_id", "duration", "metadata", "utterances")})
    assert extract_scenario(t) == scenario


def test_estate_configurable(data_dir):
    d = _truth(data_dir, "pub-001")
    assert extract_estate(d) == "阳光花园"
    cfg = ReportConfig({"x": ["漏水"]}, ["不存在的小区"])
    assert extract_estate(d, cfg) is None
    assert extract_scenario({"utterances": [{"speaker": "customer", "text": "你好"}]}) is None


def test_bad_config(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("scenarios: [1, 2]\n", encoding="utf-8")
    with pytest.raises(ReportConfigError, match="scenarios"):
        ReportConfig.load(p)


def _calls():
    return [
        CallOutcome("c1", "A1", datetime(2026, 11, 16, 9), 92, call_type="complaint",
                    complaint_type="vent", scenario="电梯", estate="翠湖苑",
                    follow_up_status="resolved", team="一班", agent_name="张三"),
        CallOutcome("c2", "A1", datetime(2026, 11, 18, 9), 60,
                    [FindingOutcome("PO03", "fail", 20, review_state="upheld")],
                    call_type="complaint", complaint_type="resolve", scenario="漏水",
                    estate="翠湖苑", team="一班"),
        CallOutcome("c3", "A2", datetime(2026, 11, 3, 9), 88, call_type="repair", team="二班"),
    ]


def test_monthly_report_and_formats():
    doc = monthly_report("2026-11", _calls())
    agents = doc.tables[0].rows
    assert [(r["agent_id"], r["grade"]) for r in agents] == [("A1", "C"), ("A2", "B")]
    assert agents[0]["red_lines_confirmed"] == 1 and agents[0]["agent_name"] == "张三"
    wb = load_workbook(io.BytesIO(render(doc, "xlsx")))
    ws = wb[wb.sheetnames[0]]
    assert ws["A2"].value == "工号" and ws["F2"].value == "考核等级"
    assert ws["A2"].font.bold and ws.freeze_panes == "A3"
    csv_text = render(doc, "csv").decode("utf-8-sig")
    assert "客服人员月度考核" in csv_text and "A1" in csv_text
    js = json.loads(render(doc, "json"))
    assert js["month"] == "2026-11" and js["tables"][0]["rows"][0]["grade"] == "C"
    with pytest.raises(ValueError, match="unsupported"):
        render(doc, "pdf")


def test_weekly_complaint_report():
    doc = weekly_complaint_report("2026-W47", _calls())  # 2026-11-16 .. 2026-11-22
    summary = {r["item"]: r["value"] for r in doc.tables[0].rows}
    assert summary["投诉总数"] == 2 and summary["已解决"] == 1 and summary["解决率"] == "50.0%"
    listing = doc.tables[-1].rows
    assert [r["call_id"] for r in listing] == ["c1", "c2"]
    assert listing[1]["follow_up_status"] == "待处理"
    assert weekly_complaint_report("2026-W46", _calls()).tables[0].rows[1]["value"] == 0


def test_complaint_statistics():
    doc = complaint_statistics("2026-11", _calls())
    by_scenario = {r["key"]: r["count"] for r in doc.tables[1].rows}
    assert by_scenario == {"电梯": 1, "漏水": 1}
    assert {r["key"]: r["count"] for r in doc.tables[2].rows} == {"翠湖苑": 2}
    cross = doc.tables[3].rows
    assert sum(r["total"] for r in cross) == 2
    load_workbook(io.BytesIO(render(doc, "xlsx")))  # valid workbook
