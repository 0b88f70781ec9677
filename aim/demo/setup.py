"""Build the demo's data: fixtures, the partnership key set, the hub's database with the demo partners, each
partner's encoded feed, then (with the hub running) the pushes through its API, linking, the rules and staff users.

Everything lives under one directory (:class:`DemoLayout`); ``state.json`` there records that the data is complete,
so a second start reuses it. A start interrupted before that point begins again from a fresh database.
"""

from __future__ import annotations

import csv
import json
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from aim.agent.encode import encode_extract
from aim.agent.push import HubClient, push_feed
from aim.audit.signing import ensure_signing_key
from aim.bootstrap import Hub, bootstrap
from aim.errors import ConfigError
from aim.fixtures import generate_fixtures
from aim.identity.service import IdentityService
from aim.keys import init_keys
from aim.partner.credentials import generate_signing_key, load_signing_key
from aim.settings import Settings, env_name
from aim.storage.identity_tables import review_pairs
from aim.storage.rules_tables import alerts
from aim.storage.tables import persons
from governance import load_policy

Echo = Callable[[str], None]
ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "fixtures" / "policy" / "demo-policy.yaml"
RULES = ROOT / "fixtures" / "rules"
WINDOW_DAYS = 30


@dataclass(frozen=True)
class DemoUserSpec:
    """One demo staff user: one per role of the demo policy."""

    user_id: str
    name: str
    role: str
    organisation: str
    team: str
    description: str


DEMO_USERS = (
    DemoUserSpec("mash.officer", "Amira Khan", "mash_officer", "CHILDRENS_SC", "mash",
                 "Searches people for MASH screening; sees every category"),
    DemoUserSpec("safeguarding.lead", "Daniel Okafor", "safeguarding_lead", "CHILDRENS_SC", "safeguarding",
                 "Works alerts and the watch list; may break glass"),
    DemoUserSpec("practitioner", "Grace Li", "safeguarding_practitioner", "ADULT_SC", "safeguarding",
                 "Early help: searches and works alerts, but never sees police flags"),
    DemoUserSpec("data.steward", "Tom Reilly", "data_steward", "CHILDRENS_SC", "data",
                 "Resolves uncertain identity links"),
    DemoUserSpec("dpo", "Priya Shah", "dpo", "CHILDRENS_SC", "governance",
                 "Data Protection Officer: audit log and break-glass reviews"),
    DemoUserSpec("partner.admin", "Sam Evans", "partner_admin", "WMP", "admin",
                 "A partner's administrator: no access to people"),
    DemoUserSpec("partner.system", "WMP agent", "partner_system", "WMP", "feeds",
                 "A partner's agent account: no access to people"),
    DemoUserSpec("auditor", "Helen Price", "auditor", "CHILDRENS_SC", "audit",
                 "Internal auditor: reads the audit log"),
)  # fmt: skip


@dataclass(frozen=True)
class DemoLayout:
    """Where the demo keeps everything, under ``root``."""

    root: Path

    @property
    def fixtures(self) -> Path:
        return self.root / "fixtures"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def agents(self) -> Path:
        return self.root / "agents"

    @property
    def database(self) -> Path:
        return self.root / "hub.db"

    @property
    def users_file(self) -> Path:
        return self.root / "demo-users.json"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    def ready(self) -> bool:
        if not self.state_file.is_file():
            return False
        return bool(json.loads(self.state_file.read_text(encoding="utf-8")).get("ready"))

    def settings(self, *, hub_port: int = 8700) -> Settings:
        return Settings(
            database_url=f"sqlite:///{self.database.resolve()}",
            policy_path=str(POLICY),
            rules_dir=str(RULES),
            audit_key_path=str((self.root / "audit-signing.key").resolve()),
            hub_port=hub_port,
        )

    def hub_env(self, *, hub_port: int) -> dict[str, str]:
        return {env_name(k): str(v) for k, v in self.settings(hub_port=hub_port).to_dict().items()}

    def portal_env(self, *, hub_url: str, port: int) -> dict[str, str]:
        return {
            "AIM_PORTAL_HUB_URL": hub_url,
            "AIM_PORTAL_KEYS_DIR": str(self.keys.resolve()),
            "AIM_PORTAL_POLICY_PATH": str(POLICY),
            "AIM_PORTAL_DEMO_USERS_PATH": str(self.users_file.resolve()),
            "AIM_PORTAL_PORT": str(port),
        }


