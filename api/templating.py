"""Templates, labels and formatting shared by the web pages: :func:`render` a page with the
common context (user, CSRF token, Chinese labels), the Jinja filters, and the rule catalogue's
Chinese titles and coaching hints."""
from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.security import is_supervisor
from classifiers.records import CALL_TYPE_ZH, COMPLAINT_TYPE_ZH

log = logging.getLogger("hotline_qa.api.templating")

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

CALL_TYPES = CALL_TYPE_ZH
COMPLAINT_TYPES = COMPLAINT_TYPE_ZH
CALL_STATUSES = {"queued": "排队中", "processing": "分析中", "done": "已完成", "failed": "失败",
                 "quarantined": "已隔离"}
FINDING_STATUSES = {"pass": "合格", "fail": "不合格", "n/a": "不适用"}
REVIEW_STATES = {"pending": "待复核", "upheld": "已维持", "overturned": "已推翻"}
CASE_STATES = {"open": "待处理", "in_progress": "处理中", "resolved": "已解决", "closed": "已结案"}
PROMISE_STATES = {"open": "未到期", "kept": "已兑现", "broken": "未兑现（言而无信）"}
CASE_LINKS = {"opened": "首次来电", "same_caller": "同一来电号码", "same_room": "同一房号",
              "callback": "回访"}
REVIEW_FILTERS = {"pending": "有待复核项", "reviewed": "已全部复核", "upheld": "有维持项",
                  "overturned": "有推翻项", "none": "无不合格项"}
APPEAL_STATES = {"open": "待处理", "accepted": "申诉成立", "rejected": "已驳回"}
RED_LINE_STATES = {"pending": "待确认", "confirmed": "已确认", "overturned": "已推翻"}
SPEAKERS = {"agent": "客服", "customer": "客户", "unknown": "未区分"}
ROLES = {"admin": "管理员", "supervisor": "质检主管", "agent": "客服人员"}
FOLLOW_UP = {"open": "待处理", "in_progress": "处理中", "resolved": "已解决"}
QUEUE_REASONS = {"red_line": "禁止行为（红线）", "low_confidence": "低置信度",
                 "speaker_uncertain": "说话人区分不确定",
                 "sample": "抽检（机器判为合格）"}


class LoginRequired(Exception):
    """An HTML page was requested without a valid session: redirect to the login page."""


class PasswordChangeRequired(Exception):
    """A user holding a one-time password asked for a page: send them to 修改密码 first."""


def local_tz(request: Request):
    from qa.assessment_store import local_tz as tz
    return tz(request.app.state.settings)


