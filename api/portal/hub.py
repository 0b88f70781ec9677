"""The portal's client for the hub's staff API: one signed-in user's bearer token, purpose and case reference on
every call, and the hub's error bodies turned into :class:`HubError` for the error page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from aim.errors import AimError

PURPOSE_HEADER = "X-AIM-Purpose"
CASE_REF_HEADER = "X-AIM-Case-Ref"


class HubError(AimError):
    """Raised when the hub refuses a call or cannot be reached; carries its status, code and the policy's reasons."""

    def __init__(self, message: str, *, status: int, code: str, problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.problems = problems or []


@dataclass(frozen=True)
class Context:
    """Who is asking and why: the staff token, and the declared purpose and case reference."""

    token: str
    purpose: str | None = None
    case_reference: str | None = None


@dataclass
class HubAPI:
    """Calls to the hub's staff endpoints over one HTTP client (a real one, or a test client)."""

    http: httpx.Client
    extra_headers: dict[str, str] = field(default_factory=dict)

    def call(
        self, ctx: Context, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {ctx.token}", **self.extra_headers}
        if ctx.purpose:
            headers[PURPOSE_HEADER] = ctx.purpose
        if ctx.case_reference:
            headers[CASE_REF_HEADER] = ctx.case_reference
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return self._send(method, path, headers, json=json, params=clean)

    # Signing in and out (no policy decision: these issue and revoke the token every other call carries)
    def sign_in(self, user_id: str, password: str) -> Any:
        """A bearer token for the user (``token``, ``expires_at``, ``display_name``, ``role``); 401 when refused."""
        return self._send(
            "POST", "/v1/sign-in", dict(self.extra_headers), json={"user_id": user_id, "password": password}
        )

    def sign_out(self, token: str) -> None:
        """Revoke ``token`` at the hub."""
        self._send("POST", "/v1/sign-out", {"Authorization": f"Bearer {token}", **self.extra_headers})

    def _send(
        self, method: str, path: str, headers: dict[str, str], *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        try:
            response = self.http.request(method, path, json=json, params=params, headers=headers)
        except httpx.HTTPError:
            raise HubError("the hub did not answer", status=503, code="unreachable") from None
        if response.is_success:
            return response.json() if response.content else None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        raise HubError(
            str(body.get("detail") or f"the hub answered {response.status_code}"),
            status=response.status_code,
            code=str(body.get("error") or "refused"),
            problems=[p for p in body.get("problems") or [] if isinstance(p, dict)],
        )

    # Search and persons
    def search(self, ctx: Context, body: dict[str, Any]) -> Any:
        return self.call(ctx, "POST", "/v1/search", json=body)

    def person(self, ctx: Context, person_id: int) -> Any:
        return self.call(ctx, "GET", f"/v1/persons/{person_id}")

    def timeline(self, ctx: Context, person_id: int, *, offset: int = 0) -> Any:
        return self.call(ctx, "GET", f"/v1/persons/{person_id}/timeline", params={"limit": 100, "offset": offset})

    # Alerts and the watch list
    def alerts(self, ctx: Context, **filters: Any) -> Any:
        return self.call(ctx, "GET", "/v1/alerts", params=filters)

    def alert(self, ctx: Context, alert_id: int) -> Any:
        return self.call(ctx, "GET", f"/v1/alerts/{alert_id}")

    def alert_action(self, ctx: Context, alert_id: int, action: str, body: dict[str, Any] | None) -> Any:
        return self.call(ctx, "POST", f"/v1/alerts/{alert_id}/{action}", json=body)

    def watchlist(self, ctx: Context, *, status: str = "active") -> Any:
        return self.call(ctx, "GET", "/v1/watchlist", params={"status": status, "limit": 200})

    def watch_add(self, ctx: Context, body: dict[str, Any]) -> Any:
        return self.call(ctx, "POST", "/v1/watchlist", json=body)

    def watch_action(self, ctx: Context, entry_id: int, action: str, body: dict[str, Any]) -> Any:
        return self.call(ctx, "POST", f"/v1/watchlist/{entry_id}/{action}", json=body)

    # The DPO's screens
    def audit(self, ctx: Context, **filters: Any) -> Any:
        return self.call(ctx, "GET", "/v1/audit", params=filters)

    def verify(self, ctx: Context) -> Any:
        return self.call(ctx, "GET", "/v1/audit/verify")

    def break_glass_reviews(self, ctx: Context, *, include_reviewed: bool) -> Any:
        return self.call(ctx, "GET", "/v1/break-glass/reviews", params={"include_reviewed": include_reviewed})

    def mark_reviewed(self, ctx: Context, use_id: int, note: str) -> Any:
        return self.call(ctx, "POST", f"/v1/break-glass/reviews/{use_id}", json={"note": note})

    def break_glass(self, ctx: Context, body: dict[str, Any]) -> Any:
        return self.call(ctx, "POST", "/v1/break-glass", json=body)

    def transparency(self, ctx: Context, *, period_start: str, period_end: str) -> Any:
        return self.call(ctx, "GET", "/v1/transparency", params={"from": period_start, "to": period_end})

    # The data steward's review queue
    def review_pairs(self, ctx: Context, *, limit: int) -> Any:
        return self.call(ctx, "GET", "/v1/review/pairs", params={"limit": limit})

    def review_decide(self, ctx: Context, pair_id: int, decision: str, note: str | None) -> Any:
        return self.call(ctx, "POST", f"/v1/review/pairs/{pair_id}/{decision}", json={"note": note})

    def review_split(self, ctx: Context, person_id: int, records: list[dict[str, str]]) -> Any:
        return self.call(ctx, "POST", f"/v1/review/persons/{person_id}/split", json={"records": records})

    def review_undo(self, ctx: Context, event_id: int) -> Any:
        return self.call(ctx, "POST", f"/v1/review/events/{event_id}/undo")
