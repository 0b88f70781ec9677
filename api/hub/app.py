"""The hub's app factory. ``create_app(settings)`` for code and tests; ``app_from_env`` for ``uvicorn --factory``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aim import __version__
from aim.bootstrap import Hub, bootstrap
from aim.settings import Settings
from api.hub import alerts, errors, governance, review, search
from api.hub.routes import router


def create_app(settings: Settings | None = None, *, hub: Hub | None = None) -> FastAPI:
    """Build the API over ``hub`` (or a hub bootstrapped from ``settings``); the database must be migrated."""
    hub = hub or bootstrap(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        hub.close()

    app = FastAPI(title="AIM hub", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.hub = hub
    errors.install(app)
    app.include_router(router)
    for module in (review, alerts, governance, search):
        app.include_router(module.router)
    return app


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory api.hub.app:app_from_env``: settings from ``AIM_*``, schema migrated first."""
    return create_app(hub=bootstrap(Settings.from_env(), migrate_schema=True))
