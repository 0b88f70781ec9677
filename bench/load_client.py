"""The load benchmark's client side: Locust as a library in a process of its own (gevent patches it), one user per
simulated officer or safeguarding lead, each phase's requests written to a file (see :mod:`bench.bench_load`).

Locust is imported inside :func:`client` only: the child process imports it first, so gevent patches it before
anything else loads.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import time
from pathlib import Path
from typing import Any

SEARCH, ALERTS = "POST /v1/search", "GET /v1/alerts"
PHASES = ("quiet", "ingest")
DATABASES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
PORTAL_TIMEOUT_S = 30.0  # how long the portal waits for the hub (api/portal/settings.py, hub_timeout_s)
# The portal's alert list (api/portal/pages_alerts.py): open alerts or one status, 200 to a page; API clients
# page by 50.
ALERT_QUERIES: list[dict[str, str | int]] = [
    {"limit": 200},
    {"limit": 200},
    {"status": "new", "limit": 200},
    {"status": "acknowledged", "limit": 200},
    {"status": "assigned", "limit": 200},
    {"limit": 50, "offset": 0},
    {"limit": 50, "offset": 50},
    {"limit": 50, "offset": 100},
]


def client(config_path: str) -> int:
    """Locust as a library: run each phase the config file names when its ``go`` file appears; write every request
    of the phase and the CPU this process used over its window."""
    import gevent  # noqa: PLC0415  (the caller imported locust first, so gevent has patched this process)
    from locust.env import Environment  # noqa: PLC0415

    cfg = json.loads(Path(config_path).read_text())
    users = len(cfg["officers"]) + len(cfg["leads"])
    logging.getLogger("locust.runners").setLevel(logging.ERROR)  # not its warning that a spawn rate over 100 is high
    Path(cfg["ready"]).touch()
    for phase in cfg["phases"]:
        samples: list[tuple[str, float, float, int, str, str]] = []

        def record(
            name: str, start_time: float, response_time: float, response: Any, exception: Any, context: Any, **_: Any
        ) -> None:
            status = int(getattr(response, "status_code", 0) or 0)
            what = ""
            if exception is not None:  # an answer the portal would not have waited for is no answer
                late = status == 0 and response_time >= 1000 * PORTAL_TIMEOUT_S - 100
                what = f"no answer in {PORTAL_TIMEOUT_S:.0f} s" if late else type(exception).__name__
            request_id = (context or {}).get("request_id", "")
            samples.append((name, start_time, response_time, status, what, request_id))  # noqa: B023

        started: dict[str, float] = {}
        env = Environment(user_classes=_users(cfg, phase["run"], started), host=cfg["host"], stop_timeout=60)
        env.events.request.add_listener(record)  # type: ignore[no-untyped-call]
        runner = env.create_local_runner()
        while not Path(phase["go"]).exists():
            gevent.sleep(0.02)
        cpu0, t0 = _cpu_self(), time.time()
        started["t0"] = t0
        # Every user at once; each sends its first request at its own point of the period (_users), so that arrivals
        # are even. Locust starts users in batches a second apart, and its constant_throughput paces each user from
        # its creation: the requests came in bursts (27 at once every second at 25 searches a second asked).
        runner.start(users, spawn_rate=users)
        gevent.sleep(cfg["seconds"])
        t1, cpu1 = time.time(), _cpu_self()
        runner.stop()  # lets each user's request in flight finish (stop_timeout)
        runner.quit()
        written = Path(phase["out"] + ".tmp")  # renamed into place: the bench waits for the file to appear
        written.write_text(json.dumps({"t0": t0, "t1": t1, "cpu_s": cpu1 - cpu0, "samples": samples}))
        written.replace(phase["out"])
    return 0


def next_send(last: float, period: float, now: float) -> float:
    """When a user whose last request was due at ``last`` sends the next: a period later, on its own schedule. An
    answer that came late does not move the schedule: a point already past is sent at once, and points a whole
    period past are skipped (a MASH officer does not search twice to catch up). Timed from the late answer
    instead, every user one stall delayed fell into step with the others, all sending at once every period for
    the rest of the run (50 searches within 200 ms every 2 s at 25 a second asked)."""
    due = last + period
    if due < now:
        due += (now - due) // period * period
    return due


def _users(cfg: dict[str, Any], run: str, started: dict[str, float]) -> list[type]:
    """The two kinds of staff user, one Locust user each, each with their own token, sending at a fixed rate: user
    ``n`` of ``k`` sends its first request ``n / k`` of a period after the phase starts (``started["t0"]``), so that
    the requests of all users arrive evenly."""
    import gevent  # noqa: PLC0415
    from locust import FastHttpUser, HttpUser, task  # noqa: PLC0415

    base = FastHttpUser if cfg["user_class"] == "fast" else HttpUser
    # As long as the portal waits for the hub (AIM_PORTAL_HUB_TIMEOUT_S's default); HttpUser takes it per request
    timeout: dict[str, float] = {} if cfg["user_class"] == "fast" else {"timeout": PORTAL_TIMEOUT_S}
    officers, leads, numbers = iter(enumerate(cfg["officers"])), iter(enumerate(cfg["leads"])), itertools.count()
    bodies, period = cfg["bodies"], cfg["every"]

    class Paced(base):  # type: ignore[valid-type,misc]
        """A user sending one request a period at fixed times: ``offset`` of a period after the phase starts, then
        every ``period`` seconds (see :func:`next_send`)."""

        abstract = True
        network_timeout = connection_timeout = PORTAL_TIMEOUT_S
        next_at = 0.0

        def start_at(self, offset: float) -> None:
            self.next_at = started["t0"] + offset * period
            gevent.sleep(max(0.0, self.next_at - time.time()))

        def wait_time(self) -> float:
            now = time.time()
            self.next_at = next_send(self.next_at, period, now)
            return max(0.0, self.next_at - now)

    class Officer(Paced):
        fixed_count = len(cfg["officers"])

        def on_start(self) -> None:
            number, token = next(officers)
            self.headers = {"Authorization": f"Bearer {token}", "X-AIM-Purpose": "mash_screening"}
            self.headers["X-AIM-Case-Ref"] = f"MASH-{run}-{number}"
            self.start_at(number / len(cfg["officers"]))

        @task
        def search(self) -> None:
            n = next(numbers)
            request_id = f"{run}-{n}"  # to find this search's audit entry
            headers = self.headers | {"X-AIM-Request-Id": request_id}
            body = bodies[n % len(bodies)]
            context = {"request_id": request_id}
            self.client.post("/v1/search", json=body, headers=headers, name=SEARCH, context=context, **timeout)

    class Lead(Paced):
        fixed_count = len(cfg["leads"])

        def on_start(self) -> None:
            number, token = next(leads)
            self.headers = {"Authorization": f"Bearer {token}", "X-AIM-Purpose": "watchlist_review"}
            self.page = random.randrange(len(ALERT_QUERIES))  # leads do not all open the same view at once
            self.start_at((number + 0.5) / len(cfg["leads"]))

        @task
        def alert_list(self) -> None:
            self.page += 1
            params = ALERT_QUERIES[self.page % len(ALERT_QUERIES)]
            self.client.get("/v1/alerts", params=params, headers=self.headers, name=ALERTS, **timeout)

    return [Officer, Lead]


def _cpu_self() -> float:
    times = os.times()
    return times.user + times.system
