"""Fixtures of the fault tests: populations encoded once per session, and per backend an unlinked hub and a linked
one (linked cleanly, in-process) that each test copies before it does anything to it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from aim.bootstrap import bootstrap
from aim.fixtures import DEFAULT_AS_OF
from aim.settings import Settings
from tests.faults.copies import Copies
from tests.faults.population import Population, encode_population, ingest_unlinked

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]
SEED = 11


@dataclass
class Hubs:
    """Template hubs, built on first use and kept for the session; tests take copies."""

    root: Path
    _populations: dict[tuple[int, date], Population] = field(default_factory=dict)
    _copies: dict[str, Copies] = field(default_factory=dict)
    _unlinked: dict[tuple[str, int, date], str] = field(default_factory=dict)
    _linked: dict[tuple[str, int, date], tuple[str, float]] = field(default_factory=dict)

    def population(self, people: int, as_of: date = DEFAULT_AS_OF) -> Population:
        key = (people, as_of)
        if key not in self._populations:
            folder = self.root / f"population-{people}-{as_of.isoformat()}"
            self._populations[key] = encode_population(folder, people=people, seed=SEED, as_of=as_of)
        return self._populations[key]

    def copies(self, backend: str) -> Copies:
        if backend not in self._copies:
            folder = self.root / backend
            folder.mkdir(exist_ok=True)
            self._copies[backend] = Copies(backend, folder)
        return self._copies[backend]

    def unlinked(self, backend: str, population: Population) -> str:
        """A hub holding every feed of ``population``, committed and not linked."""
        key = (backend, population.people, population.as_of)
        if key not in self._unlinked:
            url = self.copies(backend).new(f"unlinked{population.people}")
            ingest_unlinked(url, population)
            self._unlinked[key] = url
        return self._unlinked[key]

    def linked(self, backend: str, population: Population) -> tuple[str, float]:
        """The same hub linked by one clean run of identity resolution, and the seconds its transaction took."""
        key = (backend, population.people, population.as_of)
        if key not in self._linked:
            url = self.copies(backend).copy(self.unlinked(backend, population), f"linked{population.people}")
            hub = bootstrap(Settings(database_url=url))
            try:
                assert hub.identity.model is not None  # loaded before the run's transaction, as the CLI does
                started = time.monotonic()
                hub.identity.link()
                self._linked[key] = (url, time.monotonic() - started)
            finally:
                hub.close()
        return self._linked[key]

    def copy(self, backend: str, url: str, name: str) -> str:
        return self.copies(backend).copy(url, name)

    def close(self) -> None:
        for copies in self._copies.values():
            copies.close()


@pytest.fixture(scope="session")
def hubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hubs]:
    built = Hubs(tmp_path_factory.mktemp("faults"))
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
