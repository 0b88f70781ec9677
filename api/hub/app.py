"""The hub's app factory. ``create_app(settings)`` for code and tests; ``app_from_env`` for ``uvicorn --factory``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from aim import __version__
from aim.bootstrap import Hub, bootstrap
from aim.settings import Settings
from api.hub import alerts, errors, governance, review, search, sign_in
from api.hub.limits import RequestLimits
from api.hub.routes import router
from api.hub.schemas import ErrorOut


def create_app(settings: Settings | None = None, *, hub: Hub | None = None) -> FastAPI:
    """Build the API over ``hub`` (or a hub bootstrapped from ``settings``); the database must be migrated."""
    hub = hub or bootstrap(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Routes and dependencies are synchronous: each request is worked on by one of these threads at a time.
        to_thread.current_default_thread_limiter().total_tokens = hub.settings.request_threads
        hub.start_children()  # warm before the first batch and commit
        yield
        hub.close()

    app = FastAPI(title="AIM hub", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.hub = hub
    errors.install(app)
    app.add_middleware(RequestLimits, hub=hub)
    app.include_router(router)
    for module in (sign_in, review, alerts, governance, search):
        app.include_router(module.router)
    app.openapi = _openapi_with_hub_errors(app)  # type: ignore[method-assign]
    return app


def _openapi_with_hub_errors(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The schema, with FastAPI's own 422 body (``HTTPValidationError``) replaced by the hub's error body: every
    error, a validation error too, is rendered as :class:`ErrorOut` by :mod:`api.hub.errors`."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            components = schema.get("components", {}).get("schemas", {})
            if "HTTPValidationError" in components:
                components["HTTPValidationError"] = ErrorOut.model_json_schema()
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory api.hub.app:app_from_env``: settings from ``AIM_*``, schema migrated first, each commit
    applied, linked and ruled on in a child process (:mod:`aim.after_commit`), and arriving batches checked in another
    (:mod:`aim.ingest.checking`)."""
    return create_app(hub=bootstrap(Settings.from_env(), migrate_schema=True, after_commit_in_child=True))
