"""Errors raised by the services; the app maps them to HTTP statuses."""
from __future__ import annotations


class ServiceError(Exception):
    """Base: ``message`` is for people (Chinese first, English after a slash)."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    status_code = 404


class Forbidden(ServiceError):
    status_code = 403


class Conflict(ServiceError):
    status_code = 409


class Invalid(ServiceError):
    status_code = 422


class InvalidFields(Invalid):
    """A 422 that names every problem: ``fields`` are the entries of the answer's ``detail``
    (``{"field", "message", "type"}``, as :class:`api.schemas.ValidationErrorPublic`)."""

    def __init__(self, message: str, fields: list[dict[str, str | None]]) -> None:
        super().__init__(message)
        self.fields = fields


class TooLarge(ServiceError):
    status_code = 413


class Throttled(ServiceError):
    status_code = 429
