"""The composition root: the one place that chooses real or fake collaborators and wires the hub's services.

Nothing here runs at import. The CLI, the API's app factory and the tests call :func:`bootstrap`; tests pass a
:class:`~aim.clock.FixedClock`, and may pass a policy decider (e.g. :class:`governance.StaticDecider`) and an audit
sink (e.g. :class:`governance.InMemoryAuditSink`) instead of the policy file and the database's audit log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from aim.access.break_glass import BreakGlassStore
from aim.access.service import AccessControl, NoPolicyDecider
from aim.access.sign_in import SignInRules, SignInService
from aim.access.users import UserRegistry
from aim.after_commit import AfterCommitProcess
from aim.alerts import AlertService, WatchlistService
from aim.audit.log import AuditLog
from aim.audit.signing import load_signing_key
from aim.audit.store import DatabaseAuditSink
from aim.clock import Clock, SystemClock
from aim.errors import ConfigError
from aim.identity.service import IdentityService
from aim.ingest.checking import BatchChecker
from aim.ingest.inflight import InFlight
from aim.ingest.service import FeedCommitted, IngestService
from aim.partner.registry import PartnerRegistry
from aim.rules.loader import rules_directory
from aim.rules.service import RulesService
from aim.search import SearchService
from aim.settings import Settings
from aim.storage import migrate
from aim.storage.database import Database
from aim.storage.engine import make_engine
from governance import AuditSink, CheckpointSigner, Policy, PolicyDecider, PolicyEngine, PolicyError, load_policy

log = logging.getLogger("aim.bootstrap")


@dataclass
class Hub:
    """Everything the hub's edges (API, CLI) need, built once."""

    settings: Settings
    database: Database
    clock: Clock
    partners: PartnerRegistry
    ingest: IngestService
    rules: RulesService
    alerts: AlertService
    watchlist: WatchlistService
    policy: Policy | None
    access: AccessControl
    sign_in: SignInService
    audit_log: AuditLog
    identity: IdentityService
    search: SearchService
    after_commit: AfterCommitProcess | None = None  # where commits are applied, linked and ruled on, if not here
    batch_checker: BatchChecker | None = None  # where arriving batches are checked, if not here

    def start_children(self) -> None:
        """Start the child processes now (the API does when it starts), rather than on first use."""
        for child in (self.after_commit, self.batch_checker):
            if child is not None:
                child.start()

    def close(self) -> None:
        for child in (self.after_commit, self.batch_checker):
            if child is not None:
                child.close()
        self.database.dispose()


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    migrate_schema: bool = False,
    on_committed: Callable[[FeedCommitted], None] | None = None,
    link_after_commit: bool = True,
    after_commit_in_child: bool = False,
    decider: PolicyDecider | None = None,
    audit_sink: AuditSink | None = None,
    policy: Policy | None = None,
) -> Hub:
    """Build the hub from ``settings`` (read from the environment when not given).

    ``migrate_schema`` brings the database up to the latest migration first (``aim hub serve`` and ``init-db``).
    After each feed commit, identity resolution links what the feed changed (``link_after_commit``; tests of the
    resolver step by step turn it off), then ``on_committed`` is called, then the rules run. With
    ``after_commit_in_child`` (the API as ``aim hub serve`` runs it) a commit's applying of the batches, the linking
    and the rules run in a child process (:mod:`aim.after_commit`), and arriving batches are checked in another
    (:mod:`aim.ingest.checking`), so they do not hold the GIL of the process answering searches.
    ``policy`` defaults to the file at ``AIM_POLICY_PATH``; with none, every staff request is denied. ``decider``
    defaults to a :class:`~governance.PolicyEngine` over the policy; ``audit_sink`` to the database's audit log.
    """
    settings = settings or Settings.from_env()
    clock = clock or SystemClock()
    # A connection for each request thread, and a few for the scheduler's jobs and the command line's own work.
    engine = make_engine(
        settings.database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        connections=settings.request_threads + 4,
    )
    if migrate_schema:
        migrate.upgrade(engine)
    database = Database(engine, write_wait_s=settings.sqlite_busy_timeout_ms / 1000)
    rules_dir = rules_directory(settings.rules_dir)
    rules = RulesService(database=database, clock=clock, zone=settings.zone, rules_dir=rules_dir)
    watchlist = WatchlistService(database=database, clock=clock, zone=settings.zone)
    rules.after_run.append(watchlist.notify)

    # Identity resolution finds candidates through the search read model's blocking keys (built on first use).
    identity = IdentityService(
        database=database, clock=clock, model_path=settings.linkage_model, index=lambda: search.index
    )

    child = AfterCommitProcess(settings) if after_commit_in_child else None
    checker = BatchChecker() if after_commit_in_child else None

    def link_step(event: FeedCommitted) -> None:
        if child is not None:
            child.link(event)
        else:
            identity.after_commit(event)

    def rules_step(event: FeedCommitted) -> None:
        if child is not None:
            child.run_rules(event)
        else:
            rules.after_ingest(event)

    def committed(event: FeedCommitted) -> None:
        # Identity resolution first: the rules read the links it writes. The feed is committed whatever happens
        # here; records left unlinked are linked by the next run (the next feed, 'aim hub link' or the nightly job).
        if link_after_commit:
            try:
                link_step(event)
            except Exception as exc:  # a linking failure must not fail the partner's committed feed
                log.error(
                    "identity resolution failed after feed %s (%s); 'aim hub link' re-runs it",
                    event.feed_pk,
                    type(exc).__name__,
                )
        if on_committed is not None:
            on_committed(event)
        try:
            rules_step(event)
        except Exception as exc:  # likewise: the nightly run (or 'aim hub rules run') evaluates everyone again
            log.error(
                "the rules failed after feed %s (%s); 'aim hub rules run' re-runs them",
                event.feed_pk,
                type(exc).__name__,
            )

    policy = policy or _load_policy(settings)
    if decider is None:
        why = "no access policy is loaded: set AIM_POLICY_PATH to the DPO's policy file"
        decider = PolicyEngine(policy) if policy is not None else NoPolicyDecider(why)
    search = SearchService(database=database, clock=clock, decider=decider, model_path=settings.linkage_model)
    break_glass = BreakGlassStore(database=database, clock=clock)
    access = AccessControl(
        users=UserRegistry(database=database, clock=clock, token_lifetime=timedelta(hours=settings.staff_token_hours)),
        break_glass=break_glass,
        decider=decider,
        audit=audit_sink or DatabaseAuditSink(database),
        clock=clock,
    )
    sign_in = SignInService(
        database=database,
        clock=clock,
        users=access.users,
        audit=access.audit,
        rules=SignInRules(
            token_lifetime=timedelta(minutes=settings.sign_in_token_minutes),
            max_failures=settings.sign_in_max_failures,
            lockout=timedelta(minutes=settings.sign_in_lockout_minutes),
        ),
    )
    key_path = Path(settings.audit_key_path)
    signer: list[CheckpointSigner] = []

    def audit_signer() -> CheckpointSigner:
        if not signer:
            signer.append(load_signing_key(key_path))
        return signer[0]

    return Hub(
        settings=settings,
        database=database,
        clock=clock,
        partners=PartnerRegistry(database=database, clock=clock, zone=settings.zone),
        ingest=IngestService(
            database=database,
            clock=clock,
            zone=settings.zone,
            inflight=InFlight(),
            on_committed=committed,
            apply=child.apply if child is not None else None,
            check=checker.check if checker is not None else None,
        ),
        rules=rules,
        alerts=AlertService(database=database, clock=clock, zone=settings.zone),
        watchlist=watchlist,
        policy=policy,
        access=access,
        sign_in=sign_in,
        audit_log=AuditLog(database=database, clock=clock, signer=audit_signer),
        identity=identity,
        search=search,
        after_commit=child,
        batch_checker=checker,
    )


def _load_policy(settings: Settings) -> Policy | None:
    """The DPO's policy from ``AIM_POLICY_PATH``; an invalid file stops the hub with every problem listed."""
    if not settings.policy_path:
        return None
    path = Path(settings.policy_path)
    if not path.is_file():
        raise ConfigError(f"AIM_POLICY_PATH names {path}, which is not a file: point it at the DPO's policy YAML")
    try:
        return load_policy(path)
    except PolicyError as exc:
        raise ConfigError(str(exc)) from None
