"""Agreement and calibration (supervisors and admins only): the agreement figures per rule and
month, recorded random samples for review, calibration sessions (create, score blind, results).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.deps import IntId, MONTH_PATTERN, SessionDep, SettingsDep, SupervisorUser, client_ip
from api.schemas import (AgreementPublic, CalibrationCreate, CalibrationResults,
                         CalibrationSessionPublic, MyScores, SampleCallPublic, SampleCreate,
                         SampleDetail, SamplePublic, ScoresSave)
from api.services import calibration as svc
from api.services.privacy import Masking

router = APIRouter(tags=["calibration"])
SAMPLE_404 = {404: {"description": "抽样不存在"}}
SESSION_404 = {404: {"description": "校准不存在"}}


@router.get("/agreement", response_model=AgreementPublic,
            summary="机器与人工的一致性（按规则、按月）/ machine-human agreement per rule")
def get_agreement(user: SupervisorUser, db: SessionDep, settings: SettingsDep,
                  month: Annotated[str | None, Query(pattern=MONTH_PATTERN,
                                                     description="YYYY-MM（不填：最近有通话的月份）")]
                  = None) -> AgreementPublic:
    return AgreementPublic.model_validate(
        svc.agreement(db, settings, month or svc.latest_month(db, settings)))


# --- random samples ------------------------------------------------------------------------------

def _detail(db, user, settings, s) -> SampleDetail:
    ok, note = svc.verify_sample(db, s, settings)
    return SampleDetail.model_validate({
        **svc.sample_public(db, s, calls=True, masking=Masking.for_user(db, user, "api")),
        "reproducible": ok, "reproducible_note": note})


@router.get("/samples", response_model=list[SamplePublic], summary="随机抽检记录 / random samples")
def list_samples(user: SupervisorUser, db: SessionDep,
                 limit: Annotated[int, Query(ge=1, le=500)] = 200) -> list[SamplePublic]:
    return [SamplePublic.model_validate(svc.sample_public(db, s))
            for s in svc.list_samples(db, limit)]


@router.post("/samples", response_model=SampleDetail, status_code=201,
             responses={409: {"description": "该时间段没有已分析的通话"}},
             summary="随机抽取通话复核（记录种子）/ draw a recorded random sample")
def draw_sample(body: SampleCreate, user: SupervisorUser, db: SessionDep,
                settings: SettingsDep, request: Request) -> SampleDetail:
    s = svc.draw_sample(db, user, settings, size=body.size, month=body.month,
                        date_from=body.date_from, date_to=body.date_to, seed=body.seed,
                        agent_id=body.agent_id, name=body.name, ip=client_ip(request))
    db.commit()
    return _detail(db, user, settings, s)


@router.get("/samples/{sample_id}", response_model=SampleDetail, responses=SAMPLE_404,
            summary="一次抽样：抽中的通话与复核进度 / one sample")
def get_sample(sample_id: IntId, user: SupervisorUser, db: SessionDep,
               settings: SettingsDep) -> SampleDetail:
    return _detail(db, user, settings, svc.get_sample(db, sample_id))


@router.post("/samples/{sample_id}/calls/{call_id}/check", response_model=SampleCallPublic,
             responses={404: {"description": "抽样不存在或通话不在其中"},
                        409: {"description": "尚有待复核的不合格项，或已标记"}},
             summary="标记抽中的通话为已抽检 / mark a sampled call checked")
def check_call(sample_id: IntId, call_id: str, user: SupervisorUser, db: SessionDep,
               request: Request) -> SampleCallPublic:
    svc.check_sample_call(db, user, sample_id, call_id, client_ip(request))
    db.commit()
    s = svc.get_sample(db, sample_id)
    row = next(c for c in svc.sample_public(db, s, calls=True,
                                            masking=Masking.for_user(db, user, "api"))["calls"]
               if c["call"]["id"] == call_id)
    return SampleCallPublic.model_validate(row)


# --- calibration sessions --------------------------------------------------------------------------

@router.get("/calibration/sessions", response_model=list[CalibrationSessionPublic],
            summary="校准列表 / calibration sessions")
def list_sessions(user: SupervisorUser, db: SessionDep,
                  limit: Annotated[int, Query(ge=1, le=500)] = 200
                  ) -> list[CalibrationSessionPublic]:
    return [CalibrationSessionPublic.model_validate(svc.session_public(db, cs, user))
            for cs in svc.list_sessions(db, limit)]


@router.post("/calibration/sessions", response_model=CalibrationSessionPublic, status_code=201,
             responses={404: {"description": "抽样不存在"},
                        409: {"description": "该时间段没有已分析的通话"}},
             summary="新建校准 / create a calibration session")
def create_session(body: CalibrationCreate, user: SupervisorUser, db: SessionDep,
                   settings: SettingsDep, request: Request) -> CalibrationSessionPublic:
    draw = body.draw.model_dump() if body.draw is not None else None
    cs = svc.create_session(db, user, settings, name=body.name, reviewer_ids=body.reviewer_ids,
                            call_ids=body.call_ids, sample_id=body.sample_id, draw=draw,
                            codes=body.codes, ip=client_ip(request))
    db.commit()
    return CalibrationSessionPublic.model_validate(svc.session_public(db, cs, user))


@router.get("/calibration/sessions/{session_id}", response_model=CalibrationSessionPublic,
            responses=SESSION_404, summary="一次校准（不含任何评分）/ one session")
def get_session(session_id: IntId, user: SupervisorUser, db: SessionDep
                ) -> CalibrationSessionPublic:
    return CalibrationSessionPublic.model_validate(
        svc.session_public(db, svc.get_session(db, session_id), user))


@router.get("/calibration/sessions/{session_id}/scores", response_model=MyScores,
            responses=SESSION_404, summary="我的评分 / my own scores")
def my_scores(session_id: IntId, user: SupervisorUser, db: SessionDep) -> MyScores:
    return MyScores.model_validate(svc.my_scores(db, svc.get_session(db, session_id), user))


@router.put("/calibration/sessions/{session_id}/scores", response_model=MyScores,
            responses={**SESSION_404, 409: {"description": "已提交或校准已结束"}},
            summary="保存 / 提交我的评分 / save or submit my scores")
def save_scores(session_id: IntId, body: ScoresSave, user: SupervisorUser, db: SessionDep,
                request: Request) -> MyScores:
    cs = svc.save_scores(db, user, session_id, [c.model_dump() for c in body.scores],
                         body.submit, client_ip(request))
    db.commit()
    return MyScores.model_validate(svc.my_scores(db, cs, user))


@router.get("/calibration/sessions/{session_id}/results", response_model=CalibrationResults,
            responses=SESSION_404,
            summary="校准结果：评分人之间与机器的一致性（kappa）/ results")
def get_results(session_id: IntId, user: SupervisorUser, db: SessionDep) -> CalibrationResults:
    return CalibrationResults.model_validate(svc.results(db, user, session_id))
