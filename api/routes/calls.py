"""Calls: the filtered list, the detail with transcript/findings/scores, audio with HTTP
Range, upload, type corrections, complaint follow-up, supervisor comments."""
from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response, StreamingResponse

from api.deps import CurrentUser, SessionDep, SettingsDep, SupervisorUser, client_ip
from api.schemas import (CallDetail, CallPage, ClassificationCorrection, ClassificationPublic,
                         CommentCreate, FollowUpUpdate, ReanalysisResult, ReviewPublic,
                         UploadAccepted)
from api.services import calls as svc
from api.services import privacy as privacy_svc
from api.services import reanalysis as reanalysis_svc
from api.services import review as review_svc
from api.services.errors import Invalid
from api.services.uploads import save_upload

router = APIRouter(prefix="/calls", tags=["calls"])
NOT_FOUND = {404: {"description": "通话不存在或无权查看"}}


def call_filters(
    agent_id: Annotated[str | None, Query(max_length=64)] = None,
    date_from: date | None = None, date_to: date | None = None,
    score_min: Annotated[float | None, Query(ge=0, le=100)] = None,
    score_max: Annotated[float | None, Query(ge=0, le=100)] = None,
    rule_failed: Annotated[str | None, Query(max_length=16, description="规则代码，如 PO01")] = None,
    call_type: Annotated[str | None, Query(max_length=32)] = None,
    complaint_type: Annotated[str | None, Query(max_length=32)] = None,
    review_state: Annotated[str | None, Query(
        pattern="^(pending|reviewed|upheld|overturned|none)$")] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    red_line: bool | None = None, needs_review: bool | None = None,
    estate: Annotated[str | None, Query(max_length=200)] = None,
    scenario: Annotated[str | None, Query(max_length=100)] = None,
    follow_up_status: Annotated[str | None, Query(
        pattern="^(open|in_progress|resolved)$")] = None,
) -> svc.CallFilters:
    """The call list's filters as query parameters (shared by the call list and search)."""
    return svc.CallFilters(agent_id=agent_id, date_from=date_from, date_to=date_to,
                           score_min=score_min, score_max=score_max, rule_failed=rule_failed,
                           call_type=call_type, complaint_type=complaint_type,
                           review_state=review_state, status=status, red_line=red_line,
                           needs_review=needs_review, estate=estate, scenario=scenario,
                           follow_up_status=follow_up_status)


CallFiltersDep = Annotated[svc.CallFilters, Depends(call_filters)]


