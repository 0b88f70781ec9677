"""The default comparisons over AIM's encoded fields, with thresholds chosen by measurement (docs/linkage.md).

Built from :mod:`linkage.schema` at call time: a level whose conditions name a field the schema no longer defines
is left out, and a comparison left with no agreement level is dropped, so a change to the schema cannot produce a
comparison that reads a field which does not exist.

Where the encodings allow it, the levels are chosen so that the hard cases separate. Twins share a surname, a date
of birth and an address but not a first name; a parent and a child named after them share names and an address but
not a date of birth. The first-name and date-of-birth *else* levels therefore carry strongly negative weights, and
address and postcode form one comparison, so that a shared household counts once, not twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from linkage.comparison import Comparison, Condition, Cross, Level
from linkage.schema import FIELDS_BY_NAME

NAME_DICE = (0.85, 0.75, 0.65)
ADDRESS_DICE = (0.95, 0.9, 0.8, 0.65)
SWAPPED_NAME_DICE = 0.75
# The weakest similarity levels: diffusion compresses Dice, so a short name with one typo ("reid"/"reif") or an
# address with two (FEBRL's duplicates) can fall below the bands above; EM weighs these levels on the data, and on
# FEBRL4 they lift recall by 0.3 % at the same precision (docs/linkage-quality.md).
NAME_DICE_FLOOR = 0.55
ADDRESS_DICE_FLOOR = 0.55


def _missing(*names: str) -> Level:
    return Level("missing on one side", tuple(Condition("missing", n) for n in names), null=True)


def _eq(name: str, other: str | None = None) -> Condition:
    return Condition("equal", name, other)


def _dice(name: str, at_least: float, other: str | None = None, cross: Cross = "either") -> Condition:
    return Condition("dice", name, other, at_least, cross)


def first_name() -> Comparison:
    """First name: exact (term-frequency adjusted), nickname, Dice bands, phonetic, swapped with the last name."""
    high, mid, low = NAME_DICE
    return Comparison(
        "first_name",
        "first name",
        (
            _missing("bf_first"),
            Level("exact", (_eq("tk_first"),), tf="tk_first"),
            Level("same name or a known nickname", (_eq("tk_first_canon"),)),
            Level(f"very similar (Dice >= {high})", (_dice("bf_first", high),)),
            Level(f"similar (Dice >= {mid})", (_dice("bf_first", mid),)),
            Level("sounds alike", (_eq("tk_first_phon"),)),
            Level(f"somewhat similar (Dice >= {low})", (_dice("bf_first", low),)),
            Level(f"a little similar (Dice >= {NAME_DICE_FLOOR})", (_dice("bf_first", NAME_DICE_FLOOR),)),
            Level("matches the other's last name", (_dice("bf_first", SWAPPED_NAME_DICE, other="bf_last"),)),
            Level("different"),
        ),
    )


def last_name() -> Comparison:
    """Last name: exact (term-frequency adjusted), Dice bands, a shared part, phonetic, swapped with the first."""
    high, mid, low = NAME_DICE
    return Comparison(
        "last_name",
        "last name",
        (
            _missing("bf_last"),
            Level("exact", (_eq("tk_last"),), tf="tk_last"),
            Level(f"very similar (Dice >= {high})", (_dice("bf_last", high),)),
            Level(f"similar (Dice >= {mid})", (_dice("bf_last", mid),)),
            Level("shares a part of a multi-part name", (Condition("overlap", "tk_last_parts"),)),
            Level("sounds alike", (_eq("tk_last_phon"),)),
            Level(f"somewhat similar (Dice >= {low})", (_dice("bf_last", low),)),
            Level(f"a little similar (Dice >= {NAME_DICE_FLOOR})", (_dice("bf_last", NAME_DICE_FLOOR),)),
            # Both names crossed over: with "either", a first name that happens to equal the other's last name
            # would count here and again in the first-name comparison.
            Level("first and last names swapped", (_dice("bf_last", SWAPPED_NAME_DICE, "bf_first", "both"),)),
            Level("different"),
        ),
    )


def date_of_birth() -> Comparison:
    """Date of birth: exact, day and month swapped, same day and month, same year and month, same year."""
    return Comparison(
        "date_of_birth",
        "date of birth",
        (
            _missing("tk_dob"),
            Level("exact", (_eq("tk_dob"),)),
            Level("day and month swapped", (_eq("tk_dob", other="tk_dob_swap"),)),
            Level("same day and month, different year", (_eq("tk_dob_md"),)),
            Level("same year and month", (_eq("tk_dob_ym"),)),
            Level("same year", (_eq("tk_dob_y"),)),
            Level("different"),
        ),
    )


def gender() -> Comparison:
    """Gender: same or different."""
    return Comparison(
        "gender",
        "gender",
        (_missing("tk_gender"), Level("same", (_eq("tk_gender"),)), Level("different")),
    )


def address() -> Comparison:
    """Address and postcode together, so that one shared household is counted once."""
    exact, high, mid, low = ADDRESS_DICE
    floor = ADDRESS_DICE_FLOOR
    pc = _eq("tk_pc_unit")
    return Comparison(
        "address",
        "address",
        (
            _missing("bf_address", "tk_pc_unit", "tk_pc_sector"),
            Level(f"same postcode, address nearly identical (Dice >= {exact})", (pc, _dice("bf_address", exact))),
            Level(f"address very similar (Dice >= {high})", (_dice("bf_address", high),)),
            Level(f"same postcode, address similar (Dice >= {mid})", (pc, _dice("bf_address", mid))),
            Level(f"address similar (Dice >= {mid})", (_dice("bf_address", mid),)),
            Level(f"same postcode, address somewhat similar (Dice >= {low})", (pc, _dice("bf_address", low))),
            Level(f"address somewhat similar (Dice >= {low})", (_dice("bf_address", low),)),
            Level("same postcode", (pc,)),
            Level(f"address a little similar (Dice >= {floor})", (_dice("bf_address", floor),)),
            Level("same postcode sector", (_eq("tk_pc_sector"),)),
            Level("same postcode district", (_eq("tk_pc_district"),)),
            Level("different"),
        ),
    )


def nhs_number() -> Comparison:
    """NHS number: same or different (present only where a health partner holds it)."""
    return Comparison(
        "nhs_number",
        "NHS number",
        (_missing("tk_nhs"), Level("same", (_eq("tk_nhs"),)), Level("different")),
    )


def _available(comparison: Comparison) -> Comparison | None:
    """The comparison without the levels that read fields the schema does not define; None if nothing is left."""
    known = FIELDS_BY_NAME.keys()
    levels = []
    for level in comparison.levels:
        conds = tuple(c for c in level.when if c.field in known and (c.other is None or c.other in known))
        if level.null:
            if conds:
                levels.append(replace(level, when=conds))
        elif len(conds) == len(level.when):
            levels.append(replace(level, tf=level.tf if level.tf in known else None))
    if len(levels) < 3 or not levels[0].null:
        return None
    return replace(comparison, levels=tuple(levels))


def default_comparisons() -> tuple[Comparison, ...]:
    """The comparisons AIM scores with, limited to the fields :mod:`linkage.schema` defines today."""
    made = (first_name(), last_name(), date_of_birth(), gender(), address(), nhs_number())
    return tuple(c for c in map(_available, made) if c is not None)


DEFAULT_JOINT_TF = (("first_name", "last_name"),)


def joint_tf_for(comparisons: Sequence[Comparison]) -> tuple[tuple[str, ...], ...]:
    """The default joint term-frequency groups (first and last name) that ``comparisons`` can carry.

    First and last names are not independent (families, and names that go together within a community), so the
    share of people called "Sunil Shah" is far above the share called "Sunil" times the share called "Shah"; the
    per-name adjustments alone overrate agreement on a common full name.
    """
    adjusted = {c.name for c in comparisons if any(level.tf for level in c.levels)}
    return tuple(group for group in DEFAULT_JOINT_TF if set(group) <= adjusted)
