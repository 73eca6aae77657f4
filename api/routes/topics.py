"""Why people call (来电原因): topics of a week's stated reasons, and supervisors' names."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from api.deps import WEEK_PATTERN, IntId, SessionDep, SettingsDep, SupervisorUser, client_ip
from api.schemas import TopicNameCreate, TopicNamePublic, TopicWeek
from api.services.audit import audit
from api.services.errors import Invalid, NotFound
from api.services.privacy import Masking
from models import TopicName
from qa import call_reasons
from qa.topics import NamedTopic

router = APIRouter(prefix="/topics", tags=["topics"])


def _public(rows: list[TopicName]) -> list[TopicNamePublic]:
    names = {r.id: r.name for r in rows}
    return [TopicNamePublic(id=r.id, name=r.name, merged_into=names.get(r.merged_into_id),
                            terms=r.terms or {}) for r in rows]


def _signature_name(vector: dict[str, float], into: str) -> str:
    """The stored name of a topic merged into ``into``: its top terms, then the target."""
    top = sorted(vector, key=lambda t: -vector[t])[:3]
    return f"{'·'.join(top)}（并入{into}）"[:100]


@router.get("", response_model=TopicWeek, summary="来电原因主题 / call-reason topics of a week")
def week_topics(user: SupervisorUser, db: SessionDep, settings: SettingsDep,
                week: Annotated[str, Query(pattern=WEEK_PATTERN, description="如 2026-W47")],
                estate: Annotated[str | None, Query(max_length=200)] = None) -> TopicWeek:
    try:
        result = call_reasons.week_topics(db, week, settings, estate=estate or None)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return TopicWeek(**Masking.for_user(db, user, "api").topics(result.to_dict()))


@router.get("/names", response_model=list[TopicNamePublic],
            summary="主题名称 / supervisors' topic names")
def list_names(user: SupervisorUser, db: SessionDep) -> list[TopicNamePublic]:
    return _public(list(db.scalars(select(TopicName).order_by(TopicName.id))))


@router.post("/names", response_model=list[TopicNamePublic], status_code=201,
             summary="命名或合并主题 / name a topic, or merge others into it")
def name_topic(body: TopicNameCreate, user: SupervisorUser, db: SessionDep,
               request: Request) -> list[TopicNamePublic]:
    name = body.name.strip()
    if not name:
        raise Invalid("主题名称不能为空 / the name is empty")
    named = [NamedTopic(name, body.vector)]
    named += [NamedTopic(_signature_name(v, name), v, merged_into=name) for v in body.others]
    rows = call_reasons.save_named(db, named, user.id)
    audit(db, user, "topic.name", "topic_name", rows[0].id,
          {"name": name, "merged": len(body.others)}, client_ip(request))
    db.commit()
    return _public(rows)


@router.delete("/names/{name_id}", status_code=204, response_class=Response,
               responses={404: {"description": "主题名称不存在"}},
               summary="删除主题名称 / forget a topic name")
def delete_name(name_id: IntId, user: SupervisorUser, db: SessionDep,
                request: Request) -> Response:
    row = db.get(TopicName, name_id)
    if row is None:
        raise NotFound("主题名称不存在 / topic name not found")
    audit(db, user, "topic.unname", "topic_name", row.id, {"name": row.name},
          client_ip(request))
    db.delete(row)
    db.commit()
    return Response(status_code=204)
