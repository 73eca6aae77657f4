"""规则工作室 pages (issue #16): supervisors' and admins' rule documents in the web interface.

* ``/rules/studio``: the rule documents (custom codes and overrides of built-in rules) with
  their active and latest versions, and the built-in catalogue, each rule with 修改短语/阈值
  (an ``override:`` document prefilled from its current settings); admins re-score past calls.
* ``/rules/studio/new`` (``?override=SV04``) and ``/rules/studio/{code}``: the editor, a form
  kept in step with the YAML text beside it (``api/static/rule_studio.js``), the dry run on
  stored calls, the version history, and (admins) 启用 / 停用 a version.
* ``POST /rules/studio/save``: save the text as a new version (an ordinary form post: the
  page comes back with every problem of the document listed and the text kept).
* ``POST /rules/studio/check``: the text parsed for the form (JSON; nothing saved).

Agents get 403 on every one of them. Saving, the dry run, activation and re-scoring go
through :mod:`api.services.rule_studio` (the dry run, activation and re-scoring through its
JSON API, ``/api/v1/rule-documents``), so the permissions live there too.
"""
from __future__ import annotations

import copy
import json
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Body, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from api.deps import SessionDep, client_ip
from api.routes.pages import SupervisorPage
from api.security import csrf_matches, is_supervisor
from api.services import rule_studio as svc
from api.services.errors import Forbidden, InvalidFields, NotFound, ServiceError
from api.templating import render, rule_info
from models import RuleDocument, RuleVersion, User

router = APIRouter(include_in_schema=False)
MAX_TEXT = 100_000
CONDITION_NAMES = {"phrase": "说了某些话（短语）", "meaning": "话的意思（例句）",
                   "speaker": "某方说话", "silence": "冷场（静默）", "speech_rate": "语速",
                   "talk_ratio": "说话时间占比", "interruption": "打断对方",
                   "call_type": "来电类型", "complaint_type": "投诉类型",
                   "metadata": "通话元数据"}


# --- what the pages show -------------------------------------------------------------------------

def builtin_settings(code: str) -> dict[str, Any]:
    """The shipped settings of a built-in rule (``qa/config/rules.yaml``, phrase lists as
    written, ``@name`` shared lists unresolved)."""
    from qa.configuration import _defaults
    return copy.deepcopy((_defaults().get("rules") or {}).get(code) or {})


def effective_settings(db, code: str) -> tuple[dict[str, Any], int | None]:
    """A built-in rule's settings as the analysis runs them now: the shipped values with the
    active override version's changes; and that version (``None``: no active override)."""
    from qa.custom_rules import RuleDocumentError, parse_document
    base = builtin_settings(code)
    row = db.get(RuleDocument, code)
    if row is None or row.active_version is None or row.kind != "override":
        return base, None
    v = db.scalar(select(RuleVersion).where(RuleVersion.code == code,
                                            RuleVersion.version == row.active_version))
    try:
        base.update(parse_document(v.yaml_text).settings())
    except (RuleDocumentError, AttributeError):
        return base, None
    return base, row.active_version


def _flow(value: Any) -> str:
    """One value on one line (a list in brackets)."""
    text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=10_000)
    return text.removesuffix("\n...\n").strip()


def override_template(code: str, current: dict[str, Any]) -> str:
    """The starting text of an override of ``code``: every setting with its current value
    (a list given in full replaces the shipped one; a number replaces it)."""
    from qa.rules import rule_class
    cls = rule_class(code)
    lines = [f"# 修改内置规则 {code}（{rule_info().get(code, {}).get('title', cls.name)}）的短语和阈值。",
             "# 列出的设置替换内置值；短语列表也可写成 {add: [...], remove: [...]}，只增删几条。",
             f"override: {code}", "settings:"]
    from qa.custom_rules import RuleDocumentError, parse_document
    for k, v in current.items():
        try:  # a shipped value the document format refuses (a negative level) stays a comment
            parse_document({"override": code, "settings": {k: v}})
        except RuleDocumentError:
            lines.append(f"  # {k}: {_flow(v)}  （内置值；规则文档暂不能修改此设置）")
            continue
        lines.append(f"  {k}: {_flow(v)}")
    return "\n".join(lines) + "\n"


def next_custom_code(db) -> str:
    used = set(db.scalars(select(RuleDocument.code).where(RuleDocument.kind == "custom")))
    return next((f"X{i:03d}" for i in range(1, 1000) if f"X{i:03d}" not in used), "X999")


