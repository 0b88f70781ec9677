"""Domain errors to JSON responses: the one place that knows HTTP status codes.

Every response body is ``{"error": <code>, "detail": <message>, "problems": [...]}``. Messages come from the
services, which never put a submitted value in them; FastAPI's own validation errors are rendered here too, with
the location and rule of each problem but never the input.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError

from aim.access.errors import AccessDeniedError, NotSignedInError
from aim.errors import AimError, ConfigError, InputError, NotFoundError
from aim.identity.errors import IdentityBusyError
from aim.ingest.errors import CommitUnavailableError, FeedConflictError, InFlightError
from aim.partner.errors import AuthenticationError, NotPermittedError
from aim.rules.errors import LifecycleConflictError

log = logging.getLogger("aim.api.hub")
STORAGE_RETRY_AFTER_S = 5


class BodyTooLargeError(AimError):
    """Raised at the edge when a request body is larger than ``AIM_MAX_BODY_BYTES``."""


class MediaTypeError(AimError):
    """Raised at the edge when a request body has a content type the endpoint does not take."""


# Most specific first: the first class an error is an instance of decides.
STATUS: tuple[tuple[type[AimError], int, str], ...] = (
    (AuthenticationError, 401, "unauthenticated"),
    (NotSignedInError, 401, "unauthenticated"),
    (NotPermittedError, 403, "forbidden"),
    (AccessDeniedError, 403, "forbidden"),
    (NotFoundError, 404, "not_found"),
    (InFlightError, 409, "in_flight"),
    (LifecycleConflictError, 409, "conflict"),
    (IdentityBusyError, 409, "busy"),
    (BodyTooLargeError, 413, "too_large"),
    (MediaTypeError, 415, "unsupported_media_type"),
    (FeedConflictError, 422, "conflict"),
    (InputError, 422, "invalid"),
    (ConfigError, 500, "configuration"),
    (CommitUnavailableError, 503, "unavailable"),
)


def status_of(exc: AimError) -> tuple[int, str]:
    for cls, status, code in STATUS:
        if isinstance(exc, cls):
            return status, code
    return 400, "refused"


def _body(code: str, detail: str, problems: list[object] | None = None) -> dict[str, object]:
    return {"error": code, "detail": detail, "problems": problems or []}


async def _aim_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AimError)
    status, code = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": str(STORAGE_RETRY_AFTER_S)}
    if status >= 500:
        log.error("hub error %s", type(exc).__name__)
    problems: list[object] = list(getattr(exc, "problems", []))
    return JSONResponse(_body(code, str(exc), problems), status_code=status, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems: list[object] = [
        {"location": [str(part) for part in error.get("loc", ())], "problem": error.get("msg", "invalid")}
        for error in exc.errors()
    ]
    return JSONResponse(_body("invalid", "the request is not valid", problems), status_code=422)


async def _out_of_range(_request: Request, exc: Exception) -> JSONResponse:
    # SQLite stores integers in 64 bits; a larger id or number from the client can match nothing and is refused.
    detail = "a number in the request is out of range: ids and counts are at most 9223372036854775807"
    return JSONResponse(_body("invalid", detail), status_code=422)


async def _storage_failed(_request: Request, exc: Exception) -> JSONResponse:
    # The database could not read or write (an I/O error, a full disk, a lost connection, a lock held too long, no
    # pooled connection free in time): the open transaction was rolled back, and the same request may well succeed
    # shortly. Logged by type, never values.
    assert isinstance(exc, OperationalError | SATimeoutError)
    log.error("storage failed: %s", type(getattr(exc, "orig", None) or exc).__name__)
    detail = (
        "the hub's storage failed, so the request did not complete (what it had not finished was rolled back): "
        f"send it again in {STORAGE_RETRY_AFTER_S} s"
    )
    headers = {"Retry-After": str(STORAGE_RETRY_AFTER_S)}
    return JSONResponse(_body("unavailable", detail), status_code=503, headers=headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return JSONResponse(_body("internal", "the hub could not process the request; retry later"), status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(AimError, _aim_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(OperationalError, _storage_failed)
    app.add_exception_handler(SATimeoutError, _storage_failed)  # every pooled connection busy for too long
    app.add_exception_handler(Exception, _unexpected)