@router.get("", response_model=CallPage, summary="通话列表 / list calls with filters")
def list_calls(
    user: CurrentUser, db: SessionDep, settings: SettingsDep, f: CallFiltersDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: Annotated[str, Query(pattern="^-?(started_at|score|created_at)$")] = "-started_at",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CallPage:
    f.q, f.sort, f.page, f.page_size = q, sort, page, page_size
    items, total = svc.list_calls(db, user, f, settings)
    m = privacy_svc.Masking.for_user(db, user, "api")
    return CallPage(items=[m.summary(c) for c in items], total=total, page=page,
                    page_size=page_size)


def masked_detail(db, user, call_id: str, settings, request: Request) -> dict:
    """The call detail as the masking policy lets ``user`` see it through the API (unmasked
    while a reveal of this call lasts in this session)."""
    m = privacy_svc.Masking.for_user(db, user, "api", call_id=call_id,
                                     session_id=getattr(request.state, "session_id", None))
    return m.detail(svc.detail(db, user, call_id, settings))


@router.post("/upload", response_model=UploadAccepted, status_code=202,
             responses={413: {"description": "文件过大"}, 422: {"description": "文件无效"}},
             summary="上传录音 / upload a recording (queued for analysis)")
def upload(user: SupervisorUser, request: Request, db: SessionDep, settings: SettingsDep,
           file: Annotated[UploadFile, File(description="录音文件或转写 JSON")],
           metadata: Annotated[str | None, Form(
               description='通话信息 JSON，如 {"agent_id": "A1001", "started_at": "…"}')] = None,
           ) -> UploadAccepted:
    meta = None
    if metadata:
        try:
            meta = json.loads(metadata)
        except json.JSONDecodeError as exc:
            raise Invalid(f"metadata 不是有效的 JSON / metadata is not JSON: {exc}") from None
        if not isinstance(meta, dict):
            raise Invalid("metadata 必须是 JSON 对象 / metadata must be a JSON object")
    call, dup = save_upload(db, user, settings, file.filename or "upload", file.file, meta,
                            client_ip(request), engine=request.app.state.engine)
    return UploadAccepted(call_id=call.id, status=call.status, duplicate=dup,
                          message="重复文件，已存在相同录音" if dup else "已接收，排队分析中")


@router.get("/{call_id}", response_model=CallDetail, responses=NOT_FOUND,
            summary="通话详情 / call detail: transcript, findings, scores")
def get_call(call_id: str, user: CurrentUser, db: SessionDep, settings: SettingsDep,
             request: Request) -> CallDetail:
    return CallDetail.model_validate(masked_detail(db, user, call_id, settings, request))


_RANGE = re.compile(r"^bytes=(\d{0,18})-(\d{0,18})$")  # longer numbers: 416, not int()


AUDIO = {"audio/*": {}, "application/octet-stream": {}}


@router.get("/{call_id}/audio", responses={200: {"description": "录音文件", "content": AUDIO},
                                            206: {"description": "部分内容", "content": AUDIO},
                                            **NOT_FOUND, 416: {"description": "范围无效"}},
            response_class=Response, summary="录音（支持 Range）/ audio with HTTP Range")
def audio(call_id: str, user: CurrentUser, db: SessionDep, request: Request,
          settings: SettingsDep,
          masked: Annotated[bool | None, Query(description=(
              "个人信息处替换为 1 kHz 提示音（WAV）；不填按脱敏策略"))] = None) -> Response:
    """The recording; ``?masked=1`` (or the policy's ``audio`` for the user's role) gives a
    16-bit WAV with the personal data of the transcript beeped out."""
    path, media = svc.audio_file(db, user, call_id)
    if masked is None:
        masked = privacy_svc.Masking.for_user(db, user, "audio", call_id=call_id, session_id=(
            getattr(request.state, "session_id", None))).masked
    if masked:
        path, media = privacy_svc.beeped_audio(db, user, call_id, path, settings), "audio/wav"
    size = path.stat().st_size
    rng = request.headers.get("range")
    if not rng:
        return FileResponse(path, media_type=media, headers={"Accept-Ranges": "bytes"})
    m = _RANGE.match(rng.strip())
    if not m or (not m.group(1) and not m.group(2)):
        raise HTTPException(416, "无效的 Range 请求 / bad range",
                            headers={"Content-Range": f"bytes */{size}"})
    if m.group(1):
        start = int(m.group(1))
        end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    else:
        start, end = max(0, size - int(m.group(2))), size - 1
    if start >= size or start > end:
        raise HTTPException(416, "请求范围超出文件大小 / range not satisfiable",
                            headers={"Content-Range": f"bytes */{size}"})
    length = end - start + 1

    def chunks():
        with open(path, "rb") as fh:
            fh.seek(start)
            left = length
            while left > 0:
                data = fh.read(min(65536, left))
                if not data:
                    break
                left -= len(data)
                yield data

    return StreamingResponse(chunks(), status_code=206, media_type=media, headers={
        "Content-Range": f"bytes {start}-{end}/{size}", "Accept-Ranges": "bytes",
        "Content-Length": str(length)})


@router.put("/{call_id}/classification", response_model=ClassificationPublic,
            responses={**NOT_FOUND, 409: {"description": "通话尚未分析完成"}},
            summary="纠正来电/投诉类型（作为训练样本）/ correct the types")
def correct(call_id: str, body: ClassificationCorrection, user: SupervisorUser, db: SessionDep,
            settings: SettingsDep, request: Request) -> ClassificationPublic:
    c = review_svc.correct_classification(db, user, call_id, body.call_type,
                                          body.complaint_type, body.comment, settings,
                                          client_ip(request))
    db.commit()
    return ClassificationPublic.model_validate(c)


@router.patch("/{call_id}/follow-up", response_model=CallDetail, responses=NOT_FOUND,
              summary="投诉跟进状态、场景、小区 / complaint follow-up")
def follow_up(call_id: str, body: FollowUpUpdate, user: SupervisorUser, db: SessionDep,
              settings: SettingsDep, request: Request) -> CallDetail:
    review_svc.update_follow_up(db, user, call_id, body.model_dump(), settings,
                                client_ip(request))
    db.commit()
    return CallDetail.model_validate(masked_detail(db, user, call_id, settings, request))


@router.post("/{call_id}/comments", response_model=ReviewPublic, status_code=201,
             responses=NOT_FOUND, summary="主管备注（抽检通过的通话）/ supervisor note on a call")
def comment(call_id: str, body: CommentCreate, user: SupervisorUser, db: SessionDep,
            settings: SettingsDep, request: Request) -> ReviewPublic:
    r = review_svc.comment_call(db, user, call_id, body.comment.strip(), settings,
                                client_ip(request))
    db.commit()
    return ReviewPublic(id=r.id, finding_id=None, decision=r.decision, comment=r.comment,
                        reviewer=user.username, created_at=r.created_at)


@router.post("/{call_id}/reanalyze", response_model=ReanalysisResult,
             responses={**NOT_FOUND, 403: {"description": "仅质检主管"},
                        409: {"description": "未分析完成、无转写或该月已关账"}},
             summary="重新分析（规则、分类、评分；不重新转写）/ re-run rules on the transcript")
def reanalyze(call_id: str, user: CurrentUser, db: SessionDep, settings: SettingsDep,
              request: Request) -> ReanalysisResult:
    """Re-run rules + classification + scoring on the stored transcript with the current
    scoring form and classifier; reviews and appeals stay on findings whose status did not
    change. Example: ``POST /api/v1/calls/c-123/reanalyze``."""
    out = reanalysis_svc.reanalyze(db, user, call_id, settings, client_ip(request))
    db.commit()
    return ReanalysisResult(**out)
