"""Each partner's extract shows the errors of its profile at the profile's rates, measured against people.csv.

Every rate is measured from the files alone (the recorded row beside the true person), never from the generator's
internals, and must lie within a binomial tolerance of the rate in :data:`aim.fixtures.profile.ERROR_RATES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import jellyfish
import pandas as pd
import pytest

from aim.fixtures import DEFAULT_AS_OF, generate_fixtures
from aim.fixtures.names import name_book
from aim.fixtures.profile import PARTNERS, PARTNERS_BY_CODE
from linkage.errors import NormalisationError
from linkage.normalise import normalise_postcode, parse_date, swapped_day_month

PEOPLE = 8000


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """Each partner's rows joined to the true person (true columns prefixed ``true_``)."""
    out: Path = tmp_path_factory.mktemp("population")
    generate_fixtures(people=PEOPLE, seed=5, out=out)

    def read(path: Path) -> pd.DataFrame:
        return pd.read_csv(path, dtype=str, keep_default_na=False)

    people = read(out / "people.csv").add_prefix("true_")
    truth = read(out / "truth.csv")
    joined = {}
    for spec in PARTNERS:
        extract = read(out / "raw" / f"{spec.code}.csv")
        mine = truth[truth["partner"] == spec.code].reset_index(drop=True)
        assert mine["record_id"].tolist() == extract["record_id"].tolist()
        extract["person_id"] = mine["person_id"]
        joined[spec.code] = extract.merge(people, left_on="person_id", right_on="true_person_id", how="left")
    return joined


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _off(hits: int, expected: float, variance: float) -> bool:
    return abs(hits - expected) > 3.5 * math.sqrt(variance) + 2


def _check(measured: list[tuple[str, str, int, int, float]]) -> None:
    """Each (partner, error, hits, rows, rate) within 3.5 standard deviations (and two rows) of the profile's rate.

    Each kind of error is also checked pooled over the partners, which finds a rate a few hundred rows cannot.
    """
    failures = []
    pooled: dict[str, list[float]] = {}
    for partner, error, hits, n, rate in measured:
        if _off(hits, n * rate, n * rate * (1 - rate)):
            failures.append(f"{partner} {error}: {hits}/{n} = {hits / max(n, 1):.3f}, profile {rate}")
        totals = pooled.setdefault(error, [0, 0.0, 0.0])
        totals[0] += hits
        totals[1] += n * rate
        totals[2] += n * rate * (1 - rate)
    for error, (hits, expected, variance) in pooled.items():
        if _off(int(hits), expected, variance):
            failures.append(f"all partners {error}: {int(hits)} rows, profiles expect {expected:.0f}")
    assert not failures, "; ".join(failures)


def _swapped(row: pd.Series) -> bool:
    first, last = _norm(row["first_name"]), _norm(row["last_name"])
    true_first, true_last = _norm(row["true_first_name"]), _norm(row["true_last_name"])
    sim = jellyfish.jaro_winkler_similarity
    return sim(first, true_last) > sim(first, true_first) and sim(last, true_first) > sim(last, true_last)


def _measure(code: str, frame: pd.DataFrame, error: str, hit: Callable[[pd.Series], bool], among: pd.Series) -> tuple:
    chosen = frame[among]
    hits = int(sum(hit(row) for _, row in chosen.iterrows()))
    return (code, error, hits, len(chosen), getattr(PARTNERS_BY_CODE[code].errors, error))