def custom_template(code: str) -> str:
    return (f"code: {code}\nname: ''\nmessage: ''\nweight: 5\nred_line: false\n"
            "passes_when:\n  phrase: {phrases: [], speaker: agent}\n")


def _changes(db) -> dict[str, dict[str, Any]]:
    """Per code, who saved its latest version and when."""
    rows = db.execute(select(RuleVersion.code, RuleVersion.version, RuleVersion.created_at,
                             User.username, User.display_name)
                      .outerjoin(User, User.id == RuleVersion.created_by)
                      .order_by(RuleVersion.code, RuleVersion.version)).all()
    return {r[0]: {"version": r[1], "at": r[2], "by": r[4] or r[3] or "—"} for r in rows}


def page_data(db, kind: str, code: str, data: Any, timezone: str) -> dict[str, Any]:
    """What the editor's script needs: the document as parsed, the built-in settings of an
    override's rule, the names of the choices."""
    from classifiers.acts import ACTS
    from qa.configuration import _defaults
    from api.templating import CALL_TYPES, COMPLAINT_TYPES
    out = {"kind": kind, "code": code, "data": data, "conditions": CONDITION_NAMES,
           "timezone": timezone,
           "acts": {k: z for k, (_, z) in ACTS.items()}, "call_types": CALL_TYPES,
           "complaint_types": COMPLAINT_TYPES,
           "shared_lists": sorted((_defaults().get("phrases") or {}))}
    if kind == "override":
        out["defaults"] = builtin_settings(code)
    return out


def _parse_data(text: str) -> Any:
    """The YAML as plain JSON values (dates as text); ``None`` when it is not YAML."""
    try:
        return json.loads(json.dumps(yaml.safe_load(text), ensure_ascii=False, default=str))
    except (yaml.YAMLError, ValueError, TypeError, RecursionError):
        return None


def _kind_of(data: Any, fallback: str) -> tuple[str, str]:
    from qa.rules import rule_class
    if isinstance(data, dict) and "override" in data:
        try:
            return "override", rule_class(str(data["override"])).code
        except KeyError:
            return "override", ""
    if isinstance(data, dict):
        return "custom", str(data.get("code") or "")
    return fallback, ""


# --- pages ---------------------------------------------------------------------------------------

@router.get("/rules/studio")
def studio_page(request: Request, user: SupervisorPage, db: SessionDep) -> Response:
    """规则工作室: rule documents and the built-in catalogue."""
    from qa.rules import rule_classes
    docs = svc.list_documents(db)
    changes = _changes(db)
    by_code = {d["code"]: d for d in docs}
    info = rule_info()
    builtin = [{"code": r.code, "title": info.get(r.code, {}).get("title", r.name),
                "summary": info.get(r.code, {}).get("summary", ""), "red_line": r.red_line,
                "settings": len(builtin_settings(r.code)), "doc": by_code.get(r.code)}
               for r in rule_classes()]
    return render(request, "rule_studio.html", title="规则工作室", nav="rule_studio",
                  docs=docs, changes=changes, builtin=builtin,
                  may_activate=is_supervisor(user))


def _editor(request: Request, user: User, db, *, text: str, kind: str, code: str,
            document: dict[str, Any] | None = None, errors: list[str] | None = None,
            comment: str = "", status_code: int = 200, notice: str | None = None,
            shown_version: int | None = None) -> Response:
    data = _parse_data(text)
    k, c = _kind_of(data, kind)
    kind, code = k, c or code
    title = f"规则工作室 · {code}" if code else "规则工作室 · 新规则"
    return render(request, "rule_editor.html", status_code=status_code, title=title,
                  nav="rule_studio", text=text, kind=kind, code=code, document=document,
                  errors=errors or [], comment=comment, notice=notice,
                  shown_version=shown_version, may_activate=is_supervisor(user),
                  studio=page_data(db, kind, code, data,
                                   request.app.state.settings.timezone))


@router.get("/rules/studio/new")
def new_rule_page(request: Request, user: SupervisorPage, db: SessionDep,
                  override: Annotated[str | None, Query(max_length=16)] = None) -> Response:
    """The editor with a new custom rule, or (``override=SV04``) an override of a built-in
    rule prefilled with its current settings (the active override's text when there is one)."""
    if override:
        from qa.rules import rule_class
        try:
            code = rule_class(override).code
        except KeyError:
            raise NotFound("没有这条内置规则") from None
        if not builtin_settings(code):
            raise NotFound(f"{code} 没有可修改的短语或阈值")
        existing = db.get(RuleDocument, code)
        if existing is not None:  # edit the existing document (its latest text)
            return RedirectResponse(f"/rules/studio/{code}", status_code=303)
        current, _ = effective_settings(db, code)
        return _editor(request, user, db, text=override_template(code, current),
                       kind="override", code=code)
    code = next_custom_code(db)
    return _editor(request, user, db, text=custom_template(code), kind="custom", code=code)


