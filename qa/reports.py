"""Reports of the QA department: monthly assessment, weekly complaint report, complaint statistics.

* ``monthly_report`` — the monthly assessment per agent and per team (月度考核).
* ``weekly_complaint_report`` — complaints of one ISO week by type, follow-up status and
  resolution (standards 3.10.3 《客户服务部投诉处理周报》).
* ``complaint_statistics`` — complaints counted by type, scenario and estate (standards 3.7.2).

Each builds a :class:`ReportDocument` (titled tables with Chinese headers) from plain
:class:`~qa.assessment.CallOutcome` records; ``render(doc, "xlsx"|"csv"|"json")`` writes it.
Scenario (漏水, 电梯, 噪音 …) and estate come from the transcript with configurable keyword lists
(``qa/config/reports.yaml``; estates also from ``HOTLINE_QA_ESTATES``).

Example::

    doc = monthly_report("2026-11", calls)
    Path("2026-11.xlsx").write_bytes(render(doc, "xlsx"))
"""
from __future__ import annotations

import csv
import io
import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml

from classifiers.records import COMPLAINT_TYPE_ZH as _COMPLAINT_TYPE_ZH
from qa.assessment import (CallOutcome, Grading, MonthlyAssessment, assess_all, iso_week_range,
                           local_naive, month_of, parse_month, team_summaries)

log = logging.getLogger("hotline_qa.reports")

FORMATS = ("xlsx", "csv", "json")
CONFIG_PATH = Path(__file__).with_name("config") / "reports.yaml"

COMPLAINT_TYPE_ZH = {**_COMPLAINT_TYPE_ZH, None: "未分类"}
FOLLOW_UP_ZH = {"open": "待处理", "in_progress": "处理中", "resolved": "已解决", None: "待处理"}
FOLLOW_UP_STATUSES = ("open", "in_progress", "resolved")


class ReportConfigError(ValueError):
    """The report configuration (scenarios / estates) is malformed."""


@dataclass
class ReportConfig:
    """Keyword lists for scenario extraction and the estates the centre serves."""

    scenarios: dict[str, list[str]]
    estates: list[str]

    @classmethod
    def load(cls, path: Path | str | None = None, estates: Sequence[str] | None = None
             ) -> "ReportConfig":
        """Read a reports YAML (default: the shipped ``qa/config/reports.yaml``).

        Raises:
            ReportConfigError: the file is not a mapping with ``scenarios`` (name → list of
                keywords) and ``estates`` (list of names).
        """
        p = Path(path) if path else CONFIG_PATH
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ReportConfigError(f"无法读取报表配置 / cannot read {p}: {exc}") from None
        sc = data.get("scenarios") or {}
        if not isinstance(sc, dict) or not all(
                isinstance(v, list) and all(isinstance(k, str) and k for k in v)
                for v in sc.values()):
            raise ReportConfigError(f"{p}: 'scenarios' must map a name to a list of keywords")
        est = list(estates) if estates else data.get("estates") or []
        if not isinstance(est, list) or not all(isinstance(e, str) and e for e in est):
            raise ReportConfigError(f"{p}: 'estates' must be a list of names")
        return cls({str(k): list(v) for k, v in sc.items()}, est)


@lru_cache(maxsize=4)
def _default_config(path: str | None, estates: tuple[str, ...] | None) -> ReportConfig:
    return ReportConfig.load(path, estates)


def default_config(settings=None) -> ReportConfig:
    """The configuration from ``settings`` (default: the environment's;
    ``HOTLINE_QA_REPORTS_CONFIG``, ``HOTLINE_QA_ESTATES``)."""
    from qa.settings import get_settings
    s = settings or get_settings()
    path = s.reports_config
    return _default_config(str(path) if path else None, tuple(s.estate_names()) or None)


def _customer_text(transcript: Any) -> tuple[str, str]:
    utts = transcript.utterances if hasattr(transcript, "utterances") else transcript.get(
        "utterances", [])

    def get(u: Any, k: str) -> Any:
        return getattr(u, k) if hasattr(u, k) else u.get(k)

    customer = "".join(str(get(u, "text")) for u in utts if get(u, "speaker") != "agent")
    everything = "".join(str(get(u, "text")) for u in utts)
    return customer, everything