def test_names_show_the_profile_nicknames_variants_typos_halves_and_swaps(rows: dict[str, pd.DataFrame]) -> None:
    book = name_book()
    measured = []
    for code, frame in rows.items():
        swapped = frame.apply(_swapped, axis=1)
        measured.append((code, "name_swap", int(swapped.sum()), len(frame), PARTNERS_BY_CODE[code].errors.name_swap))
        kept = frame[~swapped]
        first, true_first = kept["first_name"].map(_norm), kept["true_first_name"]
        nicks = true_first.map(lambda n: {x.casefold() for x in book.nicknames_of(n)})
        variants = true_first.map(lambda n: {x.casefold() for x in book.variants_of(n)})
        has_nick = nicks.map(bool)
        nick_hits = int(sum(f in s for f, s in zip(first[has_nick], nicks[has_nick], strict=True)))
        measured.append((code, "nickname", nick_hits, int(has_nick.sum()), PARTNERS_BY_CODE[code].errors.nickname))
        last, true_last = kept["last_name"].map(_norm), kept["true_last_name"]
        last_variants = true_last.map(lambda n: {x.casefold() for x in book.variants_of(n)})
        has_variant = last_variants.map(bool)
        variant_hits = int(sum(f in s for f, s in zip(last[has_variant], last_variants[has_variant], strict=True)))
        rate = PARTNERS_BY_CODE[code].errors.variant
        measured.append((code, "variant", variant_hits, int(has_variant.sum()), rate))
        typo_hits = 0
        for got, true, others in [
            *zip(first, true_first.str.casefold(), [a | b for a, b in zip(nicks, variants, strict=True)], strict=True),
            *zip(last, true_last.str.casefold(), last_variants, strict=True),
        ]:
            typo_hits += got not in others and jellyfish.damerau_levenshtein_distance(got, true) == 1
        measured.append((code, "typo", typo_hits, 2 * len(kept), PARTNERS_BY_CODE[code].errors.typo))
        halves = true_last.map(lambda n: {h.casefold() for h in n.split("-") if len(h) > 2} if "-" in n else set())
        hyphenated = halves.map(bool)
        half_hits = int(sum(got in s for got, s in zip(last[hyphenated], halves[hyphenated], strict=True)))
        rate = PARTNERS_BY_CODE[code].errors.hyphen_half
        measured.append((code, "hyphen_half", half_hits, int(hyphenated.sum()), rate))
    _check(measured)


def test_case_and_whitespace_follow_the_profile(rows: dict[str, pd.DataFrame]) -> None:
    measured = []
    for code, frame in rows.items():
        name = frame["first_name"].str.strip()
        everything = pd.Series(True, index=frame.index)
        measured.append(_measure(code, frame, "upper_case", lambda r: r["last_name"].strip().isupper(), everything))
        lower = (name == name.str.lower()).sum()
        measured.append((code, "lower_case", int(lower), len(frame), PARTNERS_BY_CODE[code].errors.lower_case))
        padded = (frame["first_name"] != frame["first_name"].str.strip()).sum()
        measured.append((code, "whitespace", int(padded), len(frame), PARTNERS_BY_CODE[code].errors.whitespace))
    _check(measured)


def test_dates_of_birth_are_missing_swapped_wrong_and_formatted_as_profiled(rows: dict[str, pd.DataFrame]) -> None:
    measured = []
    for code, frame in rows.items():
        errors = PARTNERS_BY_CODE[code].errors
        true = frame["true_date_of_birth"].map(parse_date)
        got = frame["date_of_birth"].map(parse_date)
        blank = frame["date_of_birth"] == ""
        swaps = true.map(swapped_day_month)
        swappable = swaps.notna() & (swaps <= DEFAULT_AS_OF)
        swap_hits = int(((got == swaps) & swappable).sum())
        wrong = ~blank & (got != true) & (got != swaps)
        written = frame.loc[~blank, "date_of_birth"]
        measured += [
            (code, "dob_missing", int(blank.sum()), len(frame), errors.dob_missing),
            (code, "dob_swap", swap_hits, int(swappable.sum()), errors.dob_swap),
            (code, "dob_wrong", int(wrong.sum()), len(frame), errors.dob_wrong),
            (code, "dob_uk_format", int(written.str.contains("/").sum()), len(written), errors.dob_uk_format),
        ]
    _check(measured)


def test_gender_is_written_as_the_partner_writes_it(rows: dict[str, pd.DataFrame]) -> None:
    measured = []
    for code, frame in rows.items():
        errors, gender = PARTNERS_BY_CODE[code].errors, frame["gender"]
        assert set(gender) <= {"M", "F", "Male", "Female", "U", "Unknown", ""}
        known = gender.isin(["M", "F", "Male", "Female"])
        assert (gender[known].str[0] == frame.loc[known, "true_gender"]).all(), f"{code}: a recorded gender is wrong"
        measured += [
            (code, "gender_blank", int((gender == "").sum()), len(frame), errors.gender_blank),
            (code, "gender_unknown", int(gender.isin(["U", "Unknown"]).sum()), len(frame), errors.gender_unknown),
            (code, "gender_word", int(gender.isin(["Male", "Female"]).sum()), len(frame), errors.gender_word),
        ]
    _check(measured)


