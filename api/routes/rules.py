"""The rule catalogue (RULES.md), generated from the rule classes."""
from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentUser
from api.schemas import RulePublic

router = APIRouter(prefix="/rules", tags=["rules"])


def catalogue() -> list[dict]:
    from qa.rules import rule_classes
    weights: dict = {}
    try:
        from qa.assessment import Grading
        from qa.assessment_store import default_form
        weights = dict(Grading.from_form(default_form()).weights)
    except Exception:  # noqa: BLE001 - weights are informative only
        pass
    return [{"code": r.code, "name": r.name, "family": r.family, "red_line": r.red_line,
             "summary": r.summary(), "doc": r.doc(), "weight": weights.get(r.code)}
            for r in rule_classes()]


@router.get("", response_model=list[RulePublic], summary="规则目录 / rule catalogue")
def list_rules(user: CurrentUser) -> list[RulePublic]:
    return [RulePublic.model_validate(r) for r in catalogue()]