@router.get("/rules/studio/{code}")
def edit_rule_page(code: str, request: Request, user: SupervisorPage, db: SessionDep,
                   version: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
                   saved: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None
                   ) -> Response:
    """A saved document in the editor: its latest version (or ``version``), the history."""
    if len(code) > 16:
        raise NotFound(svc.NOT_FOUND)
    document = svc.get_document(db, code)
    versions = document["versions"]
    shown = next((v for v in versions if v["version"] == version), None) if version \
        else (versions[-1] if versions else None)
    if shown is None:
        raise NotFound(f"{code} 没有第 {version} 版")
    notice = f"已保存为第 {saved} 版（尚未启用）" if saved else None
    return _editor(request, user, db, text=shown["yaml_text"] or "", kind=document["kind"],
                   code=code, document=document, notice=notice,
                   shown_version=shown["version"])


@router.post("/rules/studio/save")
def save_rule(request: Request, user: SupervisorPage, db: SessionDep,
              yaml_text: Annotated[str, Form(max_length=MAX_TEXT)] = "",
              comment: Annotated[str, Form(max_length=500)] = "",
              kind: Annotated[str, Form(max_length=16)] = "custom",
              code: Annotated[str, Form(max_length=16)] = "",
              csrf_token: Annotated[str, Form()] = "") -> Response:
    """Save the text as the next version of its code; an improper document comes back in the
    editor with every problem listed and the text as it was typed."""
    if not csrf_matches(request.state.csrf_token, csrf_token):
        raise Forbidden("请求已失效，请刷新页面后重试")
    if not yaml_text.strip():
        return _editor(request, user, db, text=yaml_text, kind=kind, code=code,
                       errors=["文档: 规则文档为空 / empty document"], comment=comment,
                       status_code=422)
    try:
        out = svc.save_version(db, user, yaml_text, comment.strip() or None, client_ip(request))
    except InvalidFields as exc:
        db.rollback()
        errors = [f["message"] for f in exc.fields]
        return _editor(request, user, db, text=yaml_text, kind=kind, code=code, errors=errors,
                       comment=comment, status_code=422,
                       document=_existing(db, code))
    except ServiceError as exc:  # the same text as the latest version
        db.rollback()
        return _editor(request, user, db, text=yaml_text, kind=kind, code=code,
                       errors=[exc.message], comment=comment, status_code=exc.status_code,
                       document=_existing(db, code))
    db.commit()
    return RedirectResponse(f"/rules/studio/{out['code']}?saved={out['latest_version']}",
                            status_code=303)


def _existing(db, code: str) -> dict[str, Any] | None:
    try:
        return svc.get_document(db, code) if code else None
    except NotFound:
        return None


@router.post("/rules/studio/check")
def check_rule(request: Request, user: SupervisorPage, db: SessionDep,
               body: Annotated[dict[str, Any], Body()]) -> Response:
    """The text as the editor's form reads it (``data``: the YAML parsed, ``None`` when it is
    not YAML), its kind and code, the built-in settings of an override's rule, and every
    problem :func:`qa.custom_rules.parse_document` finds (``errors``). Nothing is saved."""
    if not csrf_matches(request.state.csrf_token, request.headers.get("X-CSRF-Token")):
        raise Forbidden("请求已失效，请刷新页面后重试")
    text = body.get("yaml_text")
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        return JSONResponse({"detail": "yaml_text：应为不超过 100000 字的文字"}, status_code=422)
    from qa.custom_rules import RuleDocumentError, parse_document
    data = _parse_data(text)
    kind, code = _kind_of(data, "custom")
    errors: list[str] = []
    try:
        parse_document(text)
    except RuleDocumentError as exc:
        errors = list(exc.errors)
    return JSONResponse({"kind": kind, "code": code,
                         "data": data if isinstance(data, dict) else None,
                         "defaults": builtin_settings(code) if kind == "override" and code
                         else None, "errors": errors},
                        headers={"Cache-Control": "no-store"})

