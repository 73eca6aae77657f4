"""The rule studio (规则工作室): supervisors write their own checks as rule documents
(:mod:`qa.custom_rules`), saved as numbered versions, try them on past calls (dry run), switch a version on or off and re-score past calls with the
active rules.

Who may do what: supervisors and admins list, read, save versions, dry-run, activate,
deactivate and re-score (agents nothing). Every change
is in the audit log (``rule.version``, ``rule.activate``, ``rule.deactivate``,
``rule.rescore``).

The database side the workers share (the active rule set, the dry run, queueing the
re-analysis) is :mod:`qa.rule_store`.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from api.security import is_supervisor
from api.services.audit import audit
from api.services.errors import Conflict, Forbidden, Invalid, InvalidFields, NotFound
from models import RuleDocument, RuleVersion, User, utcnow
from qa import rule_store
from qa.rule_store import DryRun, active_rule_set
from qa.settings import Settings

log = logging.getLogger("hotline_qa.api.rule_studio")

__all__ = ["activate", "active_rule_set", "deactivate", "dry_run", "get_document",
           "list_documents", "parse", "rescore", "save_version"]

NOT_FOUND = "规则文档不存在 / rule document not found"
INVALID = "规则文档有误 / invalid rule document"


def _writer(user: User) -> None:
    if not is_supervisor(user):
        raise Forbidden("需要质检主管权限 / supervisors only")


def parse(yaml_text: str) -> Any:
    """The validated document (:func:`qa.custom_rules.parse_document`).

    Raises:
        InvalidFields: every problem the parser found, one entry each (``field``: where).
    """
    from qa.custom_rules import RuleDocumentError, parse_document
    try:
        return parse_document(yaml_text)
    except RuleDocumentError as exc:
        errors = list(getattr(exc, "errors", None) or [str(exc)])
        raise InvalidFields(INVALID + ":\n" + "\n".join(errors),
                            [{"field": e.split(":", 1)[0].strip() if ":" in e else "",
                              "message": e, "type": "rule_document"} for e in errors]) from None


def _version_dict(v: RuleVersion, active: int | None, *, text: bool,
                  names: dict[int, str]) -> dict[str, Any]:
    return {"code": v.code, "version": v.version, "sha256": v.sha256, "name": v.name,
            "red_line": v.red_line, "weight": v.weight, "comment": v.comment,
            "created_by": names.get(v.created_by) if v.created_by else None,
            "created_at": v.created_at, "active": v.version == active,
            "yaml_text": v.yaml_text if text else None}


def _doc_dict(d: RuleDocument, *, versions: bool, names: dict[int, str]) -> dict[str, Any]:
    shown = next((v for v in d.versions if v.version == d.active_version), None) \
        or (d.versions[-1] if d.versions else None)
    out = {"code": d.code, "kind": d.kind, "active_version": d.active_version,
           "latest_version": d.versions[-1].version if d.versions else None,
           "name": shown.name if shown else "", "red_line": bool(shown and shown.red_line),
           "weight": shown.weight if shown else None, "created_at": d.created_at,
           "updated_at": d.updated_at, "versions": []}
    if versions:
        out["versions"] = [_version_dict(v, d.active_version, text=True, names=names)
                           for v in d.versions]
    return out


def _names(db: Session, ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


def list_documents(db: Session) -> list[dict[str, Any]]:
    """Every rule document, by code, with the name of its active (else latest) version."""
    docs = db.scalars(select(RuleDocument).options(selectinload(RuleDocument.versions))
                      .order_by(RuleDocument.code)).all()
    return [_doc_dict(d, versions=False, names={}) for d in docs]


def _document(db: Session, code: str) -> RuleDocument:
    d = db.scalar(select(RuleDocument).where(RuleDocument.code == code)
                  .options(selectinload(RuleDocument.versions)))
    if d is None:
        raise NotFound(NOT_FOUND)
    return d


def get_document(db: Session, code: str) -> dict[str, Any]:
    """One document with all its versions (texts included), oldest first."""
    d = _document(db, code)
    return _doc_dict(d, versions=True, names=_names(db, {v.created_by for v in d.versions}))


def save_version(db: Session, user: User, yaml_text: str, comment: str | None = None,
                 ip: str | None = None) -> dict[str, Any]:
    """Validate ``yaml_text`` and save it as the next version of its code (the document is
    created with version 1); not activated. Flushes; the caller commits.

    Raises:
        InvalidFields: the document is improper (every problem listed).
        Conflict: the text is the same as the code's latest version.
        Forbidden: an agent.
    """
    _writer(user)
    doc = parse(yaml_text)
    sha = hashlib.sha256(yaml_text.encode("utf-8")).hexdigest()
    row = db.get(RuleDocument, doc.code)
    if row is None:
        row = RuleDocument(code=doc.code, kind=doc.kind, created_by=user.id)
        db.add(row)
        db.flush()
    latest = db.scalar(select(RuleVersion).where(RuleVersion.code == doc.code)
                       .order_by(RuleVersion.version.desc()).limit(1))
    if latest is not None and latest.sha256 == sha:
        raise Conflict(f"与 {doc.code} 的最新版本（第 {latest.version} 版）相同，未保存 / same "
                       f"text as version {latest.version}")
    number = (db.scalar(select(func.max(RuleVersion.version))
                        .where(RuleVersion.code == doc.code)) or 0) + 1
    v = RuleVersion(code=doc.code, version=number, yaml_text=yaml_text, sha256=sha,
                    name=doc.name[:200], red_line=bool(doc.red_line), weight=doc.weight,
                    comment=comment, created_by=user.id)
    db.add(v)
    row.updated_at = utcnow()
    db.flush()
    audit(db, user, "rule.version", "rule_document", doc.code,
          {"version": number, "kind": doc.kind, "name": doc.name, "sha256": sha}, ip)
    db.expire(row, ["versions"])
    return get_document(db, doc.code)


def _red_codes(db: Session) -> frozenset[str]:
    rs = active_rule_set(db)
    return frozenset(rs.red_lines) if rs is not None else frozenset()


def _restamp_if_red_lines_changed(db: Session, before: frozenset[str],
                                  settings: Settings) -> bool:
    """Stored calls' red-line flags and the open months follow the red lines of the active
    rules (as after activating a scoring form)."""
    if _red_codes(db) == before:
        return False
    from qa.assessment_store import refresh_months, restamp_red_lines
    restamp_red_lines(db, settings)
    refresh_months(db, settings)
    return True


def activate(db: Session, user: User, code: str, version: int, settings: Settings,
             ip: str | None = None) -> dict[str, Any]:
    """Make ``version`` the active one of ``code`` (supervisors, admins): new and re-analysed calls run it
    from now on; stored results change only when re-scored (:func:`rescore`).

    Raises:
        NotFound: no such document or version. Invalid: the stored text is not valid any
        more, or the rule set it makes is not. Forbidden: an agent.
    """
    from qa.custom_rules import RuleDocumentError, RuleSet
    _writer(user)
    row = _document(db, code)
    v = next((x for x in row.versions if x.version == version), None)
    if v is None:
        raise NotFound(f"{code} 没有第 {version} 版 / no version {version} of {code}")
    doc = parse(v.yaml_text)
    others = [d for d in rule_store.active_documents(db) if d.code != code]
    try:
        RuleSet.from_documents([*others, doc])
    except RuleDocumentError as exc:
        raise Invalid(f"{INVALID}: {exc}") from None
    before, previous = _red_codes(db), row.active_version
    row.active_version = version
    db.flush()
    restamped = _restamp_if_red_lines_changed(db, before, settings)
    audit(db, user, "rule.activate", "rule_document", code,
          {"version": version, "previous": previous, "red_lines_restamped": restamped}, ip)
    db.flush()
    log.info("rule %s v%s activated by %s (was %s)", code, version, user.username, previous)
    return get_document(db, code)


def deactivate(db: Session, user: User, code: str, settings: Settings,
               ip: str | None = None) -> dict[str, Any]:
    """Switch ``code`` off (supervisors, admins): the analysis no longer runs it.

    Raises:
        NotFound: no such document. Conflict: it is not active. Forbidden: an agent.
    """
    _writer(user)
    row = _document(db, code)
    if row.active_version is None:
        raise Conflict(f"{code} 未启用 / {code} is not active")
    before, previous = _red_codes(db), row.active_version
    row.active_version = None
    db.flush()
    restamped = _restamp_if_red_lines_changed(db, before, settings)
    audit(db, user, "rule.deactivate", "rule_document", code,
          {"previous": previous, "red_lines_restamped": restamped}, ip)
    db.flush()
    return get_document(db, code)


def dry_run(db: Session, user: User, *, yaml_text: str | None = None, code: str | None = None,
            version: int | None = None, last_n: int | None = None,
            date_from: date | None = None, date_to: date | None = None,
            settings: Settings) -> DryRun:
    """Try a document (the text given, or a stored ``code``/``version``: default the latest)
    on stored calls (:func:`qa.rule_store.dry_run`); nothing is written.

    Raises:
        InvalidFields: the document is improper. Invalid: neither a text nor a code, or a bad
        selection. NotFound: no such stored document or version. Forbidden: an agent.
    """
    _writer(user)
    if yaml_text is None:
        if not code:
            raise Invalid("请给出规则文档（yaml_text）或已保存的规则编号（code）/ give yaml_text "
                          "or code")
        row = _document(db, code)
        v = (next((x for x in row.versions if x.version == version), None)
             if version is not None else (row.versions[-1] if row.versions else None))
        if v is None:
            raise NotFound(f"{code} 没有第 {version} 版 / no version {version} of {code}")
        yaml_text = v.yaml_text
    doc = parse(yaml_text)
    try:
        return rule_store.dry_run(db, doc, last_n=last_n, date_from=date_from,
                                  date_to=date_to, settings=settings)
    except ValueError as exc:
        raise Invalid(str(exc)) from None


def rescore(db: Session, user: User, date_from: date, date_to: date, settings: Settings,
            ip: str | None = None) -> dict[str, Any]:
    """Queue the re-analysis of the analysed calls started from ``date_from`` to ``date_to``
    (local days) with the active rules (supervisors, admins); the workers run it
    (:func:`qa.rule_store.queue_rescore`). Flushes; the caller commits.

    Raises:
        Invalid: a bad date range. Forbidden: an agent.
    """
    _writer(user)
    try:
        result = rule_store.queue_rescore(db, date_from, date_to, settings)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    stamp = [f"{c}:v{v}" for c, v, _ in rule_store.active_stamp(db)]
    audit(db, user, "rule.rescore", "rule_documents", None,
          {"date_from": date_from.isoformat(), "date_to": date_to.isoformat(),
           "active_rules": stamp, **result.to_dict()}, ip)
    db.flush()
    log.info("re-scoring %s calls (%s – %s) queued by %s", result.queued, date_from, date_to,
             user.username)
    return {"date_from": date_from, "date_to": date_to, "active_rules": stamp,
            **result.to_dict()}