def _open(layout: DemoLayout) -> Hub:
    return bootstrap(layout.settings(), migrate_schema=True)


def prepare(layout: DemoLayout, *, people: int, seed: int, as_of: date, echo: Echo) -> None:
    """Everything before the hub runs: fixtures, keys, a fresh database with the partners, and the encoded feeds."""
    if not POLICY.is_file():
        raise ConfigError(f"the demo policy {POLICY} is missing: run the demo from a checkout of the repository")
    layout.root.mkdir(parents=True, exist_ok=True)
    if not (layout.fixtures / "truth.csv").is_file():
        written = generate_fixtures(people=people, seed=seed, out=layout.fixtures, as_of=as_of)
        echo(f"generated {written.people} synthetic people as of {as_of.isoformat()} in {layout.fixtures}")
    if not layout.keys.is_dir():
        info = init_keys(directory=layout.keys)
        echo(f"created the partnership key set {info.key_id} (for the partners and the portal; never the hub)")
    for stale in (layout.database, layout.agents, layout.users_file):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    hub = _open(layout)
    try:
        ensure_signing_key(Path(hub.settings.audit_key_path))
        policy = load_policy(POLICY)
        for partner in policy.partners:
            folder = layout.agents / partner.code
            folder.mkdir(parents=True)
            private_pem, public_pem, _key_id = generate_signing_key()
            (folder / "signing-key.pem").write_bytes(private_pem)
            (folder / "signing-key.pem").chmod(0o600)
            registration = hub.partners.add(
                code=partner.code,
                name=partner.name,
                agreement_ref=partner.agreement.reference,
                agreement_until=as_of + timedelta(days=365),
                agreement_from=as_of - timedelta(days=365),
                public_key_pem=public_pem,
            )
            (folder / "hub-token").write_text(registration.token, encoding="utf-8")
            (folder / "hub-token").chmod(0o600)
            summary = encode_extract(
                keys_dir=layout.keys,
                partner=partner.code,
                raw=layout.fixtures / "raw" / f"{partner.code}.csv",
                out=folder / f"{partner.code}.feed",
                feed_id=f"{partner.code}-demo-{as_of.strftime('%Y%m%d')}",
            )
            echo(f"  {partner.code}: registered; extract encoded ({_counts(summary)})")
    finally:
        hub.close()


def _counts(summary: Any) -> str:
    return ", ".join(f"{k} {v}" for k, v in vars(summary).items() if isinstance(v, int))


def load_feeds(layout: DemoLayout, *, hub_url: str, as_of: date, echo: Echo) -> None:
    """With the hub running: push each partner's feed through its API, link, run the rules; then mark the data ready."""
    for folder in sorted(p for p in layout.agents.iterdir() if p.is_dir()):
        client = HubClient(
            base_url=hub_url,
            token=(folder / "hub-token").read_text(encoding="utf-8").strip(),
            signing_key=load_signing_key((folder / "signing-key.pem").read_bytes()),
        )
        try:
            receipt = push_feed(folder / f"{folder.name}.feed", client=client)
        finally:
            client.close()
        echo(f"  {folder.name}: pushed; {receipt['accepted']} accepted, {receipt['rejected']} rejected")
    hub = _open(layout)
    try:
        # The hub links each feed and runs the rules for the persons it touched as the feed commits; these catch
        # anything left, then the summary says what the hub holds.
        IdentityService(database=hub.database, clock=hub.clock, model_path=hub.settings.linkage_model).link()
        hub.rules.run(as_of=as_of)
        echo(_holdings(hub))
    finally:
        hub.close()
    layout.state_file.write_text(json.dumps({"ready": True, "as_of": as_of.isoformat()}), encoding="utf-8")


