"""Typed FastAPI dependencies: the hub, the authenticated partner, and a request body that is size-limited,
of the right content type, and signed by the partner's registered key, checked before any parsing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from aim.bootstrap import Hub
from aim.errors import InputError
from aim.partner.credentials import KEY_ID_HEADER, SIGNATURE_HEADER, signing_message
from aim.partner.model import Partner
from api.hub.errors import BodyTooLargeError, MediaTypeError

JSON = "application/json"
NDJSON = "application/x-ndjson"


def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


HubDep = Annotated[Hub, Depends(get_hub)]


def authenticated_partner(request: Request, hub: HubDep) -> Partner:
    """The partner whose token is in ``Authorization: Bearer``; 401 unknown, 403 agreement not active."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return hub.partners.authenticate(token.strip() if scheme.lower() == "bearer" else None)


PartnerDep = Annotated[Partner, Depends(authenticated_partner)]


@dataclass(frozen=True)
class Signed:
    """A request body proven to come from ``partner``: its exact bytes, not yet parsed."""

    partner: Partner
    body: bytes


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise InputError("Content-Length must be a whole number of bytes")
        if int(declared) > limit:
            raise BodyTooLargeError(f"the body is larger than the hub's limit of {limit} bytes: send smaller batches")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLargeError(f"the body is larger than the hub's limit of {limit} bytes: send smaller batches")
    return bytes(body)


def signed_body(*media_types: str) -> Callable[..., Awaitable[Signed]]:
    """A dependency reading a body of one of ``media_types`` (none: the body must be empty) and verifying its
    signature with the partner's key."""

    async def dependency(request: Request, partner: PartnerDep, hub: HubDep) -> Signed:
        declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_types and declared not in media_types:
            raise MediaTypeError(f"send the body as {' or '.join(media_types)}")
        body = await _read_limited(request, hub.settings.max_body_bytes)
        if not media_types and body:
            raise InputError("this request takes no body")
        # The path exactly as sent (still percent-encoded), so what was signed is what arrived.
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        message = signing_message(request.method, raw_path.decode("latin-1"), body)
        await run_in_threadpool(
            hub.partners.verify_signature,
            partner,
            key_id=request.headers.get(KEY_ID_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER),
            message=message,
        )
        return Signed(partner=partner, body=body)

    return dependency


SignedManifest = Annotated[Signed, Depends(signed_body(JSON))]
SignedBatch = Annotated[Signed, Depends(signed_body(NDJSON))]
SignedEmpty = Annotated[Signed, Depends(signed_body())]
