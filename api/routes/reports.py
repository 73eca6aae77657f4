"""Report exports: monthly assessment, weekly complaint report, complaint statistics."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import MONTH_PATTERN, WEEK_PATTERN, SessionDep, SettingsDep, SupervisorUser, client_ip
from api.services.audit import audit
from api.services.errors import Invalid
from api.services.privacy import Masking, mask_report
from qa import report_data

router = APIRouter(prefix="/reports", tags=["reports"])
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "csv": "text/csv; charset=utf-8", "json": "application/json"}


@router.get("/{kind}", response_class=Response,
            responses={200: {"content": {m: {} for m in MEDIA.values()}},
                       422: {"description": "参数无效"}},
            summary="导出报表 / export a report (monthly | weekly | complaints)")
def export(kind: Literal["monthly", "weekly", "complaints"], user: SupervisorUser,
           db: SessionDep, settings: SettingsDep, request: Request,
           month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
           week: Annotated[str | None, Query(pattern=WEEK_PATTERN)] = None,
           format: Literal["xlsx", "csv", "json"] = "xlsx") -> Response:
    try:
        doc = report_data.build(db, kind, month=month, week=week, settings=settings)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    # Excel/CSV files are exports; the JSON document is the API (the policy's outputs)
    if Masking.for_user(db, user, "api" if format == "json" else "exports").masked:
        doc = mask_report(doc)
    data = report_data.render(doc, format)
    audit(db, user, "report.export", "report", kind,
          {"month": month, "week": week, "format": format}, client_ip(request))
    db.commit()
    name = f"{kind}-{month or week}.{format}"
    return Response(data, media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
