"""A corpus of malformed requests, feeds and rows. Every one is refused with a 4xx naming the problem, or (for a
bad row inside a good batch) listed as rejected with a reason. None is accepted silently, none gets a 5xx, and no
response echoes the offending value (each carries the marker ``SENTINEL`` where a value could be echoed)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from aim.bootstrap import Hub, bootstrap
from aim.clock import FixedClock
from aim.feed import canonical_dumps
from aim.settings import Settings
from api.hub.app import create_app
from tests import factories as f
from tests.asgi import TestClient

SENTINEL = "SENTINEL"
LIMIT = 64 * 1024
JSON, NDJSON = "application/json", "application/x-ndjson"


@dataclass
class Ctx:
    client: TestClient
    keys: f.PartnerKeys
    tmp: Path

    def send(self, method: str, path: str, body: bytes | None = b"", ctype: str | None = None, **extra: str):
        content = body or b""
        headers = self.keys.headers(method, path, content, ctype) | extra
        return self.client.request(method, path, content=content, headers=headers)

    def manifest(self, **changes: object) -> dict[str, object]:
        manifest = f.feed(self.tmp / "m.feed", f.rows(10))
        return json.loads(f.manifest_line(manifest)) | changes

    def open_feed(self, rows: int = 10) -> bytes:
        """Open WMP-1 for ``rows`` good rows; returns their bytes."""
        f.feed(self.tmp / "ok.feed", f.rows(rows))
        head, _, body = (self.tmp / "ok.feed").read_bytes().partition(b"\n")
        assert self.send("POST", "/v1/feeds", head, JSON).status_code == 201
        return body

    def good_row(self, **changes: object) -> dict[str, object]:
        return f.upsert("R-bad").to_json() | changes


def _manifest(ctx: Ctx, raw: bytes, ctype: str = JSON) -> httpx.Response:
    return ctx.send("POST", "/v1/feeds", raw, ctype)


def _row(ctx: Ctx, line: bytes) -> httpx.Response:
    body = ctx.open_feed()
    first = body.split(b"\n")[0] + b"\n"
    return ctx.send("PUT", "/v1/feeds/WMP-1/batches/1", first + line + b"\n", NDJSON)


def _row_obj(ctx: Ctx, obj: dict[str, object]) -> httpx.Response:
    return _row(ctx, json.dumps(obj).encode())


def _commit_after(ctx: Ctx, body: bytes) -> httpx.Response:
    ctx.send("PUT", "/v1/feeds/WMP-1/batches/1", body, NDJSON)
    return ctx.send("POST", "/v1/feeds/WMP-1/commit")


def _tampered_feed(ctx: Ctx) -> httpx.Response:
    body = ctx.open_feed(3)
    lines = body.split(b"\n")
    return _commit_after(ctx, lines[0] + b"\n" + lines[1] + b"\n" + lines[0] + b"\n")


def _short_feed(ctx: Ctx) -> httpx.Response:
    body = ctx.open_feed(3)
    return _commit_after(ctx, body.split(b"\n")[0] + b"\n")


def _chunked_oversize(ctx: Ctx) -> httpx.Response:
    ctx.open_feed()

    def chunks() -> Iterator[bytes]:
        for _ in range(LIMIT // 1024 + 8):
            yield b"x" * 1024

    headers = ctx.keys.headers("PUT", "/v1/feeds/WMP-1/batches/1", b"", NDJSON)
    return ctx.client.put("/v1/feeds/WMP-1/batches/1", content=chunks(), headers=headers)


BAD_BLOOM = f.upsert("R-bad").to_json()
BAD_BLOOM["enc"] = dict(BAD_BLOOM["enc"], bf_first="QUJD")
BAD_TOKEN = f.upsert("R-bad").to_json()
BAD_TOKEN["enc"] = dict(BAD_TOKEN["enc"], tk_dob="." * 22)

# (description, request, expected status, a word the problem's text must contain)
CASES: list[tuple[str, Callable[[Ctx], httpx.Response], int, str]] = [
    # the manifest
    ("manifest: duplicate keys", lambda c: _manifest(c, b'{"format":"aim-feed","format":"x"}'), 422, "duplicate"),
    ("manifest: NaN", lambda c: _manifest(c, json.dumps(c.manifest(row_count=float("nan"))).encode()), 422, "NaN"),
    ("manifest: Infinity", lambda c: _manifest(c, b'{"row_count": Infinity}'), 422, "Infinity"),
    (
        "manifest: unknown field",
        lambda c: _manifest(c, json.dumps(c.manifest(first_name=SENTINEL)).encode()),
        422,
        "unknown",
    ),
    ("manifest: missing field", lambda c: _manifest(c, json.dumps({"format": "aim-feed"}).encode()), 422, "missing"),
    ("manifest: not an object", lambda c: _manifest(c, b"[1, 2]"), 422, "object"),
    ("manifest: truncated JSON", lambda c: _manifest(c, b'{"format": "aim-'), 422, "JSON"),
    ("manifest: not UTF-8", lambda c: _manifest(c, b'{"format": "\xff\xfe"}'), 422, "JSON"),
    (
        "manifest: negative row count",
        lambda c: _manifest(c, json.dumps(c.manifest(row_count=-1)).encode()),
        422,
        "row_count",
    ),
    (
        "manifest: impossible created date",
        lambda c: _manifest(c, json.dumps(c.manifest(created="2026-02-30T00:00:00Z")).encode()),
        422,
        "created",
    ),
    (
        "manifest: feed id of bad characters",
        lambda c: _manifest(c, json.dumps(c.manifest(feed_id=f"{SENTINEL} x")).encode()),
        422,
        "feed_id",
    ),
    ("manifest: wrong content type", lambda c: _manifest(c, b"{}", "text/plain"), 415, "application/json"),
    ("manifest: no content type", lambda c: c.send("POST", "/v1/feeds", b"{}", None), 415, "application/json"),
    ("manifest: oversize body", lambda c: _manifest(c, b" " * (LIMIT + 1)), 413, "limit"),
    # batches
    (
        "batch: wrong content type",
        lambda c: (c.open_feed(), c.send("PUT", "/v1/feeds/WMP-1/batches/1", b"{}\n", JSON))[1],
        415,
        "x-ndjson",
    ),
    ("batch: feed never opened", lambda c: c.send("PUT", "/v1/feeds/WMP-9/batches/1", b"{}\n", NDJSON), 404, "open it"),
    ("batch: number 0", lambda c: c.send("PUT", "/v1/feeds/WMP-1/batches/0", b"{}\n", NDJSON), 422, "seq"),
    (
        "batch: number not a number",
        lambda c: c.send("PUT", f"/v1/feeds/WMP-1/batches/{SENTINEL}", b"{}\n", NDJSON),
        422,
        "integer",
    ),
    (
        "batch: empty",
        lambda c: (c.open_feed(), c.send("PUT", "/v1/feeds/WMP-1/batches/1", b"", NDJSON))[1],
        422,
        "at least one row",
    ),
    (
        "batch: more rows than the manifest",
        lambda c: (c.open_feed(1), c.send("PUT", "/v1/feeds/WMP-1/batches/1", b"{}\n{}\n", NDJSON))[1],
        422,
        "row_count",
    ),
    ("batch: oversize, chunked", _chunked_oversize, 413, "limit"),
    ("path: feed id of bad characters", lambda c: c.send("GET", f"/v1/feeds/{SENTINEL}%20x/receipt"), 422, "feed_id"),
    # commit
    ("commit: checksum does not match", _tampered_feed, 422, "rows_sha256"),
    ("commit: fewer rows than the manifest", _short_feed, 422, "manifest says 3 rows"),
    (
        "commit: with a body",
        lambda c: (c.open_feed(), c.send("POST", "/v1/feeds/WMP-1/commit", b"{}", JSON))[1],
        422,
        "no body",
    ),
]

# (description, bad row line) -> the batch is stored, the bad row rejected with a reason, the good row kept.
ROW_CASES: list[tuple[str, Callable[[Ctx], httpx.Response], str]] = [
    (
        "row: duplicate keys",
        lambda c: _row(c, b'{"record_id":"R-bad","record_id":"R-bad2","op":"delete"}'),
        "duplicate",
    ),
    ("row: NaN", lambda c: _row(c, b'{"record_id":"R-bad","op":"upsert","flag":NaN}'), "NaN"),
    ("row: impossible date", lambda c: _row_obj(c, c.good_row(interaction_date="2026-02-30")), "not a real date"),
    ("row: future date", lambda c: _row_obj(c, c.good_row(interaction_date="2027-01-01")), "future"),
    ("row: date in another format", lambda c: _row_obj(c, c.good_row(interaction_date="23/11/2026")), "date"),
    ("row: unknown field", lambda c: _row_obj(c, c.good_row(first_name=SENTINEL)), "unknown fields"),
    ("row: unknown flag", lambda c: _row_obj(c, c.good_row(flag=SENTINEL)), "flag"),
    ("row: not JSON", lambda c: _row(c, SENTINEL.encode()), "not valid JSON"),
    ("row: not UTF-8", lambda c: _row(c, b'{"record_id": "\xff"}'), "UTF-8"),
    ("row: nested too deeply", lambda c: _row(c, b"[" * 20_000 + b"]" * 20_000), "JSON"),
    ("row: a bloom filter of the wrong size", lambda c: _row_obj(c, BAD_BLOOM), "bf_first"),
    ("row: a token that is not base64url", lambda c: _row_obj(c, BAD_TOKEN), "tk_dob"),
    ("row: a record id that is a name", lambda c: _row_obj(c, c.good_row(record_id=f"{SENTINEL} Smith")), "record_id"),
    ("row: unknown op", lambda c: _row_obj(c, c.good_row(op="merge")), "op must be"),
    (
        "row: a delete carrying data",
        lambda c: _row_obj(c, {"record_id": "R-bad", "op": "delete", "flag": "POLICE_DV"}),
        "delete carries",
    ),
    ("row: lead contact missing", lambda c: _row_obj(c, c.good_row(lead_contact=None)), "lead_contact"),
    ("row: an array, not an object", lambda c: _row(c, b"[1,2,3]"), "object"),
]


@pytest.fixture
def ctx(database_url: str, tmp_path: Path) -> Iterator[Ctx]:
    settings = Settings(database_url=database_url, max_body_bytes=LIMIT)
    hub: Hub = bootstrap(settings, clock=FixedClock(f.NOW), migrate_schema=True)
    keys = f.register(hub)
    try:
        with TestClient(create_app(hub=hub), raise_server_exceptions=False) as client:
            yield Ctx(client=client, keys=keys, tmp=tmp_path)
    finally:
        hub.close()


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) + len(ROW_CASES) >= 20


@pytest.mark.parametrize(("description", "request_", "status", "word"), CASES, ids=[c[0] for c in CASES])
def test_malformed_requests_are_refused_with_a_reason(
    ctx: Ctx, description: str, request_: Callable[[Ctx], httpx.Response], status: int, word: str
) -> None:
    response = request_(ctx)
    assert response.status_code == status, f"{description}: {response.status_code} {response.text[:300]}"
    body = response.json()
    text = body["detail"] + json.dumps(body.get("problems", []))
    assert word in text, f"{description}: the reason does not name the problem: {text}"
    assert SENTINEL not in response.text, f"{description}: the response echoes the submitted value"


@pytest.mark.parametrize(("description", "request_", "word"), ROW_CASES, ids=[c[0] for c in ROW_CASES])
def test_malformed_rows_are_rejected_with_a_reason(
    ctx: Ctx, description: str, request_: Callable[[Ctx], httpx.Response], word: str
) -> None:
    response = request_(ctx)
    assert response.status_code == 201, f"{description}: {response.status_code} {response.text[:300]}"
    batch = response.json()
    assert (batch["rows"], batch["valid"], batch["rejected"]) == (2, 1, 1), description
    rejection = batch["rejections"][0]
    assert rejection["position"] == 2
    assert rejection["reasons"], description
    assert any(word in reason for reason in rejection["reasons"]), f"{description}: {rejection['reasons']}"
    assert SENTINEL not in response.text, f"{description}: the response echoes the submitted value"
    assert rejection["record_id"] in {None, "R-bad"}


def test_a_rejected_row_is_never_stored(ctx: Ctx) -> None:
    good = f.upsert("R-good").to_json()
    bad = f.upsert("R-bad").to_json() | {"interaction_date": "2026-02-30"}
    body = (canonical_dumps(good) + "\n" + canonical_dumps(bad) + "\n").encode()
    manifest = json.loads(f.manifest_line(f.feed(ctx.tmp / "m.feed", [])))
    manifest |= {"row_count": 2, "rows_sha256": hashlib.sha256(body).hexdigest()}
    assert ctx.send("POST", "/v1/feeds", json.dumps(manifest).encode(), JSON).status_code == 201
    assert ctx.send("PUT", "/v1/feeds/WMP-1/batches/1", body, NDJSON).status_code == 201
    receipt = ctx.send("POST", "/v1/feeds/WMP-1/commit").json()
    assert (receipt["accepted"], receipt["rejected"], receipt["inserted"]) == (1, 1, 1)
    assert receipt["rejections"][0]["line"] == 3
