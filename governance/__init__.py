"""Governance: the DPO's access policy, the hash-chained audit log and retention, behind small interfaces.

A pure library: no web framework, no database driver, no imports from the application. The hub calls:

* policy — :func:`load_policy`, :func:`dump_policy`, :func:`policy_diff`; decisions through the
  :class:`PolicyDecider` port (:class:`PolicyEngine`, or :class:`StaticDecider` in tests), :func:`decide`,
  :func:`visible_categories`, :func:`mask_flag`, :func:`open_break_glass`;
* audit — :func:`audit_event`, :func:`chain_next`, the :class:`AuditSink` port (:class:`InMemoryAuditSink`),
  :class:`CheckpointSigner`, :func:`verify`;
* retention — :func:`purge_cutoffs`, :func:`expired_interactions`, :class:`PurgeReport`;
* transparency — :func:`transparency_report`.
"""

from governance.action import DEFAULT_ACTIONS, ActionRegistry, ActionSpec
from governance.audit import (
    EMPTY_HEAD,
    AuditEntry,
    AuditEvent,
    AuditSink,
    ChainHead,
    InMemoryAuditSink,
    Outcome,
    audit_event,
    chain_next,
    event_from_record,
    event_to_record,
    query_target,
)
from governance.audit_verify import ChainProblem, ChainProblemKind, VerifyReport, verify
from governance.break_glass import BreakGlassGrant, open_break_glass
from governance.checkpoint import Checkpoint, CheckpointSigner, public_key_bytes, public_key_from_bytes
from governance.decider import PolicyDecider, PolicyEngine, StaticDecider, mask_flag, visible_categories
from governance.decision import (
    AccessRequest,
    AccountStatus,
    Decision,
    Reason,
    ReasonCode,
    Resource,
    Subject,
    decide,
)
from governance.errors import (
    AuditError,
    AuditIntegrityError,
    BreakGlassError,
    GovernanceError,
    PolicyError,
    RetentionError,
    UnknownActionError,
)
from governance.policy import Policy
from governance.policy_diff import PolicyDiff, policy_diff
from governance.policy_file import dump_policy, load_policy, parse_policy, policy_digest
from governance.retention import (
    DERIVED_KINDS,
    ExpiredInteraction,
    InteractionRef,
    PurgeReport,
    expired_interactions,
    purge_cutoffs,
)
from governance.transparency import AlertFact, TransparencyReport, transparency_report

__all__ = [
    "DEFAULT_ACTIONS",
    "DERIVED_KINDS",
    "EMPTY_HEAD",
    "AccessRequest",
    "AccountStatus",
    "ActionRegistry",
    "ActionSpec",
    "AlertFact",
    "AuditEntry",
    "AuditError",
    "AuditEvent",
    "AuditIntegrityError",
    "AuditSink",
    "BreakGlassError",
    "BreakGlassGrant",
    "ChainHead",
    "ChainProblem",
    "ChainProblemKind",
    "Checkpoint",
    "CheckpointSigner",
    "Decision",
    "ExpiredInteraction",
    "GovernanceError",
    "InMemoryAuditSink",
    "InteractionRef",
    "Outcome",
    "Policy",
    "PolicyDecider",
    "PolicyDiff",
    "PolicyEngine",
    "PolicyError",
    "PurgeReport",
    "Reason",
    "ReasonCode",
    "Resource",
    "RetentionError",
    "StaticDecider",
    "Subject",
    "TransparencyReport",
    "UnknownActionError",
    "VerifyReport",
    "audit_event",
    "chain_next",
    "decide",
    "dump_policy",
    "event_from_record",
    "event_to_record",
    "expired_interactions",
    "load_policy",
    "mask_flag",
    "open_break_glass",
    "parse_policy",
    "policy_diff",
    "policy_digest",
    "public_key_bytes",
    "public_key_from_bytes",
    "purge_cutoffs",
    "query_target",
    "transparency_report",
    "verify",
    "visible_categories",
]