def extract_scenario(transcript: Any, config: ReportConfig | None = None) -> str | None:
    """The complaint scenario (漏水, 电梯, 噪音 …) named most by the caller, or ``None``.

    ``transcript`` is a :class:`~transcribe.records.Transcript` or its dict. Keywords are
    counted in the customer's words (all words when the parties are not separated).
    """
    config = config or default_config()
    customer, everything = _customer_text(transcript)
    text = customer or everything
    best, hits = None, 0
    for name, words in config.scenarios.items():
        n = sum(text.count(w) for w in words)
        if n > hits:
            best, hits = name, n
    return best


def extract_estate(transcript: Any, config: ReportConfig | None = None) -> str | None:
    """The first configured estate named anywhere in the call (or in its metadata
    ``estate``), or ``None``."""
    config = config or default_config()
    meta = getattr(transcript, "metadata", None)
    if meta is None and isinstance(transcript, Mapping):
        meta = transcript.get("metadata")
    if meta and meta.get("estate"):
        return str(meta["estate"])
    _, everything = _customer_text(transcript)
    first, pos = None, len(everything) + 1
    for e in config.estates:
        i = everything.find(e)
        if 0 <= i < pos:
            first, pos = e, i
    return first


# --- documents --------------------------------------------------------------------------------

@dataclass
class Table:
    """A titled table: ``columns`` are ``(key, 中文表头)`` pairs, rows are dicts by key."""

    title: str
    columns: list[tuple[str, str]]
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ReportDocument:
    name: str
    title: str
    tables: list[Table]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, **self.meta,
                "tables": [{"title": t.title, "columns": [k for k, _ in t.columns],
                            "headers": [h for _, h in t.columns],
                            "rows": [{k: _plain(r.get(k)) for k, _ in t.columns}
                                     for r in t.rows]} for t in self.tables]}


def _plain(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    return v


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x * 100:.1f}%"


AGENT_COLUMNS = [("agent_id", "工号"), ("agent_name", "姓名"), ("team", "班组"),
                 ("calls", "通话数"), ("average_score", "平均分"), ("grade", "考核等级"),
                 ("grade_by_score", "按分数等级"), ("red_lines_confirmed", "禁止行为(已确认)"),
                 ("red_lines_pending", "禁止行为(待定)"), ("red_lines_overturned", "禁止行为(已推翻)"),
                 ("pending_reviews", "待复核"), ("top_fails", "主要失分项"), ("closed", "已关账")]
TEAM_COLUMNS = [("team", "班组"), ("agents", "人数"), ("calls", "通话数"),
                ("average_score", "平均分"), ("A", "A"), ("B", "B"), ("C", "C"),
                ("red_lines_confirmed", "禁止行为(已确认)"), ("red_lines_pending", "禁止行为(待定)")]
RATE_COLUMNS = [("agent_id", "工号"), ("code", "规则"), ("applicable", "适用通话"),
                ("failed", "不合格"), ("rate", "不合格率")]


def _top_fails(a: MonthlyAssessment, n: int = 3) -> str:
    worst = sorted(((v["rate"], k) for k, v in a.fail_rates.items() if v["failed"]),
                   reverse=True)[:n]
    return "、".join(f"{k} {_pct(r)}" for r, k in worst)


