"""Nickname and spelling-variant canonicalisation of first names, from the ``nicknames`` package's curated dataset.

The dataset is a graph of "has nickname" edges (``william -> bill``, ``robert -> bill``). Its connected components
are useless as equivalence classes (one holds over a thousand names), so each name is mapped to *one* canonical
name instead:

1. a name the dataset lists only as a formal name (it has nicknames and is nobody's nickname) is its own canonical;
2. otherwise the candidates are its formal names (and itself, if it has nicknames), and the one chosen is the one
   with most nicknames (the better-known name), then the alphabetically first, so the choice is deterministic; a
   long formal name with many nicknames of its own (``michael``, ``elizabeth``) always keeps itself;
3. a few names that the dataset leaves ambiguous or merges wrongly for British usage are fixed explicitly
   (``bill`` -> ``william``, not ``robert``; ``emma`` stays ``emma`` rather than joining ``emily``);
4. a name the dataset does not know is its own canonical.

So ``Bill``, ``Billy``, ``Will`` and ``William`` share a canonical token, while an unknown name keeps its own. The
tie-breaks lose some pairs (``peggy`` is ``margaret``, but a rare second reading is not), which the Bloom filter and
phonetic comparisons still catch.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache

from nicknames import NickNamer

# Where the dataset is ambiguous or noisy for British usage: the canonical for these names is fixed. A name mapped to
# itself is a given name in its own right that the dataset would otherwise merge into another (emma -> emeline).
_UK_FIXED = {
    "bill": "william",
    "billy": "william",
    "thom": "thomas",
    "tom": "thomas",
    "tommy": "thomas",
    "thomas": "thomas",
    "mike": "michael",
    "mikey": "michael",
    "jamie": "james",
    "jess": "jessica",
    "jessie": "jessica",
    "jane": "jane",
    "emma": "emma",
    "lucy": "lucy",
    "sophie": "sophie",
    "sophia": "sophia",
    "john": "john",
    "jack": "john",
    "johnny": "john",
    "jonathan": "jonathan",
    "jon": "jonathan",
    "harry": "henry",
    "ted": "edward",
    "ned": "edward",
    "kate": "katherine",
    "katie": "katherine",
}
# A formal name with at least this many nicknames of its own, and this long, keeps itself.
_OWN_NICKNAMES = 5
_OWN_LENGTH = 5


@cache
def _canonical_table() -> dict[str, str]:
    """Every name the dataset knows, mapped to its canonical name (built once, then a dictionary lookup)."""
    namer = NickNamer()
    formal_to_nicks = namer.nickname_lookup
    nick_to_formal = namer.canonical_lookup
    size: dict[str, int] = defaultdict(int, {name: len(nicks) for name, nicks in formal_to_nicks.items()})
    table: dict[str, str] = {}
    for name in set(formal_to_nicks) | set(nick_to_formal):
        candidates = set(nick_to_formal.get(name, ()))
        if name in formal_to_nicks:
            candidates.add(name)
        keeps_itself = size[name] >= _OWN_NICKNAMES and len(name) >= _OWN_LENGTH
        table[name] = name if keeps_itself else min(candidates, key=lambda c: (-size[c], c))
    for name, first in list(table.items()):  # follow chains (nick -> formal that is a nickname) to a fixed point
        seen, current = {name}, first
        while (step := table[current]) not in seen and step != current:
            seen.add(current)
            current = step
        table[name] = current
    table.update(_UK_FIXED)
    for name, canonical in table.items():
        table[name] = _UK_FIXED.get(canonical, canonical)
    return table


def canonical_first_name(name: str) -> str:
    """The canonical form of a normalised first name (lower-case ASCII, e.g. ``"bill"`` -> ``"william"``).

    Args:
        name: a first name as :func:`linkage.normalise.normalise_name` returns it (its parts joined).

    Returns:
        The canonical name; the name itself when the dataset does not know it.
    """
    return _canonical_table().get(name, name)
