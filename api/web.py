"""The web interface (issue 7): server-rendered pages for supervisors and agents.

:func:`register` is called by :func:`api.app.create_app`: it mounts ``/static`` (CSS, the
small page scripts and the vendored Chart.js), adds the HTML routes of
:mod:`api.routes.pages`, and makes service errors and missing sessions on HTML pages render as
Chinese error pages / a redirect to the login page (JSON routes under ``/api`` keep their JSON
errors).

The pages read through the same services as the JSON API (:mod:`api.services`) with the same
visibility rules (an agent sees only their own calls); every change a page makes goes through
the JSON API with the session's CSRF token, so authorisation lives in one place.
"""
from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.services.errors import ServiceError
from api.templating import HERE, LoginRequired, PasswordChangeRequired, render, zh


def register(app: FastAPI) -> None:
    """Add the web pages, static files and the HTML error handling to ``app``."""
    from api.routes import pages

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(pages.router)
    from api.routes import rule_studio_pages  # 规则工作室 (issue #16 part 2)
    app.include_router(rule_studio_pages.router)
    from api.routes import calibration_pages  # 一致性、随机抽检、校准 (issue #16 part 3)
    app.include_router(calibration_pages.router)
    previous = app.exception_handlers.get(ServiceError)

    async def _service_error(request: Request, exc: ServiceError) -> Response:
        if request.url.path.startswith("/api/") and previous is not None:
            return await previous(request, exc)
        return render(request, "error.html", status_code=exc.status_code,
                      title="出错了", message=zh(exc.message), status=exc.status_code)

    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(LoginRequired, _login_required)

    async def _password_change(request: Request, exc: PasswordChangeRequired) -> Response:
        return RedirectResponse("/account", status_code=303)

    app.add_exception_handler(PasswordChangeRequired, _password_change)
