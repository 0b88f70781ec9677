"""Normalisation rules, one table per identifier; every case says what it shows."""

from __future__ import annotations

from datetime import date

import pytest

from linkage.errors import NormalisationError
from linkage.nickname import canonical_first_name
from linkage.normalise import (
    Name,
    normalise_address,
    normalise_birth_date,
    normalise_gender,
    normalise_name,
    normalise_nhs_number,
    normalise_postcode,
    parse_date,
    swapped_day_month,
)

TODAY = date(2026, 11, 23)

NAMES = [
    ("case is folded", "SMITH", ("smith",)),
    ("accents become ASCII", "Zoë", ("zoe",)),
    ("letters without a decomposition are transliterated", "Ødegård", ("odegard",)),
    ("German sharp s", "Strauß", ("strauss",)),
    ("apostrophes vanish", "O'Brien", ("obrien",)),
    ("curly apostrophes vanish", "O\u2019Brien", ("obrien",)),
    ("hyphen separates parts", "Smith-Jones", ("smith", "jones")),
    ("spaced hyphen separates parts", " Smith - Jones ", ("smith", "jones")),
    ("whitespace collapses", "  Mary   Ann ", ("mary", "ann")),
    ("a leading title is dropped", "Mrs Zoe", ("zoe",)),
    ("a title with a full stop is dropped", "Dr. John", ("john",)),
    ("a trailing suffix is dropped", "Smith Jr.", ("smith",)),
    ("a title alone is kept as a name", "Major", ("major",)),
    ("a hyphenated name that starts like a title keeps both parts", "Major-Ball", ("major", "ball")),
]


@pytest.mark.parametrize(("why", "raw", "parts"), NAMES, ids=[c[0] for c in NAMES])
def test_names_normalise(why: str, raw: str, parts: tuple[str, ...]) -> None:
    assert normalise_name(raw) == Name(parts), why


def test_joined_name_makes_spacing_irrelevant() -> None:
    forms = ["Smith-Jones", "Smith Jones", "SmithJones", "SMITH - JONES"]
    assert {n.joined for n in map(normalise_name, forms) if n} == {"smithjones"}


@pytest.mark.parametrize("raw", ["", "   "], ids=["empty", "blank"])
def test_empty_name_is_missing(raw: str) -> None:
    assert normalise_name(raw) is None


BAD_NAMES = [
    ("digits are not a name", "J0hn", "digits"),
    ("punctuation only is not a name", "...", "letters"),
]


@pytest.mark.parametrize(("why", "raw", "word"), BAD_NAMES, ids=[c[0] for c in BAD_NAMES])
def test_bad_names_are_refused_without_the_value(why: str, raw: str, word: str) -> None:
    with pytest.raises(NormalisationError, match=word) as caught:
        normalise_name(raw)
    assert raw not in str(caught.value), why


NICKNAMES = [
    ("a nickname maps to its formal name", "bill", "william"),
    ("a short form maps to its formal name", "will", "william"),
    ("a formal name is its own canonical", "william", "william"),
    ("diminutives of Elizabeth agree", "liz", "elizabeth"),
    ("Bob is Robert", "bob", "robert"),
    ("Emma is not merged into Emily", "emma", "emma"),
    ("an unknown name is its own canonical", "zebedeus", "zebedeus"),
]


@pytest.mark.parametrize(("why", "name", "canonical"), NICKNAMES, ids=[c[0] for c in NICKNAMES])
def test_nicknames_canonicalise(why: str, name: str, canonical: str) -> None:
    assert canonical_first_name(name) == canonical, why


DATES = [
    ("ISO", "2012-03-23", date(2012, 3, 23)),
    ("UK with slashes", "23/03/2012", date(2012, 3, 23)),
    ("UK with hyphens", "23-03-2012", date(2012, 3, 23)),
    ("UK with dots", "23.03.2012", date(2012, 3, 23)),
    ("UK with one-digit day and month", "3/4/2012", date(2012, 4, 3)),
    ("surrounding spaces", " 2012-03-23 ", date(2012, 3, 23)),
    ("29 February in a leap year", "29/02/2012", date(2012, 2, 29)),
]


@pytest.mark.parametrize(("why", "raw", "expected"), DATES, ids=[c[0] for c in DATES])
def test_dates_parse(why: str, raw: str, expected: date) -> None:
    assert parse_date(raw) == expected, why


BAD_DATES = [
    ("31 April does not exist", "31/04/2012", "does not exist"),
    ("29 February outside a leap year", "29/02/2011", "leap year"),
    ("month 13", "2012-13-01", "month"),
    ("US month-first order shows as month 13", "03/23/2012", "month"),
    ("year first with slashes is neither form", "2012/03/23", "YYYY-MM-DD"),
    ("words", "23rd March 2012", "YYYY-MM-DD"),
    ("two-digit year", "23/03/12", "YYYY-MM-DD"),
]


@pytest.mark.parametrize(("why", "raw", "word"), BAD_DATES, ids=[c[0] for c in BAD_DATES])
def test_impossible_dates_are_refused_with_a_reason(why: str, raw: str, word: str) -> None:
    with pytest.raises(NormalisationError, match=word) as caught:
        parse_date(raw)
    assert raw.strip() not in str(caught.value), why


