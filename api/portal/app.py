"""The portal's app factory. ``create_app(settings)`` for code and tests; ``app_from_env`` for ``uvicorn --factory``.

Screens: sign in (:mod:`api.portal.pages_auth`), search, results and timeline (:mod:`api.portal.pages_search`),
alerts and the watch list (:mod:`api.portal.pages_alerts`), the DPO's audit, break-glass and transparency screens
(:mod:`api.portal.pages_dpo`), the data steward's review queue (:mod:`api.portal.pages_review`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from aim import __version__
from aim.keys import load_keys
from api.portal import errors, pages_alerts, pages_auth, pages_dpo, pages_review, pages_search
from api.portal.deps import Portal, render
from api.portal.hub import HubAPI
from api.portal.session import SessionStore
from api.portal.settings import PortalSettings


def create_app(settings: PortalSettings, *, http: httpx.Client | None = None) -> FastAPI:
    """Build the portal; ``http`` replaces the HTTP client to the hub (tests pass one bound to a hub app)."""
    client = http or httpx.Client(base_url=settings.hub_url.rstrip("/"), timeout=settings.hub_timeout_s)
    sessions = SessionStore()
    portal = Portal(
        settings=settings,
        keys=load_keys(directory=Path(settings.keys_dir)),
        policy=settings.policy(),
        hub=HubAPI(http=client),
        sessions=sessions,
        demo_users=settings.demo_users(),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if http is None:
            client.close()

    app = FastAPI(
        title="AIM portal", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.portal = portal
    app.state.sessions = sessions
    errors.install(app, render)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for module in (pages_auth, pages_search, pages_alerts, pages_dpo, pages_review):
        app.include_router(module.router)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory api.portal.app:app_from_env``: settings from ``AIM_PORTAL_*``."""
    return create_app(PortalSettings.from_env())