def _street(line: str) -> str:
    """The address before its street type and town: ``Flat 2, 14 Oak`` of ``Flat 2, 14 Oak Road, Erdington``."""
    street = line.rpartition(", ")[0]
    return street.rpartition(" ")[0].casefold()


def test_addresses_and_postcodes_show_the_profile(rows: dict[str, pd.DataFrame]) -> None:
    measured = []
    for code, frame in rows.items():
        errors = PARTNERS_BY_CODE[code].errors
        address = frame["address"].str.casefold()
        given = address != ""
        moved = given & (frame["true_previous_address"] != "")
        before = pd.Series(
            [
                bool(p) and a.startswith(_street(p))
                for a, p in zip(address, frame["true_previous_address"], strict=True)
            ],
            index=frame.index,
        )
        used = frame["true_previous_address"].where(before, frame["true_address"])
        short = pd.Series([a.count(",") < u.count(",") for a, u in zip(address, used, strict=True)], index=frame.index)
        measured += [
            (code, "address_missing", int((~given).sum()), len(frame), errors.address_missing),
            (code, "previous_address", int((moved & before).sum()), int(moved.sum()), errors.previous_address),
            (code, "address_short", int((given & short).sum()), int(given.sum()), errors.address_short),
        ]
        postcode = frame["postcode"]
        written = postcode != ""
        units = postcode[written].map(lambda p: normalise_postcode(p).unit)  # type: ignore[union-attr]
        known = (units == frame.loc[written, "true_postcode"]) | (units == frame.loc[written, "true_previous_postcode"])
        measured += [
            (code, "postcode_missing", int((~written).sum()), len(frame), errors.postcode_missing),
            (code, "postcode_typo", int((~known).sum()), int(written.sum()), errors.postcode_typo),
            (code, "postcode_compact", int((~postcode[written].str.contains(" ")).sum()), int(written.sum()),
             errors.postcode_compact),
            (code, "postcode_lower", int((postcode[written] == postcode[written].str.lower()).sum()),
             int(written.sum()), errors.postcode_lower),
        ]  # fmt: skip
    _check(measured)


def test_every_postcode_written_passes_the_normaliser(rows: dict[str, pd.DataFrame]) -> None:
    for code, frame in rows.items():
        for value in frame["postcode"]:
            try:
                normalise_postcode(value)
            except NormalisationError as exc:
                pytest.fail(f"{code}: postcode {value!r} {exc}")


def test_nhs_numbers_only_from_health_holders_sometimes_missing_and_true(rows: dict[str, pd.DataFrame]) -> None:
    measured = []
    for code, frame in rows.items():
        spec = PARTNERS_BY_CODE[code]
        nhs = frame["nhs_number"]
        if not spec.nhs:
            assert (nhs == "").all(), f"{code} holds no NHS numbers but wrote some"
            continue
        given = nhs != ""
        assert (nhs[given].str.replace(" ", "") == frame.loc[given, "true_nhs_number"]).all()
        measured += [
            (code, "nhs_missing", int((~given).sum()), len(frame), spec.errors.nhs_missing),
            (code, "nhs_spaced", int(nhs[given].str.contains(" ").sum()), int(given.sum()), spec.errors.nhs_spaced),
        ]
    assert {"CITYHOSP_AE", "BCHC"} <= {m[0] for m in measured}
    _check(measured)


def test_the_tolerance_rejects_a_wrong_rate() -> None:
    with pytest.raises(AssertionError, match="WMP typo"):
        _check([("WMP", "typo", 0, 2000, 0.05)])
    with pytest.raises(AssertionError, match="all partners typo"):
        _check([("WMP", "typo", 8, 400, 0.05), ("FIRE", "typo", 8, 400, 0.05), ("BCHC", "typo", 8, 400, 0.05)])
    _check([("WMP", "typo", 100, 2000, 0.05)])