def monthly_report(month: str, calls: Iterable[CallOutcome], *, grading: Grading | None = None,
                   now: datetime | None = None, closed_agents: Iterable[str] = (),
                   assessments: list[MonthlyAssessment] | None = None) -> ReportDocument:
    """The monthly assessment per agent, per team, and per-rule fail rates.

    Raises:
        ValueError: bad month.
    """
    parse_month(month)
    if assessments is None:
        assessments = assess_all(month, calls, grading=grading, now=now,
                                 closed_agents=closed_agents)
    agents = Table("客服人员月度考核", AGENT_COLUMNS, [
        {"agent_id": a.agent_id, "agent_name": a.agent_name or "", "team": a.team or "",
         "calls": a.calls, "average_score": a.average_score, "grade": a.grade or "",
         "grade_by_score": a.grade_by_score or "",
         "red_lines_confirmed": a.red_lines_confirmed, "red_lines_pending": a.red_lines_pending,
         "red_lines_overturned": a.red_lines_overturned, "pending_reviews": a.pending_reviews,
         "top_fails": _top_fails(a), "closed": "是" if a.closed else "否"}
        for a in assessments])
    teams = Table("班组汇总", TEAM_COLUMNS, [
        {"team": t.team, "agents": t.agents, "calls": t.calls, "average_score": t.average_score,
         **t.grades, "red_lines_confirmed": t.red_lines_confirmed,
         "red_lines_pending": t.red_lines_pending} for t in team_summaries(assessments)])
    rates = Table("规则不合格率", RATE_COLUMNS, [
        {"agent_id": a.agent_id, "code": code, **v} for a in assessments
        for code, v in a.fail_rates.items()])
    return ReportDocument("monthly", f"{month} 月度质检考核", [agents, teams, rates],
                          {"month": month})


COMPLAINT_COLUMNS = [("call_id", "通话编号"), ("started_at", "来电时间"), ("agent_id", "工号"),
                     ("caller_number", "来电号码"), ("estate", "小区"), ("scenario", "场景"),
                     ("complaint_type", "投诉类型"), ("follow_up_status", "跟进状态"),
                     ("resolved", "是否解决"), ("score", "质检得分")]


def _complaint_row(c: CallOutcome) -> dict[str, Any]:
    status = c.follow_up_status or "open"
    return {"call_id": c.call_id, "started_at": local_naive(c.started_at),
            "agent_id": c.agent_id or "", "caller_number": c.caller_number or "",
            "estate": c.estate or "未识别", "scenario": c.scenario or "未识别",
            "complaint_type": COMPLAINT_TYPE_ZH.get(c.complaint_type, c.complaint_type),
            "follow_up_status": FOLLOW_UP_ZH.get(status, status),
            "resolved": "是" if status == "resolved" else "否", "score": c.score}


def _count_table(title: str, key_header: str, counter: Counter, total: int) -> Table:
    return Table(title, [("key", key_header), ("count", "数量"), ("share", "占比")],
                 [{"key": k, "count": n, "share": _pct(n / total if total else None)}
                  for k, n in counter.most_common()])


def weekly_complaint_report(week: str, calls: Iterable[CallOutcome]) -> ReportDocument:
    """《客户服务部投诉处理周报》: the complaints of ISO week ``week`` (``YYYY-Www``) by type,
    follow-up status and resolution, with the list of complaints.

    Raises:
        ValueError: bad week.
    """
    monday, next_monday = iso_week_range(week)
    items = sorted((c for c in calls if c.call_type == "complaint" and c.started_at
                    and monday <= local_naive(c.started_at).date() < next_monday),
                   key=lambda c: local_naive(c.started_at))
    total = len(items)
    resolved = sum(c.follow_up_status == "resolved" for c in items)
    summary = Table("本周概况", [("item", "项目"), ("value", "数值")], [
        {"item": "周次", "value": f"{week}（{monday:%Y-%m-%d} 至 "
                                  f"{next_monday - timedelta(days=1):%Y-%m-%d}）"},
        {"item": "投诉总数", "value": total},
        {"item": "已解决", "value": resolved},
        {"item": "未解决", "value": total - resolved},
        {"item": "解决率", "value": _pct(resolved / total if total else None)}])
    by_type = _count_table("按投诉类型", "投诉类型", Counter(
        COMPLAINT_TYPE_ZH.get(c.complaint_type, c.complaint_type) for c in items), total)
    by_status = _count_table("按跟进状态", "跟进状态", Counter(
        FOLLOW_UP_ZH.get(c.follow_up_status or "open") for c in items), total)
    listing = Table("投诉明细", COMPLAINT_COLUMNS, [_complaint_row(c) for c in items])
    return ReportDocument("weekly", f"客户服务部投诉处理周报 {week}",
                          [summary, by_type, by_status, listing],
                          {"week": week, "from": monday.isoformat(),
                           "to": next_monday.isoformat()})


