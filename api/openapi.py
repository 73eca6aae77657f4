"""The OpenAPI document's error answers, true to what :mod:`api.app` sends (issue #20 item 8).

FastAPI documents only the statuses a route names in ``responses=`` (without a body unless it
names a model) and a 422 with its own ``HTTPValidationError``, which the app never sends.
:func:`install` post-processes the generated document:

* every operation also lists the statuses that come from the shared dependencies and from
  FastAPI itself (:func:`implied_statuses`): 401 and 403 where it needs a signed-in user (its
  ``security``, from :data:`api.deps.BEARER` / :data:`api.deps.COOKIE`), 400 where a body (or
  the form read for the CSRF token) may fail to parse;
* every 4xx answer gets its real body: :class:`~api.schemas.ErrorPublic` (``{"detail": "…"}``),
  a 422 :class:`~api.schemas.ValidationErrorPublic`; FastAPI's unused validation schemas go.

Statuses particular to one operation (404, 409, 413, 416, 429, …) are named where they are
raised from: in that route's ``responses=``.
"""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema

from api.deps import ONE_TIME_ALLOWED, SAFE_METHODS
from api.schemas import ErrorPublic, ValidationErrorPublic

REF = "#/components/schemas/{model}"
#: The description of a status an operation does not describe itself.
DESCRIPTIONS = {
    400: "请求体无法解析 / the request body could not be parsed",
    401: "未登录或登录已过期 / not signed in or session expired",
    403: "无权限、须先修改一次性密码或缺少 CSRF 令牌 / not allowed: role, one-time password "
         "or CSRF token",
    422: "参数无效 / invalid parameters",
}


def implied_statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation can answer without naming them in ``responses=``
    (FastAPI documents 422 by itself wherever there are parameters or a body)."""
    signed_in = bool(operation.get("security"))
    writes = method.upper() not in SAFE_METHODS
    out = set()
    if "requestBody" in operation or (signed_in and writes):
        out.add(400)  # a body that is not UTF-8, a broken form (read for its CSRF field)
    if signed_in:
        out.add(401)
        if writes or path not in ONE_TIME_ALLOWED:
            out.add(403)  # role, one-time password, CSRF token (cookie writes)
    return out


def document_errors(doc: dict[str, Any]) -> dict[str, Any]:
    """Adds the implied statuses and the error bodies to ``doc``, in place (running it again
    changes nothing); returns ``doc``."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    _, top = models_json_schema([(ErrorPublic, "serialization"),
                                 (ValidationErrorPublic, "serialization")], ref_template=REF)
    schemas.update(top["$defs"])
    for path, operations in doc.get("paths", {}).items():
        for method, op in operations.items():
            responses = op.setdefault("responses", {})
            for status in implied_statuses(path, method, op):
                responses.setdefault(str(status), {"description": DESCRIPTIONS[status]})
            for status, answer in responses.items():
                if not (status.isdigit() and 400 <= int(status) < 500):
                    continue
                model = ValidationErrorPublic if status == "422" else ErrorPublic
                answer["content"] = {"application/json": {
                    "schema": {"$ref": REF.format(model=model.__name__)}}}
                if answer.get("description") == "Validation Error":  # FastAPI's
                    answer["description"] = DESCRIPTIONS[422]
            op["responses"] = dict(sorted(responses.items()))
    return doc


def install(app: FastAPI) -> None:
    """Makes ``app.openapi()`` return its document with :func:`document_errors` applied."""
    generate = app.openapi
    app.openapi = lambda: document_errors(generate())  # generate() caches; this is idempotent
