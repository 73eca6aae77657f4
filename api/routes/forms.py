"""Scoring forms (评分表): versioned YAML, validated on upload; admins add and activate."""
from __future__ import annotations

import hashlib

import yaml
from fastapi import APIRouter, Request
from sqlalchemy import func, select

from api.deps import IntId, AdminUser, SessionDep, SettingsDep, SupervisorUser, client_ip
from api.schemas import FormCreate, FormPublic
from api.services.audit import audit
from api.services.errors import Invalid, NotFound
from models import ScoringForm
from qa.assessment_store import form_from_text, refresh_months, restamp_red_lines

router = APIRouter(prefix="/forms", tags=["forms"])


@router.get("", response_model=list[FormPublic], summary="评分表版本 / scoring forms")
def list_forms(user: SupervisorUser, db: SessionDep) -> list[FormPublic]:
    rows = db.scalars(select(ScoringForm).order_by(ScoringForm.name, ScoringForm.version))
    return [FormPublic.model_validate(r).model_copy(update={"yaml_text": None}) for r in rows]


@router.get("/{form_id}", response_model=FormPublic,
            responses={404: {"description": "评分表不存在"}}, summary="评分表 / one form")
def get_form(form_id: IntId, user: SupervisorUser, db: SessionDep) -> FormPublic:
    row = db.get(ScoringForm, form_id)
    if row is None:
        raise NotFound("评分表不存在 / form not found")
    return FormPublic.model_validate(row)


def _activate(db, row: ScoringForm, settings) -> None:
    """Make ``row`` the active form; the stored calls' red-line flags (open months) and the
    open months follow it from now on, so they are saved again here (reads only compute
    months). No alert is raised for calls a new red line now marks."""
    for other in db.scalars(select(ScoringForm).where(ScoringForm.active.is_(True))):
        other.active = False
    row.active = True
    db.flush()
    restamp_red_lines(db, settings)
    refresh_months(db, settings)


@router.post("", response_model=FormPublic, status_code=201,
             responses={422: {"description": "评分表无效（说明具体问题）"}},
             summary="新增评分表版本（管理员）/ add a form version")
def create_form(body: FormCreate, user: AdminUser, db: SessionDep, settings: SettingsDep,
                request: Request) -> FormPublic:
    try:
        data = yaml.safe_load(body.yaml_text)
    except yaml.YAMLError as exc:
        raise Invalid(f"评分表不是有效的 YAML / not YAML: {exc}") from None
    if not isinstance(data, dict):
        raise Invalid("评分表应为 YAML 映射 / the form must be a YAML mapping")
    try:
        form = form_from_text(body.yaml_text)
    except ImportError as exc:
        raise Invalid(f"评分模块不可用 / scoring unavailable: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - the form loader names the exact problem
        raise Invalid(f"评分表无效 / invalid form: {exc}") from None
    name = str(getattr(form, "name", None) or data.get("name") or "default")[:100]
    version = (db.scalar(select(func.max(ScoringForm.version))
                         .where(ScoringForm.name == name)) or 0) + 1
    row = ScoringForm(name=name, version=version, yaml_text=body.yaml_text,
                      sha256=hashlib.sha256(body.yaml_text.encode()).hexdigest(),
                      active=False, created_by=user.id)
    db.add(row)
    db.flush()
    if body.activate:
        _activate(db, row, settings)
    audit(db, user, "form.create", "scoring_form", row.id,
          {"name": name, "version": version, "active": row.active}, client_ip(request))
    db.commit()
    return FormPublic.model_validate(row)


@router.post("/{form_id}/activate", response_model=FormPublic,
             responses={404: {"description": "评分表不存在"}},
             summary="启用评分表（管理员）/ activate a form")
def activate(form_id: IntId, user: AdminUser, db: SessionDep, settings: SettingsDep,
             request: Request) -> FormPublic:
    row = db.get(ScoringForm, form_id)
    if row is None:
        raise NotFound("评分表不存在 / form not found")
    _activate(db, row, settings)
    audit(db, user, "form.activate", "scoring_form", row.id,
          {"name": row.name, "version": row.version}, client_ip(request))
    db.commit()
    return FormPublic.model_validate(row)