def test_birth_dates_in_the_future_or_before_1900_are_refused() -> None:
    with pytest.raises(NormalisationError, match="future"):
        normalise_birth_date("2026-11-24", today=TODAY)
    with pytest.raises(NormalisationError, match="1900"):
        normalise_birth_date("1899-12-31", today=TODAY)
    assert normalise_birth_date("2026-11-23", today=TODAY) == TODAY
    assert normalise_birth_date("", today=TODAY) is None


SWAPS = [
    ("day and month swap", date(2012, 3, 5), date(2012, 5, 3)),
    ("a day above 12 cannot be a month", date(2012, 3, 23), None),
    ("equal day and month give nothing new", date(2012, 4, 4), None),
]


@pytest.mark.parametrize(("why", "born", "swapped"), SWAPS, ids=[c[0] for c in SWAPS])
def test_swapped_day_month(why: str, born: date, swapped: date | None) -> None:
    assert swapped_day_month(born) == swapped, why


GENDERS = [
    ("letter M", "M", "m"),
    ("word Female", "Female", "f"),
    ("lower case and spaces", "  male ", "m"),
    ("girl", "Girl", "f"),
    ("other", "Other", "x"),
    ("U is no evidence", "U", None),
    ("Unknown is no evidence", "Unknown", None),
    ("Not known is no evidence", "Not Known", None),
    ("empty", "", None),
]


@pytest.mark.parametrize(("why", "raw", "code"), GENDERS, ids=[c[0] for c in GENDERS])
def test_gender_codes(why: str, raw: str, code: str | None) -> None:
    assert normalise_gender(raw) == code, why


def test_unrecognised_gender_is_refused() -> None:
    with pytest.raises(NormalisationError, match="recognised"):
        normalise_gender("Q")


POSTCODES = [
    ("standard", "B15 2TT", "B15 2TT", "B15", "B15 2"),
    ("no space, lower case", "b152tt", "B15 2TT", "B15", "B15 2"),
    ("extra spaces", "  SW1A   1AA ", "SW1A 1AA", "SW1A", "SW1A 1"),
    ("one-letter one-digit outward", "M1 1AE", "M1 1AE", "M1", "M1 1"),
    ("two-letter two-digit outward", "CR2 6XH", "CR2 6XH", "CR2", "CR2 6"),
    ("letter-digit-letter outward", "W1A 0AX", "W1A 0AX", "W1A", "W1A 0"),
]


@pytest.mark.parametrize(("why", "raw", "unit", "district", "sector"), POSTCODES, ids=[c[0] for c in POSTCODES])
def test_postcodes_split(why: str, raw: str, unit: str, district: str, sector: str) -> None:
    postcode = normalise_postcode(raw)
    assert postcode is not None, why
    assert (postcode.unit, postcode.district, postcode.sector, postcode.outward) == (unit, district, sector, district)


BAD_POSTCODES = [
    ("too short", "AB1"),
    ("digits only", "12345"),
    ("inward code letter not used (C)", "B15 2CC"),
    ("first letter not used (Q)", "QA1 1AA"),
]


@pytest.mark.parametrize(("why", "raw"), BAD_POSTCODES, ids=[c[0] for c in BAD_POSTCODES])
def test_bad_postcodes_are_refused(why: str, raw: str) -> None:
    with pytest.raises(NormalisationError, match="UK postcode") as caught:
        normalise_postcode(raw)
    assert raw not in str(caught.value), why


ADDRESSES = [
    ("case, punctuation and abbreviations", "Flat 3, 12 Acacia Rd.", "flat 3 12 acacia road"),
    ("an embedded postcode is removed", "12 Acacia Road, Birmingham B15 2TT", "12 acacia road birmingham"),
    ("apartment is a flat", "Apt 4 Mill Ct", "flat 4 mill court"),
    ("nothing left is missing", " , ", None),
]


@pytest.mark.parametrize(("why", "raw", "expected"), ADDRESSES, ids=[c[0] for c in ADDRESSES])
def test_addresses_normalise(why: str, raw: str, expected: str | None) -> None:
    assert normalise_address(raw) == expected, why


NHS = [
    ("spaced", "943 476 5919", "9434765919"),
    ("plain", "9434765919", "9434765919"),
    ("hyphenated", "943-476-5919", "9434765919"),
    ("empty is missing", "", None),
]


@pytest.mark.parametrize(("why", "raw", "expected"), NHS, ids=[c[0] for c in NHS])
def test_nhs_numbers(why: str, raw: str, expected: str | None) -> None:
    assert normalise_nhs_number(raw) == expected, why


BAD_NHS = [
    ("check digit wrong", "9434765918", "modulus-11"),
    ("two digits swapped", "9434765991", "modulus-11"),
    ("nine digits", "943476591", "10 digits"),
    ("letters", "94347659AB", "10 digits"),
    ("check digit would be 10", "1000000010", "modulus-11"),
]


@pytest.mark.parametrize(("why", "raw", "word"), BAD_NHS, ids=[c[0] for c in BAD_NHS])
def test_bad_nhs_numbers_are_refused(why: str, raw: str, word: str) -> None:
    with pytest.raises(NormalisationError, match=word) as caught:
        normalise_nhs_number(raw)
    assert raw not in str(caught.value), why