def complaint_statistics(month: str, calls: Iterable[CallOutcome]) -> ReportDocument:
    """Complaint statistics of a month by type, scenario and estate (standards 3.7.2), plus the
    scenario × estate cross-table and the list of complaints.

    Raises:
        ValueError: bad month.
    """
    parse_month(month)
    items = [c for c in calls if c.call_type == "complaint" and c.started_at
             and month_of(local_naive(c.started_at)) == month]
    items.sort(key=lambda c: local_naive(c.started_at))
    total = len(items)
    tables = [
        _count_table("按投诉类型", "投诉类型", Counter(
            COMPLAINT_TYPE_ZH.get(c.complaint_type, c.complaint_type) for c in items), total),
        _count_table("按场景", "场景", Counter(c.scenario or "未识别" for c in items), total),
        _count_table("按小区", "小区", Counter(c.estate or "未识别" for c in items), total),
    ]
    cross: dict[str, Counter] = defaultdict(Counter)
    estates = sorted({c.estate or "未识别" for c in items})
    for c in items:
        cross[c.scenario or "未识别"][c.estate or "未识别"] += 1
    tables.append(Table("场景 × 小区", [("scenario", "场景")] + [(e, e) for e in estates]
                        + [("total", "合计")],
                        [{"scenario": s, **{e: cnt.get(e, 0) for e in estates},
                          "total": sum(cnt.values())} for s, cnt in sorted(cross.items())]))
    tables.append(Table("投诉明细", COMPLAINT_COLUMNS, [_complaint_row(c) for c in items]))
    return ReportDocument("complaints", f"{month} 投诉分类统计", tables,
                          {"month": month, "complaints": total})


# --- writers ----------------------------------------------------------------------------------

def render(doc: ReportDocument, fmt: str) -> bytes:
    """Write a report as ``xlsx`` (one sheet per table, formatted), ``csv`` (UTF-8 with BOM so
    Excel reads the Chinese; tables one after another, each under its title) or ``json``.

    Raises:
        ValueError: unknown format.
    """
    if fmt == "json":
        return json.dumps(doc.to_dict(), ensure_ascii=False, indent=2).encode("utf-8")
    if fmt == "csv":
        return to_csv(doc).encode("utf-8-sig")
    if fmt == "xlsx":
        return to_xlsx(doc)
    raise ValueError(f"不支持的格式 / unsupported format {fmt!r}; use one of {', '.join(FORMATS)}")


def to_csv(doc: ReportDocument) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([doc.title])
    for t in doc.tables:
        w.writerow([])
        w.writerow([t.title])
        w.writerow([h for _, h in t.columns])
        for r in t.rows:
            w.writerow(["" if r.get(k) is None else _plain(r.get(k)) for k, _ in t.columns])
    return buf.getvalue()


def to_xlsx(doc: ReportDocument) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", fgColor="1F4E78")
    thin = Side(style="thin", color="BFBFBF")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    used: set[str] = set()
    for t in doc.tables:
        name = t.title.replace("×", "x")[:31]
        for bad in "[]:*?/\\":
            name = name.replace(bad, " ")
        while name in used:
            name = name[:28] + f"_{len(used)}"
        used.add(name)
        ws = wb.create_sheet(name)
        ws.append([doc.title])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append([h for _, h in t.columns])
        for cell in ws[2]:
            cell.font, cell.fill, cell.border = head_font, head_fill, border
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for r in t.rows:
            ws.append([r.get(k) for k, _ in t.columns])
        for row in ws.iter_rows(min_row=3):
            for cell in row:
                cell.border = border
                if isinstance(cell.value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(cell.value, float):
                    cell.number_format = "0.00"
        for i, (k, h) in enumerate(t.columns, start=1):
            values = [h] + [str(_plain(r.get(k)) or "") for r in t.rows]
            width = max(_display_width(v) for v in values)
            ws.column_dimensions[get_column_letter(i)].width = min(60, max(8, width + 2))
        ws.freeze_panes = "A3"
        if t.rows:
            ws.auto_filter.ref = f"A2:{get_column_letter(len(t.columns))}{len(t.rows) + 2}"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _display_width(s: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)