def _holdings(hub: Hub) -> str:
    with hub.database.read() as conn:
        held = conn.execute(select(func.count()).select_from(persons).where(persons.c.merged_into.is_(None)))
        people = held.scalar_one()
        pending = conn.execute(select(func.count()).where(review_pairs.c.status == "pending")).scalar_one()
        raised: dict[str, int] = dict(
            conn.execute(
                select(alerts.c.action, func.count()).where(alerts.c.mode == "live").group_by(alerts.c.action)
            ).all()
        )
    return (
        f"the hub holds {people} persons ({pending} pairs waiting for review), "
        f"{raised.get('alert', 0)} alerts and {raised.get('watchlist_suggestion', 0)} watch-list suggestions"
    )


def _run_rules(hub: Hub, as_of: date, echo: Echo) -> None:
    reports = hub.rules.run(as_of=as_of)
    echo("rules run as of " + as_of.isoformat() + ": " + "; ".join(r.line() for r in reports))


def refresh(layout: DemoLayout, *, as_of: date, echo: Echo) -> None:
    """On a second start: run the rules as of today (nothing is raised twice)."""
    hub = _open(layout)
    try:
        _run_rules(hub, as_of, echo)
    finally:
        hub.close()


def staff_sign_ins(layout: DemoLayout) -> list[dict[str, str]]:
    """Create the demo users (once) and set each a fresh random password; write them to the portal's demo sign-in
    file (owner-only) for the demo user picker, which signs in at the hub with them. Demo only: synthetic accounts."""
    hub = _open(layout)
    try:
        known = {u.user_id for u in hub.access.users.all()}
        out = []
        for spec in DEMO_USERS:
            if spec.user_id not in known:
                hub.access.users.add(
                    user_id=spec.user_id,
                    display_name=spec.name,
                    role=spec.role,
                    organisation=spec.organisation,
                    team=spec.team,
                )
            password = secrets.token_urlsafe(12)
            hub.sign_in.set_password(user_id=spec.user_id, password=password, actor="system:demo")
            out.append(
                {
                    "user_id": spec.user_id,
                    "name": spec.name,
                    "role": spec.role,
                    "password": password,
                    "description": spec.description,
                }
            )
    finally:
        hub.close()
    layout.users_file.write_text(json.dumps(out, indent=2), encoding="utf-8")
    layout.users_file.chmod(0o600)
    return out


def suggestions(layout: DemoLayout, *, as_of: date, limit: int = 3) -> list[dict[str, str]]:
    """People worth searching for: the synthetic people with activity from the most partners in the last 30 days."""
    since = as_of - timedelta(days=WINDOW_DAYS)
    owner: dict[tuple[str, str], str] = {}
    with (layout.fixtures / "truth.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            owner[(row["partner"], row["record_id"])] = row["person_id"]
    recent: dict[str, set[str]] = {}
    for extract in sorted((layout.fixtures / "raw").glob("*.csv")):
        with extract.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                day = _day(row["interaction_date"])
                person = owner.get((extract.stem, row["record_id"]))
                if person and day is not None and day >= since:
                    recent.setdefault(person, set()).add(extract.stem)
    ranked = sorted(recent, key=lambda p: (-len(recent[p]), p))[: limit * 4]
    people = {}
    with (layout.fixtures / "people.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["person_id"] in ranked:
                people[row["person_id"]] = row
    out = []
    for person in ranked[:limit]:
        row = people[person]
        out.append(
            {
                "first_name": row["first_name"],
                "last_name": row["last_name"],
                "date_of_birth": date.fromisoformat(row["date_of_birth"]).strftime("%d/%m/%Y"),
                "gender": row["gender"],
                "postcode": row["postcode"],
                "partners": ", ".join(sorted(recent[person])),
            }
        )
    return out


def _day(text: str) -> date | None:
    text = text.strip()
    try:
        if "/" in text:
            d, m, y = text.split("/")
            return date(int(y), int(m), int(d))
        return date.fromisoformat(text)
    except ValueError:
        return None