def fmt_time(value: Any, tz: Any = None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time (datetime or ISO text) as local wall-clock text; ``""`` for none."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    if tz is not None:
        value = value.astimezone(tz)
    return value.strftime(fmt)


def fmt_clock(seconds: Any) -> str:
    """Seconds as ``m:ss`` (``h:mm:ss`` past an hour)."""
    if seconds is None:
        return ""
    s = int(round(float(seconds)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def fmt_score(value: Any) -> str:
    return "—" if value is None else f"{float(value):.1f}"


def zh(message: str) -> str:
    """The Chinese part of a ``中文 / English`` service message."""
    return re.split(r"\s/\s", message or "", maxsplit=1)[0]


def rule_info() -> dict[str, dict[str, Any]]:
    """Per rule code: ``title`` (short Chinese name), ``summary``, ``hint`` (what the standard
    asks — the rule's first 正例), ``red_line``. Empty when the catalogue is unavailable."""
    global _RULES
    if _RULES is None:
        out: dict[str, dict[str, Any]] = {}
        try:
            from qa.rules import rule_classes
            for r in rule_classes():
                doc = r.doc().replace("``", "")
                summary = r.summary().replace("``", "")
                title = re.split(r"[：:，,。]", summary, maxsplit=1)[0]
                good = re.search(r"正例[：:]\s*(.+)", doc)
                out[r.code] = {"code": r.code, "name": r.name, "title": title[:16],
                               "summary": summary, "red_line": bool(r.red_line),
                               "hint": good.group(1).strip() if good else ""}
        except Exception as exc:  # noqa: BLE001 - pages still work without the catalogue
            log.warning("rule catalogue unavailable: %s", exc)
        _RULES = out
    return _RULES


_RULES: dict[str, dict[str, Any]] | None = None
_CUSTOM_TEXTS: dict[str, dict[str, str]] = {}


def custom_rule_info(request: Request) -> dict[str, dict[str, Any]]:
    """The supervisors' custom rules (规则工作室, codes ``X001``…) as :func:`rule_info` gives
    the built-in ones: ``title`` (the document's name), ``summary`` (its description, else its
    name), ``red_line``; from the active version of each code, else its latest. Empty when
    the tables are not there (a database before migration 0010)."""
    sessions = getattr(request.app.state, "sessions", None)
    if sessions is None:
        return {}
    try:
        from sqlalchemy import select

        from models import RuleDocument, RuleVersion
        with sessions() as db:
            rows = db.execute(select(RuleVersion.code, RuleVersion.version, RuleVersion.sha256,
                                     RuleVersion.name, RuleVersion.red_line,
                                     RuleDocument.active_version)
                              .join(RuleDocument, RuleDocument.code == RuleVersion.code)
                              .where(RuleDocument.kind == "custom")
                              .order_by(RuleVersion.code, RuleVersion.version)).all()
            chosen: dict[str, Any] = {}
            for r in rows:  # the active version wins, else the latest
                if r.active_version is None or r.version == r.active_version:
                    chosen[r.code] = r
            out = {}
            for code, r in chosen.items():
                texts = _CUSTOM_TEXTS.get(r.sha256)
                if texts is None:
                    texts = _custom_texts(db.scalar(select(RuleVersion.yaml_text).where(
                        RuleVersion.code == code, RuleVersion.version == r.version)) or "")
                    if len(_CUSTOM_TEXTS) > 500:
                        _CUSTOM_TEXTS.clear()
                    _CUSTOM_TEXTS[r.sha256] = texts
                out[code] = {"code": code, "name": r.name, "title": r.name or code,
                             "summary": texts["description"] or r.name,
                             "red_line": bool(r.red_line), "hint": "", "custom": True}
            return out
    except Exception as exc:  # noqa: BLE001 - pages still work without the custom names
        log.warning("custom rule names unavailable: %s", exc)
        return {}


def _custom_texts(text: str) -> dict[str, str]:
    import yaml
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None
    data = data if isinstance(data, dict) else {}
    return {k: data[k].strip() if isinstance(data.get(k), str) else ""
            for k in ("message", "description")}


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``templates/<name>`` with the common context (user, CSRF token, labels)."""
    user = getattr(request.state, "viewer", None)
    ctx = {"user": user, "csrf_token": getattr(request.state, "csrf_token", None) or "",
           "tz": local_tz(request), "rules": {**rule_info(), **custom_rule_info(request)},
           "CALL_TYPES": CALL_TYPES,
           "COMPLAINT_TYPES": COMPLAINT_TYPES, "CALL_STATUSES": CALL_STATUSES,
           "FINDING_STATUSES": FINDING_STATUSES, "REVIEW_STATES": REVIEW_STATES,
           "REVIEW_FILTERS": REVIEW_FILTERS, "APPEAL_STATES": APPEAL_STATES,
           "RED_LINE_STATES": RED_LINE_STATES, "SPEAKERS": SPEAKERS, "ROLES": ROLES,
           "FOLLOW_UP": FOLLOW_UP, "QUEUE_REASONS": QUEUE_REASONS, "CASE_STATES": CASE_STATES,
           "PROMISE_STATES": PROMISE_STATES, "CASE_LINKS": CASE_LINKS,
           "is_supervisor": bool(user and is_supervisor(user)), **context}
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


templates.env.filters.update(time=fmt_time, clock=fmt_clock, score=fmt_score, zh=zh)
templates.env.globals.update(quote=quote)
# Chinese names of the dialogue acts a finding can rest on (classifiers/acts.py).
from classifiers.acts import ACTS as _ACTS  # noqa: E402

templates.env.globals.update(ACT_NAMES={k: zh for k, (_, zh) in _ACTS.items()})
