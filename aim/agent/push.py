"""Pushing a feed to the hub: manifest, batches, commit, each retried with the same idempotency keys.

A retry sends the very same bytes to the very same URL, so whatever the hub did before the failure, the retry
either does it or gets the first result back. Retried: connection failures, timeouts, 409 (a duplicate still in
flight), 429 and 5xx. Anything else is the hub's final answer and is raised as :class:`PushError`.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aim.errors import AimError, InputError
from aim.ingest.batches import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_ROWS, count_rows, split_feed, split_rows
from aim.partner.credentials import KEY_ID_HEADER, SIGNATURE_HEADER, sign, signing_key_id

RETRY_STATUS = frozenset({409, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 3600.0


class PushError(AimError):
    """Raised when the hub refuses a request for good (a 4xx other than 409/429), or retries run out."""

    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with jitter, up to ``deadline_s`` seconds for one request; never sooner than a
    ``Retry-After`` the hub sent."""

    deadline_s: float = 900.0
    first_delay_s: float = 0.25
    max_delay_s: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic


@dataclass
class HubClient:
    """Signed requests to one hub for one partner."""

    base_url: str
    token: str
    signing_key: Ed25519PrivateKey
    http: httpx.Client | None = None
    timeout_s: float = 600.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    on_retry: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        self.key_id = signing_key_id(self.signing_key)
        self._http = self.http or httpx.Client(base_url=self.base_url.rstrip("/"), timeout=self.timeout_s)

    def close(self) -> None:
        if self.http is None:
            self._http.close()

    def call(self, method: str, path: str, body: bytes = b"", content_type: str | None = None) -> httpx.Response:
        """Send one signed request, retrying transient failures with the same bytes; return the final response."""
        headers = {
            "Authorization": f"Bearer {self.token}",
            KEY_ID_HEADER: self.key_id,
            SIGNATURE_HEADER: sign(self.signing_key, method=method, path=path, body=body),
        }
        if content_type:
            headers["Content-Type"] = content_type
        started = self.retry.monotonic()
        delay = self.retry.first_delay_s
        while True:
            asked = None  # the hub's Retry-After, in seconds
            try:
                response = self._http.request(method, path, content=body, headers=headers)
                if response.status_code not in RETRY_STATUS:
                    return _checked(response)
                problem = f"HTTP {response.status_code}"
                asked = retry_after(response.headers.get("Retry-After"))
            except httpx.TransportError as exc:
                problem = type(exc).__name__
            wait = delay * (0.5 + random.random())  # noqa: S311 - jitter, not a secret
            if asked is not None:  # never sooner than the hub asked (a busy hub says when to come back)
                wait = max(wait, asked)
                problem += f", Retry-After {asked:g}s"
            if self.retry.monotonic() - started + wait > self.retry.deadline_s:
                why = f"the next wait ({wait:.0f}s) would pass" if asked and asked == wait else "retried for"
                raise PushError(f"{method} {path}: gave up: {why} the {self.retry.deadline_s:.0f}s allowed ({problem})")
            if self.on_retry:
                self.on_retry(f"{method} {path}: {problem}; retrying in {wait:.1f}s")
            self.retry.sleep(wait)
            delay = min(delay * 2, self.retry.max_delay_s)


def retry_after(value: str | None) -> float | None:
    """The seconds a ``Retry-After`` header asks to wait (delay-seconds or an HTTP date, RFC 9110), at most an
    hour; ``None`` when absent or unreadable (the back-off alone then decides)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return min(max(0.0, (when - datetime.now(UTC)).total_seconds()), MAX_RETRY_AFTER_S)


def _checked(response: httpx.Response) -> httpx.Response:
    if response.is_success:
        return response
    try:
        body = response.json()
        detail = body.get("detail", "") if isinstance(body, dict) else ""
        problems = body.get("problems") if isinstance(body, dict) else None
    except ValueError:
        body, detail, problems = None, response.text[:200], None
    suffix = f" {problems}" if problems else ""
    raise PushError(
        f"the hub refused ({response.status_code}): {detail}{suffix}", status=response.status_code, body=body
    )


def push_feed(
    path: Path,
    *,
    client: HubClient,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    progress: Callable[[int], object] | None = None,
) -> dict[str, Any]:
    """Push the feed file at ``path`` and return the hub's receipt. ``progress`` is told the rows of each batch."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the feed {path}: {exc.strerror}") from None
    feed = split_feed(data)
    feed_id = feed.manifest.feed_id
    client.call("POST", "/v1/feeds", feed.manifest_line, "application/json")
    for seq, batch in enumerate(split_rows(feed.body, max_rows=batch_rows, max_bytes=batch_bytes), start=1):
        try:
            client.call("PUT", f"/v1/feeds/{feed_id}/batches/{seq}", batch, "application/x-ndjson")
        except PushError as exc:
            if exc.status != 413:
                raise
            raise PushError(
                f"batch {seq} ({count_rows(batch):,} rows, {len(batch):,} bytes) is larger than the hub takes "
                f"({exc}): push the feed again with a smaller --batch-rows (batch_rows in a schedule file)",
                status=413,
                body=exc.body,
            ) from None
        if progress:
            progress(count_rows(batch))
    receipt: dict[str, Any] = client.call("POST", f"/v1/feeds/{feed_id}/commit").json()
    return receipt


def fetch_receipt(feed_id: str, *, client: HubClient) -> dict[str, Any]:
    receipt: dict[str, Any] = client.call("GET", f"/v1/feeds/{feed_id}/receipt").json()
    return receipt
