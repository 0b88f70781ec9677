"""Populations for the fault tests: `aim fixtures generate`'s synthetic people, each demo partner's extract encoded
with the agent's code under a key made for the run, ingested into a hub without linking, so that identity
resolution and then the rules have all their work still to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from aim.agent.encode import encode_extract
from aim.bootstrap import bootstrap
from aim.clock import FixedClock
from aim.fixtures import DEFAULT_AS_OF, generate_fixtures
from aim.ingest.local import ingest_file
from aim.keys import init_keys
from aim.settings import Settings
from aim.vocabulary import default_vocabulary


@dataclass(frozen=True)
class Population:
    """Encoded feeds of one synthetic population, one per demo partner."""

    people: int
    as_of: date
    feeds: tuple[Path, ...]
    records: int


def encode_population(root: Path, *, people: int, seed: int, as_of: date = DEFAULT_AS_OF) -> Population:
    """Generate ``people`` people as of ``as_of`` and encode every partner's extract into a feed under ``root``."""
    generate_fixtures(people=people, seed=seed, out=root / "fixtures", as_of=as_of)
    init_keys(directory=root / "keys")
    now = datetime.combine(as_of, time(23, 0), tzinfo=UTC)
    feeds, records = [], 0
    for partner in sorted(default_vocabulary().partners):
        summary = encode_extract(
            keys_dir=root / "keys",
            partner=partner,
            raw=root / "fixtures" / "raw" / f"{partner}.csv",
            out=root / f"{partner}.feed",
            now=now,
        )
        feeds.append(summary.feed)
        records += summary.accepted
    return Population(people, as_of, tuple(feeds), records)


def ingest_unlinked(database_url: str, population: Population, *, clock_at: datetime | None = None) -> None:
    """A migrated hub at ``database_url`` holding every feed of ``population``, registered and committed, unlinked."""
    now = clock_at or datetime.combine(population.as_of, time(23, 30), tzinfo=UTC)
    hub = bootstrap(
        Settings(database_url=database_url), clock=FixedClock(now), migrate_schema=True, link_after_commit=False
    )
    try:
        for code, partner in sorted(default_vocabulary().partners.items()):
            hub.partners.add(
                code=code,
                name=partner.name,
                agreement_ref=f"DSA-{code}",
                agreement_from=date(2024, 1, 1),
                agreement_until=date(2099, 12, 31),
            )
        for feed in population.feeds:
            ingest_file(feed, ingest=hub.ingest, partners=hub.partners)
    finally:
        hub.close()
