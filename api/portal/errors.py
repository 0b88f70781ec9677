"""Every failure becomes a plain page: what went wrong and what to do, with the policy's reasons when it refused.

PageError (an AimError) is raised by the screens; HubError (api.portal.hub) by hub calls; both, FastAPI's own
validation errors, unknown addresses and anything unexpected are rendered by :func:`install`. Never a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from aim.errors import AimError
from api.portal.hub import HubError
from api.portal.session import COOKIE

log = logging.getLogger("aim.portal")


class PageError(AimError):
    """Raised by a screen when it cannot go on: a title, what went wrong, and what to do."""

    def __init__(
        self,
        title: str,
        detail: str,
        todo: str,
        *,
        status: int = 400,
        reasons: list[dict[str, Any]] | None = None,
        back: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.title = title
        self.detail = detail
        self.todo = todo
        self.status = status
        self.reasons = reasons or []
        self.back = back


class SignInRequired(AimError):
    """Raised when a screen needs a signed-in user and there is none."""


def from_hub(exc: HubError, *, back: str | None = None) -> PageError:
    """The page for a hub refusal: the policy's reasons for a 403, the problems for a 422."""
    if exc.status == 403:
        return PageError(
            "Access refused by the access policy",
            "The partnership's access policy does not allow this request.",
            "Check the purpose and case reference you declared. If you need this access, ask your Data Protection "
            "Officer; every refused request is recorded in the audit log.",
            status=403,
            reasons=exc.problems,
            back=back,
        )
    if exc.status == 404:
        return PageError("Not found", str(exc), "Check the link, or go back and search again.", status=404, back=back)
    if exc.status == 422:
        return PageError(
            "The hub could not accept this",
            str(exc),
            "Correct the details below and try again.",
            status=422,
            reasons=exc.problems,
            back=back,
        )
    if exc.status == 503:
        return PageError(
            "The hub is not available",
            "The portal could not reach the AIM hub.",
            "Try again in a few minutes. If it keeps happening, tell the service desk.",
            status=503,
            back=back,
        )
    return PageError(
        "The hub could not do this",
        str(exc),
        "Try again. If it keeps happening, tell the service desk.",
        status=502,
        back=back,
    )


def install(app: FastAPI, render: Callable[..., Response]) -> None:
    """Register the handlers; ``render(request, template, status, **context)`` draws a page."""

    async def page_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageError)
        return render(request, "error.html", exc.status, error=exc)

    async def hub_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HubError)
        if exc.status == 401:
            app.state.sessions.drop(request.cookies.get(COOKIE))
            response = RedirectResponse("/signin?expired=1", status_code=303)
            response.delete_cookie(COOKIE)
            return response
        return render(request, "error.html", from_hub(exc).status, error=from_hub(exc, back=request.url.path))

    async def sign_in_required(request: Request, _exc: Exception) -> Response:
        return RedirectResponse("/signin", status_code=303)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        fields = sorted({str(e.get("loc", ("", ""))[-1]) for e in exc.errors()})
        error = PageError(
            "Some details are missing or not valid",
            "These fields need attention: " + ", ".join(fields) + ".",
            "Go back, complete or correct them, and try again.",
            status=400,
        )
        return render(request, "error.html", 400, error=error)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            error = PageError("Page not found", "There is no page at this address.", "Use the menu above.", status=404)
        else:
            error = PageError(
                "This request cannot be handled",
                str(exc.detail),
                "Use the menu above to go on.",
                status=exc.status_code,
            )
        return render(request, "error.html", error.status, error=error)

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("portal error %s on %s %s", type(exc).__name__, request.method, request.url.path)
        error = PageError(
            "Sorry, something went wrong",
            "The portal could not show this page.",
            "Try again. If it keeps happening, tell the service desk the time it happened.",
            status=500,
        )
        return render(request, "error.html", 500, error=error)

    app.add_exception_handler(PageError, page_error)
    app.add_exception_handler(HubError, hub_error)
    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
