"""The FastAPI application: ``create_app(settings)``.

The REST API lives under ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``, docs at
``/api/docs``); the web pages (issue 7) are added by :func:`api.web.register` when present.

Example::

    uvicorn --factory api.app:create_app
"""
from __future__ import annotations

import importlib.util
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from api import openapi
from api.security import SecurityHeadersMiddleware, Signer
from api.services.errors import ServiceError
from models import make_engine, session_factory
from qa.settings import Settings, get_settings, resolve_secret_key

log = logging.getLogger("hotline_qa.api")
API_PREFIX = "/api/v1"

FIELD_ZH = {"missing": "缺少必填项", "string_too_short": "太短", "string_too_long": "太长",
            "literal_error": "取值不在允许范围内", "int_parsing": "应为整数",
            "float_parsing": "应为数字", "bool_parsing": "应为 true/false",
            "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD", "date_parsing":
            "日期格式应为 YYYY-MM-DD", "json_invalid": "JSON 格式错误",
            "string_pattern_mismatch": "格式不正确", "value_error": "取值无效",
            "greater_than_equal": "太小", "less_than_equal": "太大", "too_long": "项数过多",
            "too_short": "项数太少",
            "model_attributes_type": "应为 JSON 对象", "dict_type": "应为 JSON 对象"}


def _validation_message(errors: list[dict]) -> list[dict]:
    out = []
    for e in errors:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
        zh = FIELD_ZH.get(e.get("type", ""), "无效")
        out.append({"field": loc, "message": f"{loc or '请求'}：{zh} / {e.get('msg', '')}",
                    "type": e.get("type")})
    return out


def create_app(settings: Settings | None = None, *, engine: Engine | None = None,
               web: bool = True) -> FastAPI:
    """Build the app for ``settings`` (default: from the environment); ``web=False`` leaves out
    the HTML pages (API only).

    Raises:
        ValueError: an unsafe ``HOTLINE_QA_SECRET_KEY``.
    """
    settings = settings or get_settings()
    app = FastAPI(title="热线质检 Hotline QA API", version="1",
                  description="质检结果、复核、申诉、月度考核与报表 / QA results, review, appeals, "
                              "monthly assessment and reports. Authenticate with the session "
                              "cookie from POST /api/v1/auth/login (writes need the X-CSRF-Token "
                              "header) or a bearer token from POST /api/v1/auth/token.",
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url="/api/docs",
                  redoc_url=None)
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.effective_database_url)
    app.state.sessions = session_factory(app.state.engine)
    app.state.signer = Signer(resolve_secret_key(settings), settings.session_max_age_s)
    # X-Frame-Options, CSP, nosniff, Referrer-Policy on every response (API, pages, files),
    # outside Starlette's ServerErrorMiddleware so that a 500 carries them too (add_middleware
    # would put it inside)
    build_stack = app.build_middleware_stack
    app.build_middleware_stack = lambda: SecurityHeadersMiddleware(  # type: ignore[method-assign]
        build_stack(), docs_path=app.docs_url)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        detail = getattr(exc, "fields", None) or exc.message  # InvalidFields: every problem
        return JSONResponse({"detail": detail}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_message(exc.errors())}, status_code=422)

    from api.routes import (acknowledgements, appeals, assessments, audit, auth, calls, cases,
                            findings, forms, monitors, privacy, reports, rules, search, topics,
                            users)
    for module in (auth, calls, findings, appeals, assessments, rules, forms, users, reports,
                   audit, search, monitors, topics, acknowledgements, cases, privacy):
        app.include_router(module.router, prefix=API_PREFIX)
    from api.routes import alerts as alert_routes  # 告警 (issue #18 part 1)
    app.include_router(alert_routes.router, prefix=API_PREFIX)
    from api.routes import calibration as calibration_routes  # 一致性、抽检、校准 (#16 part 3)
    app.include_router(calibration_routes.router, prefix=API_PREFIX)
    from api.routes import rule_studio  # 规则工作室 (issue #16)
    app.include_router(rule_studio.router, prefix=API_PREFIX)

    @app.get(f"{API_PREFIX}/health", tags=["meta"], summary="服务状态 / liveness",
             responses={503: {"description": "录音收取已停止或出错 / ingestion stopped or "
                                             "failing (see ingestion.message)"}})
    def health():
        from qa.ingest import read_ingest_status
        ingestion = read_ingest_status(settings.home, stale_s=max(300.0, 3 * settings.rescan_s))
        if ingestion is None:  # no watching ingestion writes to this home
            return {"status": "ok"}
        if ingestion.pop("ok"):
            return {"status": "ok", "ingestion": ingestion}
        return JSONResponse({"status": "degraded", "ingestion": ingestion}, status_code=503)

    if web and importlib.util.find_spec("api.web") is not None:  # the web UI (issue 7), when present
        from api import web  # noqa: PLC0415
        web.register(app)
    from qa.pii import install_log_masking
    # personal data in log messages masked as the stored policy's ``logs`` says
    install_log_masking(app.state.engine, "uvicorn.error", "uvicorn.access")
    openapi.install(app)  # the error answers as the handlers above send them
    return app
