"""Verify the audit chain and its signed checkpoints, and say where it breaks.

:func:`verify` walks the entries once, in the order given (the order the log stores them, by position):

* an entry whose stored hash is not the hash of its content was **edited**;
* a sequence number that skips ahead means entries are **missing** (deleted);
* a sequence number that repeats or goes back means an entry was **inserted** or entries were **reordered**;
* an entry whose ``prev_hash`` is not the previous entry's hash has a **broken link** (its neighbour was edited and
  re-hashed, or an entry was inserted or removed there);
* a signed checkpoint whose hash differs from the entry at its sequence means the chain up to there was
  **rewritten** (even with every hash recomputed); one that names a sequence past the end means the log was
  **truncated**; a bad signature or unknown key makes the checkpoint itself untrusted.

After a break the walk carries on from the entry as stored, so each tampering is reported once, where it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from governance.audit import EMPTY_HEAD, GENESIS_HASH, AuditEntry, ChainHead, entry_hash
from governance.checkpoint import Checkpoint, signature_problem
from governance.errors import AuditIntegrityError


class ChainProblemKind(StrEnum):
    """What kind of break verification found."""

    EDITED = "edited"
    MISSING = "missing"
    OUT_OF_ORDER = "out_of_order"
    BROKEN_LINK = "broken_link"
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"
    TRUNCATED = "truncated"
    BAD_CHECKPOINT = "bad_checkpoint"


@dataclass(frozen=True)
class ChainProblem:
    """One break in the chain.

    Attributes:
        kind: what kind of break.
        sequence: the sequence number involved (an entry's, or a checkpoint's).
        position: the 0-based position in the entries given, when the break is at an entry.
        message: a sentence for a person.
    """

    kind: ChainProblemKind
    sequence: int
    position: int | None
    message: str


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of :func:`verify`.

    Attributes:
        entries_checked: how many entries were walked.
        checkpoints_checked: how many checkpoints were checked.
        head: the last entry's sequence and stored hash.
        last_checkpoint: the highest checkpointed sequence that verified (0 when none).
        problems: every break found, entries first, then checkpoints.
    """

    entries_checked: int
    checkpoints_checked: int
    head: ChainHead
    last_checkpoint: int
    problems: tuple[ChainProblem, ...]

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    @property
    def unanchored(self) -> int:
        """Entries after the last verified checkpoint: removing them could not be detected until the next one."""
        return max(0, self.head.sequence - self.last_checkpoint)

    def render(self) -> str:
        """A summary for ``aim hub audit verify``."""
        if self.ok:
            return (
                f"audit chain verifies: {self.entries_checked} entries, {self.checkpoints_checked} checkpoints, "
                f"head {self.head.sequence} ({self.unanchored} after the last checkpoint)"
            )
        lines = [f"audit chain BROKEN: {len(self.problems)} problem(s) in {self.entries_checked} entries"]
        lines += [f"  [{problem.kind.value}] {problem.message}" for problem in self.problems]
        return "\n".join(lines)

    def raise_for_problems(self) -> None:
        """Raise :class:`AuditIntegrityError` with :meth:`render` when anything is wrong."""
        if not self.ok:
            raise AuditIntegrityError(self.render())


def verify(
    entries: Iterable[AuditEntry],
    checkpoints: Iterable[Checkpoint],
    public_keys: Mapping[str, Ed25519PublicKey],
) -> VerifyReport:
    """Check the chain and its checkpoints; see the module docstring for what is detected.

    Args:
        entries: the entries in stored order (by position, not sorted by their own sequence numbers).
        checkpoints: the signed checkpoints, in any order.
        public_keys: key id -> Ed25519 public key.

    Returns:
        The report; ``report.ok`` is True only when nothing is wrong.
    """
    problems: list[ChainProblem] = []
    stored_hash: dict[int, str] = {0: GENESIS_HASH}
    positions: dict[int, int] = {}
    previous, count = EMPTY_HEAD, 0
    for position, entry in enumerate(entries):
        problems += _entry_problems(position, entry, previous)
        stored_hash.setdefault(entry.sequence, entry.entry_hash)
        positions.setdefault(entry.sequence, position)
        previous, count = entry.head, count + 1
    checkpoint_list = sorted(checkpoints, key=lambda checkpoint: checkpoint.sequence)
    last_good = 0
    for checkpoint in checkpoint_list:
        problem = _checkpoint_problem(
            checkpoint,
            public_keys=public_keys,
            stored_hash=stored_hash,
            positions=positions,
            head=previous,
            last_good=last_good,
        )
        if problem is None:
            last_good = max(last_good, checkpoint.sequence)
        else:
            problems.append(problem)
    return VerifyReport(count, len(checkpoint_list), previous, last_good, tuple(problems))


def _entry_problems(position: int, entry: AuditEntry, previous: ChainHead) -> list[ChainProblem]:
    problems = []
    expected, seq = previous.sequence + 1, entry.sequence
    where = f"at position {position}"
    if seq > expected:
        gap = f"{expected}" if seq == expected + 1 else f"{expected} to {seq - 1}"
        problems.append(
            ChainProblem(
                ChainProblemKind.MISSING,
                seq,
                position,
                f"entries {gap} are missing: entry {seq} follows entry {previous.sequence} {where}",
            )
        )
    elif seq < expected:
        problems.append(
            ChainProblem(
                ChainProblemKind.OUT_OF_ORDER,
                seq,
                position,
                f"entry {seq} follows entry {previous.sequence} {where}: an entry was inserted "
                "here or entries were reordered",
            )
        )
    elif entry.prev_hash != previous.entry_hash:
        problems.append(
            ChainProblem(
                ChainProblemKind.BROKEN_LINK,
                seq,
                position,
                f"entry {seq} {where} does not link to entry {previous.sequence}: one of them was "
                "changed and re-hashed, or an entry was inserted or removed between them",
            )
        )
    if entry_hash(entry.prev_hash, seq, entry.event) != entry.entry_hash:
        problems.append(
            ChainProblem(
                ChainProblemKind.EDITED,
                seq,
                position,
                f"entry {seq} {where} was changed after it was written: its content does not match its hash",
            )
        )
    return problems


def _checkpoint_problem(
    checkpoint: Checkpoint,
    *,
    public_keys: Mapping[str, Ed25519PublicKey],
    stored_hash: Mapping[int, str],
    positions: Mapping[int, int],
    head: ChainHead,
    last_good: int,
) -> ChainProblem | None:
    seq, signed = checkpoint.sequence, checkpoint.signed_at.isoformat()
    bad_signature = signature_problem(checkpoint, public_keys)
    if bad_signature is not None:
        return ChainProblem(ChainProblemKind.BAD_CHECKPOINT, seq, positions.get(seq), bad_signature)
    if seq not in stored_hash:
        if seq > head.sequence:
            message = (
                f"the checkpoint signed at {signed} covers entries up to {seq}, but the log ends at "
                f"{head.sequence}: entries after {head.sequence} were removed"
            )
            return ChainProblem(ChainProblemKind.TRUNCATED, seq, None, message)
        message = f"the checkpoint signed at {signed} names entry {seq}, which is not in the log"
        return ChainProblem(ChainProblemKind.MISSING, seq, None, message)
    if stored_hash[seq] != checkpoint.head_hash:
        message = (
            f"entry {seq} differs from the checkpoint signed at {signed}: the chain was rewritten "
            f"somewhere in entries {last_good + 1} to {seq}"
        )
        return ChainProblem(ChainProblemKind.CHECKPOINT_MISMATCH, seq, positions.get(seq), message)
    return None
