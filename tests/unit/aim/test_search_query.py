"""encode_query (the portal's half of a search) and the blocking keys a query looks up."""

from __future__ import annotations

from datetime import date

import pytest

from aim.search import QueryError, encode_query
from aim.search.keys import query_keys, record_keys
from aim.search.matching import query_batch
from aim.search.query import EncodedQuery, check_query
from linkage.batch import RecordBatch
from linkage.blocking import default_rules
from linkage.encoder import RawIdentity, RecordEncoder
from linkage.keyset import FieldKeys

KEYS = FieldKeys("k-0123456789ab", bytes(range(32)))
TODAY = date(2026, 11, 23)
AMELIA = RawIdentity("Amelia", "Clarke", "2011-04-09", "F", "4 Birch Avenue Wolverhampton", "WV1 1AB")


def test_a_query_is_encoded_exactly_as_a_feed_row() -> None:
    query = encode_query(
        KEYS,
        first_name="Amelia",
        last_name="Clarke",
        date_of_birth="09/04/2011",
        gender="Female",
        postcode="wv11ab",
        address="4 Birch Avenue Wolverhampton",
        today=TODAY,
    )
    row = RecordEncoder(KEYS, partner="WMP", today=TODAY).encode(AMELIA)
    assert query.key_id == KEYS.key_id
    assert query.enc == row
    assert query.to_json() == {"key_id": KEYS.key_id, "enc": row}


@pytest.mark.parametrize(
    ("case", "fields"),
    [
        ("a surname alone", {"last_name": "Clarke"}),
        ("both names alone", {"first_name": "Amelia", "last_name": "Clarke"}),
        ("a first name and a postcode", {"first_name": "Amelia", "postcode": "WV1 1AB"}),
        ("a date of birth alone", {"date_of_birth": "2011-04-09", "gender": "F"}),
    ],
)
def test_thin_queries_are_refused_with_the_rule(case: str, fields: dict[str, str]) -> None:
    with pytest.raises(QueryError, match=r"too thin|at least one of") as caught:
        encode_query(KEYS, today=TODAY, **fields)
    assert "Clarke" not in str(caught.value), case


@pytest.mark.parametrize(
    ("case", "fields"),
    [
        ("a name and a date of birth", {"last_name": "Clarke", "date_of_birth": "2011-04-09"}),
        ("both names and a postcode", {"first_name": "Amelia", "last_name": "Clarke", "postcode": "WV1 1AB"}),
        ("an NHS number", {"last_name": "Clarke", "nhs_number": "943 476 5919"}),
        ("a local id", {"last_name": "Clarke", "local_id": "P-17", "local_id_partner": "WMP"}),
    ],
)
def test_enough_to_search_with(case: str, fields: dict[str, str]) -> None:
    check_query(encode_query(KEYS, today=TODAY, **fields))


def test_a_bad_value_names_the_field_and_rule_never_the_value() -> None:
    with pytest.raises(QueryError) as caught:
        encode_query(KEYS, last_name="Clarke", date_of_birth="2031-02-30", today=TODAY)
    assert "date_of_birth" in str(caught.value)
    assert "2031" not in str(caught.value)
    with pytest.raises(QueryError, match="local_id_partner"):
        encode_query(KEYS, last_name="Clarke", local_id="P-17", today=TODAY)


def test_the_hub_refuses_unknown_fields_and_bad_key_ids() -> None:
    good = encode_query(KEYS, last_name="Clarke", date_of_birth="2011-04-09", today=TODAY)
    with pytest.raises(QueryError, match="unknown encoded field 'surname'"):
        check_query(EncodedQuery(good.key_id, {**good.enc, "surname": "Clarke"}))
    with pytest.raises(QueryError, match="key_id"):
        check_query(EncodedQuery("secret key", good.enc))


def test_query_keys_reach_a_record_with_day_and_month_swapped_or_a_typo() -> None:
    rules = default_rules()
    stored = RecordEncoder(KEYS, partner="WMP", today=TODAY).encode(AMELIA)
    rows, filed = record_keys(RecordBatch.from_encoded([stored]), rules)  # type: ignore[list-item]
    assert set(rows.tolist()) == {0}
    for case, fields in [
        ("exact", {"first_name": "Amelia", "last_name": "Clarke", "date_of_birth": "2011-04-09"}),
        ("swapped", {"first_name": "Amelia", "last_name": "Clarke", "date_of_birth": "2011-09-04"}),
        ("typo", {"first_name": "Amelai", "last_name": "Clarke", "date_of_birth": "2011-04-09"}),
    ]:
        query = encode_query(KEYS, today=TODAY, **fields)
        assert set(query_keys(query_batch(query), rules)) & set(filed.tolist()), case
    other = encode_query(KEYS, first_name="Noah", last_name="Patel", date_of_birth="1990-12-01", today=TODAY)
    assert not set(query_keys(query_batch(other), rules)) & set(filed.tolist())


def test_query_batch_matches_the_feed_decoder() -> None:
    query = encode_query(KEYS, first_name="Amelia", last_name="Clarke-Jones", date_of_birth="2011-04-09", today=TODAY)
    fast, slow = query_batch(query), RecordBatch.from_encoded([query.enc])
    for name, column in slow.as_arrays().items():
        assert (fast.as_arrays()[name] == column).all(), name
