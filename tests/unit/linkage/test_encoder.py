"""The record encoder: schema shape, no tokens for missing values, problems without values, keys that unlink."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from linkage.bloom import decode_blooms, dice_many
from linkage.encoder import FieldProblem, RawIdentity, RecordEncoder
from linkage.keyset import FieldKeys, KeySetError
from linkage.schema import FIELDS_BY_NAME, validate_encoded

TODAY = date(2026, 11, 23)
KEYS = FieldKeys("k-aaaaaaaaaaaa", bytes(range(32)))
OTHER = FieldKeys("k-bbbbbbbbbbbb", bytes(range(100, 132)))
FULL = RawIdentity(
    first_name="Zoë",
    last_name="O'Brien-Smith",
    date_of_birth="05/03/2012",
    gender="F",
    address="12 Acacia Rd, Birmingham",
    postcode="b15 2tt",
    nhs_number="943 476 5919",
    local_id="P-1",
)
PEOPLE = [
    RawIdentity(first, last, f"{day:02d}/0{month}/19{year}", "M", f"{day} {street} Road", "B15 2TT")
    for first, last, day, month, year, street in [
        ("Oliver", "Smith", 1, 2, 80, "Acacia"),
        ("Amelia", "Jones", 12, 3, 91, "Beech"),
        ("Harry", "Taylor", 23, 4, 62, "Cedar"),
        ("Isla", "Brown", 7, 5, 75, "Damson"),
        ("George", "Williams", 19, 6, 88, "Elm"),
        ("Ava", "Wilson", 28, 7, 99, "Fir"),
    ]
]


def _encode(record: RawIdentity, keys: FieldKeys = KEYS, partner: str = "WMP") -> dict[str, object]:
    result = RecordEncoder(keys, partner=partner, today=TODAY).encode(record)
    assert not isinstance(result, list), result
    return dict(result)


def test_a_full_record_has_every_field_in_the_schema_shape() -> None:
    enc = _encode(FULL)
    assert validate_encoded(enc) == []
    assert set(enc) == set(FIELDS_BY_NAME)
    assert enc["tk_last_parts"]
    assert len(enc["tk_last_parts"]) == 2


def test_missing_values_get_no_field() -> None:
    enc = _encode(RawIdentity(last_name="Smith", gender="Unknown"))
    assert set(enc) == {"bf_last", "tk_last", "tk_last_parts", "tk_last_phon"}


def test_day_and_month_swap_matches_the_other_record_s_date() -> None:
    swapped = _encode(RawIdentity(last_name="Smith", date_of_birth="03/05/2012"))
    assert _encode(FULL)["tk_dob_swap"] == swapped["tk_dob"]


def test_a_single_surname_shares_a_part_with_the_hyphenated_one() -> None:
    plain = _encode(RawIdentity(last_name="Smith"))
    assert set(plain["tk_last_parts"]) & set(_encode(FULL)["tk_last_parts"])  # type: ignore[arg-type]
    assert plain["tk_last"] in _encode(FULL)["tk_last_parts"]  # type: ignore[operator]


def test_nicknames_share_the_canonical_token() -> None:
    assert _encode(RawIdentity("Bill"))["tk_first_canon"] == _encode(RawIdentity("William"))["tk_first_canon"]
    assert _encode(RawIdentity("Bill"))["tk_first"] != _encode(RawIdentity("William"))["tk_first"]


def test_local_id_is_scoped_to_the_partner() -> None:
    assert _encode(FULL, partner="WMP")["tk_local"] != _encode(FULL, partner="FIRE")["tk_local"]
    assert _encode(FULL, partner="WMP")["tk_dob"] == _encode(FULL, partner="FIRE")["tk_dob"]


def test_problems_name_the_column_and_never_the_value() -> None:
    bad = RawIdentity("J0hn", "Smith", "31/04/2012", "Q", "", "NOT A PC", "1234567890")
    result = RecordEncoder(KEYS, partner="WMP", today=TODAY).encode(bad)
    assert isinstance(result, list)
    assert [p.column for p in result] == ["first_name", "date_of_birth", "gender", "postcode", "nhs_number"]
    for problem in result:
        for value in ("J0hn", "31/04/2012", "NOT A PC", "1234567890"):
            assert value not in problem.reason


def test_a_record_needs_a_name() -> None:
    result = RecordEncoder(KEYS, partner="WMP", today=TODAY).encode(RawIdentity(date_of_birth="2012-03-05"))
    assert result == [FieldProblem("first_name", "at least one of first_name and last_name is required")]


def test_encode_many_keeps_order_and_equals_one_by_one() -> None:
    encoder = RecordEncoder(KEYS, partner="WMP", today=TODAY)
    together = encoder.encode_many([*PEOPLE, FULL])
    alone = [RecordEncoder(KEYS, partner="WMP", today=TODAY).encode(p) for p in [*PEOPLE, FULL]]
    assert together == alone


def test_two_key_sets_give_unlinkable_encodings() -> None:
    """The same people under two key sets: no token in common, and Dice no higher than for different people."""
    first = [_encode(p, KEYS) for p in PEOPLE]
    second = [_encode(p, OTHER) for p in PEOPLE]

    def tokens(records: list[dict[str, object]]) -> set[str]:
        out: set[str] = set()
        for enc in records:
            for name, value in enc.items():
                if name.startswith("tk_"):
                    out.update(value if isinstance(value, list) else [str(value)])
        return out

    assert tokens(first).isdisjoint(tokens(second))
    for field in ("bf_first", "bf_last", "bf_address"):
        a = decode_blooms([str(e[field]) for e in first])
        b = decode_blooms([str(e[field]) for e in second])
        same_person = dice_many(a, b)
        other_person = dice_many(a, np.roll(b, 1, axis=0))
        within_key = dice_many(a, np.roll(a, 1, axis=0))
        assert same_person.mean() < within_key.mean() + 0.1, field
        assert abs(same_person.mean() - other_person.mean()) < 0.1, field


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(KeySetError, match="256 bits"):
        FieldKeys("k-aaaaaaaaaaaa", b"short")


def test_derived_keys_differ_by_field_and_by_key_id() -> None:
    assert KEYS.token_key("tk_dob") == KEYS.token_key("tk_dob_swap")
    assert KEYS.token_key("tk_dob") != KEYS.token_key("tk_dob_y")
    same_secret = FieldKeys("k-cccccccccccc", KEYS.secret)
    assert same_secret.token_key("tk_dob") != KEYS.token_key("tk_dob")
    assert KEYS.display_key() not in {KEYS.bloom_key("bf_first"), KEYS.diffusion_key("bf_first")}
