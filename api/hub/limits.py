"""Request limits at the edge: body size (413) and request rates (429), before any route, dependency or parsing runs.

One pure ASGI middleware, :class:`RequestLimits`, in front of every hub endpoint:

* **Body size.** A feed batch may be up to ``AIM_MAX_BODY_BYTES``; every other endpoint takes small JSON and is held to
  ``AIM_MAX_JSON_BODY_BYTES``. A ``Content-Length`` over the limit is refused at once; a body streamed without one is
  counted as it arrives and refused as soon as it passes the limit, so an oversized body is never held in memory.
* **Rates.** Each caller (its bearer token, hashed; without one, its address) has ``AIM_RATE_LIMIT`` requests of any
  kind, and a staff user has ``AIM_SEARCH_RATE_LIMIT`` searches (``POST /v1/search``). The counting is the ``limits``
  library's moving window over ``AIM_RATE_LIMIT_STORAGE``: in-process memory for one hub process, a storage the
  processes share (Redis) when ``aim hub serve --workers`` runs several.
* **A search flood is reported to the DPO.** The first refused search of a window writes one ``search_throttled``
  audit entry (outcome *denied*, the user and their role, the limit in the reason), so the DPO's audit search and the
  transparency report's refusals count it without one entry per refused request filling the log. Which refusal is
  the first is counted in the same storage, so several workers still write one entry.

Refusals are rendered like every other error: ``{"error": "too_large" | "rate_limited", "detail", "problems"}``, and a
429 carries ``Retry-After`` in seconds.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from typing import Any

from limits import RateLimitItem, parse
from limits.errors import ConfigurationError, StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aim.bootstrap import Hub
from aim.errors import ConfigError
from governance import AuditEvent, Outcome

SEARCH_PATH = "/v1/search"
FEED_PREFIX = "/v1/feeds"
THROTTLE_ACTION = "search_throttled"
# Options for a shared storage's client (redis-py): give up on an unreachable storage within a second.
_TIMEOUTS = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}


def caller_key(scope: Scope) -> str:
    """Who is asking, for counting: a digest of the bearer token (never the token), else the client address."""
    scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token:
        return "token:" + hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    client = scope.get("client")
    return f"addr:{client[0] if client else 'unknown'}"


def _bearer(scope: Scope) -> str | None:
    scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _rule(limit: RateLimitItem) -> str:
    return f"at most {limit}"  # e.g. "at most 30 per 1 minute"


class RequestLimits:
    """The body-size and rate limits of :mod:`api.hub.limits`, in front of the hub's app."""

    def __init__(self, app: ASGIApp, *, hub: Hub) -> None:
        self.app = app
        self.hub = hub
        settings = hub.settings
        self.max_body = settings.max_body_bytes
        self.max_json_body = settings.max_json_body_bytes
        shared = not settings.rate_limit_storage.startswith("memory:")
        try:  # a shared storage that does not answer within a second fails the request (503), never hangs it
            storage = storage_from_string(
                settings.rate_limit_storage, wrap_exceptions=True, **(_TIMEOUTS if shared else {})
            )
        except ConfigurationError as exc:  # e.g. redis:// without the redis package
            raise ConfigError(f"AIM_RATE_LIMIT_STORAGE={settings.rate_limit_storage}: {exc}") from exc
        self.limiter = MovingWindowRateLimiter(storage)
        self.any_limit = parse(settings.rate_limit) if settings.rate_limit else None
        self.search_limit = parse(settings.search_rate_limit) if settings.search_rate_limit else None
        # One flood report per caller per window of the search limit.
        self.report_limit = type(self.search_limit)(1, self.search_limit.multiples) if self.search_limit else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = caller_key(scope)
        try:
            if self.any_limit is not None and not self.limiter.hit(self.any_limit, "any", key):
                await self._too_many(send, self.any_limit, key, "requests")
                return
            is_search = scope["method"] == "POST" and scope["path"] == SEARCH_PATH
            if is_search and self.search_limit is not None and not self.limiter.hit(self.search_limit, "search", key):
                await self._report_flood(scope, key, self.search_limit)
                await self._too_many(send, self.search_limit, key, "searches")
                return
        except StorageError as exc:  # the shared storage is down: no request goes uncounted
            detail = (
                f"the hub cannot count requests against its rate limits (AIM_RATE_LIMIT_STORAGE did not answer: "
                f"{type(exc.storage_error).__name__}); retry shortly"
            )
            await _refuse(send, 503, "unavailable", detail, headers=[(b"retry-after", b"5")])
            return
        limit = self.max_body if scope["path"].startswith(FEED_PREFIX) else self.max_json_body
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, 413, "too_large", _too_large(limit))
            return
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Run the app with the body counted as it arrives; past ``limit``: 413 to the client, disconnect to the app."""
        received = 0
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await _refuse(send, 413, "too_large", _too_large(limit))
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:  # the 413 has been sent: whatever the app answers to the disconnect goes nowhere
                await send(message)

        await self.app(scope, counting_receive, guarded_send)

    async def _too_many(self, send: Send, limit: RateLimitItem, key: str, what: str) -> None:
        stats = self.limiter.get_window_stats(limit, "search" if what == "searches" else "any", key)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        detail = f"too many {what}: the hub allows {_rule(limit)} from one caller; retry after {retry} s"
        await _refuse(send, 429, "rate_limited", detail, headers=[(b"retry-after", str(retry).encode())])

    async def _report_flood(self, scope: Scope, key: str, limit: RateLimitItem) -> None:
        """One ``search_throttled`` audit entry per caller per window, for the DPO."""
        if self.report_limit is not None and self.limiter.hit(self.report_limit, "reported", key):
            await run_in_threadpool(self._write_flood_entry, _bearer(scope), limit)

    def _write_flood_entry(self, token: str | None, limit: RateLimitItem) -> None:
        access = self.hub.access
        user = access.users.authenticate(token)
        access.audit.append(
            AuditEvent(
                occurred_at=access.clock.now(),
                actor=user.user_id if user else None,
                action=THROTTLE_ACTION,
                outcome=Outcome.DENIED,
                organisation=user.organisation if user else None,
                roles=(user.role,) if user else (),
                reasons=(f"rate_limited: more searches than the hub allows ({_rule(limit)}); answered 429",),
                counts={"limit": limit.amount},
            )
        )


def _too_large(limit: int) -> str:
    return f"the body is larger than the hub's limit of {limit} bytes for this endpoint: send a smaller body"


async def _refuse(
    send: Send, status: int, code: str, detail: str, *, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"error": code, "detail": detail, "problems": []}).encode()
    start: dict[str, Any] = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        + (headers or []),
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})
