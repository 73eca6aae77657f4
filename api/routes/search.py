"""Transcript search: utterances that match a query, with the call list's filters."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentUser, SessionDep, SettingsDep
from api.routes.calls import CallFiltersDep
from api.schemas import SearchPage
from api.services import search as svc
from api.services.privacy import Masking

router = APIRouter(prefix="/search", tags=["search"])


@router.get("", response_model=SearchPage,
            summary="搜索通话内容 / search what was said across the calls")
def search(
    user: CurrentUser, db: SessionDep, settings: SettingsDep, f: CallFiltersDep,
    q: Annotated[str, Query(min_length=1, max_length=200, description=(
        "搜索词，空格分隔的词都要出现；\"…\" 为整词，A|B 为任一，-词 为排除。"
        "例如：漏水 -已修好"))],
    sound: Annotated[bool, Query(description="按读音匹配（找出识别写错的字，如 楼水=漏水）")] = False,
    speaker: Annotated[str | None, Query(pattern="^(agent|customer)$",
                                         description="只搜客服 / 来电人说的话")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SearchPage:
    f.page, f.page_size = page, page_size
    req = svc.SearchRequest(q=q, sound=sound, speaker=speaker, filters=f)
    return SearchPage(**Masking.for_user(db, user, "api").search(
        svc.search(db, user, req, settings)))
