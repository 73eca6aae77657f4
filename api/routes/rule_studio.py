"""The rule studio (规则工作室): supervisors' rule documents, their versions, the dry run on
past calls; admins activate, deactivate and re-score (:mod:`api.services.rule_studio`)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from api.deps import SessionDep, SettingsDep, SupervisorUser, client_ip
from api.schemas import (RuleDocumentPublic, RuleDryRunRequest, RuleDryRunResult,
                         RuleRescoreRequest, RuleRescoreResult, RuleVersionCreate)
from api.services import rule_studio as svc
from api.services.privacy import Masking

router = APIRouter(prefix="/rule-documents", tags=["rule studio"])
NOT_FOUND = {404: {"description": "规则文档或版本不存在"}}
INVALID = {422: {"description": "规则文档有误（逐条列出每个问题）或参数无效"}}
Code = Annotated[str, Path(min_length=2, max_length=16, pattern=r"^[A-Z]{1,4}\d{2,3}$",
                           description="规则编号，如 X001（自定义）或 SV04（内置）")]
Version = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.get("", response_model=list[RuleDocumentPublic], summary="规则文档 / rule documents")
def list_documents(user: SupervisorUser, db: SessionDep) -> list[RuleDocumentPublic]:
    return [RuleDocumentPublic(**d) for d in svc.list_documents(db)]


@router.post("", response_model=RuleDocumentPublic, status_code=201,
             responses={**INVALID, 409: {"description": "与最新版本相同"}},
             summary="保存规则文档的新版本 / save a new version")
def save_version(body: RuleVersionCreate, user: SupervisorUser, db: SessionDep,
                 request: Request) -> RuleDocumentPublic:
    out = svc.save_version(db, user, body.yaml_text, body.comment, client_ip(request))
    db.commit()
    return RuleDocumentPublic(**out)


@router.post("/dry-run", response_model=RuleDryRunResult, responses={**INVALID, **NOT_FOUND},
             summary="试运行：规则在以往通话上的结果 / try a document on stored calls")
def dry_run(body: RuleDryRunRequest, user: SupervisorUser, db: SessionDep,
            settings: SettingsDep) -> RuleDryRunResult:
    result = svc.dry_run(db, user, yaml_text=body.yaml_text, code=body.code,
                         version=body.version, last_n=body.last_n, date_from=body.date_from,
                         date_to=body.date_to, settings=settings)
    d = result.to_dict()
    items = sorted(d.pop("items"), key=lambda i: i["status"] != "fail")  # fails first
    m = Masking.for_user(db, user, "api")  # the evidence quotes callers: the masking policy
    items = [{**m.fields(i, "message"),
              "evidence": [m.fields(e, "text") for e in i.get("evidence") or []]}
             for i in items[:body.max_items]] + items[body.max_items:]
    return RuleDryRunResult(**d, items=items[:body.max_items],
                            items_truncated=len(items) > body.max_items)


@router.post("/rescore", response_model=RuleRescoreResult, status_code=202,
             responses=INVALID,
             summary="用生效的规则重新分析一段时间的通话/ re-score past calls")
def rescore(body: RuleRescoreRequest, user: SupervisorUser, db: SessionDep, settings: SettingsDep,
            request: Request) -> RuleRescoreResult:
    out = svc.rescore(db, user, body.date_from, body.date_to, settings, client_ip(request))
    db.commit()
    return RuleRescoreResult(**out)


@router.get("/{code}", response_model=RuleDocumentPublic, responses=NOT_FOUND,
            summary="规则文档及其各版本 / one document with its versions")
def get_document(code: Code, user: SupervisorUser, db: SessionDep) -> RuleDocumentPublic:
    return RuleDocumentPublic(**svc.get_document(db, code))


@router.post("/{code}/versions/{version}/activate", response_model=RuleDocumentPublic,
             responses={**NOT_FOUND, **INVALID},
             summary="启用规则文档的某一版本/ activate a version")
def activate(code: Code, version: Version, user: SupervisorUser, db: SessionDep,
             settings: SettingsDep, request: Request) -> RuleDocumentPublic:
    out = svc.activate(db, user, code, version, settings, client_ip(request))
    db.commit()
    return RuleDocumentPublic(**out)


@router.post("/{code}/deactivate", response_model=RuleDocumentPublic,
             responses={**NOT_FOUND, 409: {"description": "规则未启用"}},
             summary="停用规则文档/ deactivate a document")
def deactivate(code: Code, user: SupervisorUser, db: SessionDep, settings: SettingsDep,
               request: Request) -> RuleDocumentPublic:
    out = svc.deactivate(db, user, code, settings, client_ip(request))
    db.commit()
    return RuleDocumentPublic(**out)
