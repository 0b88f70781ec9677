"""The synthetic population keeps its promises: hard households, plausible ages, own flags, truth for every row.

One population of 3,000 people is generated per module; determinism and the CLI use smaller ones.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from aim.agent.encode import encode_extract
from aim.agent.mapping import CANONICAL_COLUMNS
from aim.cli import main
from aim.fixtures import DEFAULT_AS_OF, generate_fixtures, population
from aim.fixtures.interaction import WINDOW_DAYS
from aim.fixtures.names import name_book
from aim.fixtures.profile import PARTNERS, PARTNERS_BY_CODE, partner_table, profile_table
from aim.keys import init_keys
from aim.vocabulary import default_vocabulary
from linkage.evaluate import evaluate
from linkage.normalise import normalise_nhs_number, normalise_postcode, parse_date

PEOPLE = 3000
DOCS = Path(__file__).resolve().parents[3] / "docs" / "fixtures.md"
# The flags each partner may use, written out independently of the generator's tables.
OWN_FLAGS = {
    "WMP": ("POLICE_",),
    "CITYHOSP_AE": ("AE_",),
    "BCHC": ("COMMUNITY_NURSE", "HEALTH_VISITOR"),
    "SCHOOLS": ("SCHOOL_",),
    "CHILDRENS_SC": ("CSC_",),
    "ADULT_SC": ("ASC_",),
    "FIRE": ("FIRE_",),
    "HOUSING": ("HOUSING_",),
}
# Ages (at the interaction date) each partner or flag may see, from the product's rules.
PLAUSIBLE_AGES = {"SCHOOLS": (4, 18), "ADULT_SC": (18, 120), "CHILDRENS_SC": (0, 17), "HEALTH_VISITOR": (0, 5)}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out: Path = tmp_path_factory.mktemp("population")
    generate_fixtures(people=PEOPLE, seed=3, out=out)
    return out


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def people(folder: Path) -> pd.DataFrame:
    return _read(folder / "people.csv")


@pytest.fixture(scope="module")
def relationships(folder: Path) -> pd.DataFrame:
    return _read(folder / "relationships.csv")


@pytest.fixture(scope="module")
def extracts(folder: Path) -> dict[str, pd.DataFrame]:
    return {spec.code: _read(folder / "raw" / f"{spec.code}.csv") for spec in PARTNERS}


@pytest.fixture(scope="module")
def rows(folder: Path, extracts: dict[str, pd.DataFrame], people: pd.DataFrame) -> pd.DataFrame:
    """Every row of every extract with its partner, true person and true date of birth."""
    truth = _read(folder / "truth.csv")
    frames = [frame.assign(partner=code) for code, frame in extracts.items()]
    joined = pd.concat(frames, ignore_index=True).merge(truth, on=["partner", "record_id"], how="left")
    return joined.merge(people[["person_id", "date_of_birth"]], on="person_id", suffixes=("", "_true"))


def _pairs(people: pd.DataFrame, relationships: pd.DataFrame, kind: str) -> pd.DataFrame:
    chosen = relationships[relationships["kind"] == kind]
    return chosen.merge(people.add_suffix("_a"), left_on="person_a", right_on="person_id_a").merge(
        people.add_suffix("_b"), left_on="person_b", right_on="person_id_b"
    )


def test_households_share_an_address_and_often_a_surname(people: pd.DataFrame) -> None:
    households = people.groupby("household_id")
    assert (households["address"].nunique() == 1).all(), "members of a household live at one address"
    assert (households["postcode"].nunique() == 1).all()
    big = households.filter(lambda h: len(h) >= 3 and h["last_name"].nunique() == 1)
    assert big["household_id"].nunique() >= 50, "families of three or more sharing a surname"
    assert people["address"].nunique() == people["household_id"].nunique(), "one address per household"


@pytest.mark.parametrize(
    ("kind", "least"),
    [
        pytest.param("twin", 5, id="twins"),
        pytest.param("sibling", 100, id="siblings"),
        pytest.param("parent_child", 500, id="parents and children"),
        pytest.param("parent_child_same_name", 5, id="children named after a parent"),
        pytest.param("couple", 200, id="couples"),
    ],
)
def test_every_relationship_kind_is_present(relationships: pd.DataFrame, kind: str, least: int) -> None:
    assert (relationships["kind"] == kind).sum() >= least


def test_twins_share_birthday_surname_and_address_but_not_first_name(
    people: pd.DataFrame, relationships: pd.DataFrame
) -> None:
    twins = _pairs(people, relationships, "twin")
    assert not twins.empty
    for column in ("date_of_birth", "last_name", "address", "household_id"):
        assert (twins[f"{column}_a"] == twins[f"{column}_b"]).all(), column
    assert (twins["first_name_a"] != twins["first_name_b"]).all()
    siblings = _pairs(people, relationships, "sibling")
    assert (siblings["date_of_birth_a"] != siblings["date_of_birth_b"]).all(), "only twins share a birthday"


def test_a_child_named_after_a_parent_shares_both_names_and_the_address(
    people: pd.DataFrame, relationships: pd.DataFrame
) -> None:
    pairs = _pairs(people, relationships, "parent_child_same_name")
    assert not pairs.empty
    for column in ("first_name", "last_name", "address"):
        assert (pairs[f"{column}_a"] == pairs[f"{column}_b"]).all(), column
    gap = pd.to_datetime(pairs["date_of_birth_b"]) - pd.to_datetime(pairs["date_of_birth_a"])
    assert (gap >= pd.Timedelta(days=18 * 365)).all(), "the parent is at least 18 years older"
    others = _pairs(people, relationships, "parent_child")
    same = (others["first_name_a"] == others["first_name_b"]) & (others["last_name_a"] == others["last_name_b"])
    assert not same.any(), "a same-name parent and child are labelled parent_child_same_name"


def test_couples_with_different_surnames_and_hyphenated_surnames_exist(
    people: pd.DataFrame, relationships: pd.DataFrame
) -> None:
    couples = _pairs(people, relationships, "couple")
    different = (couples["last_name_a"] != couples["last_name_b"]).mean()
    assert 0.2 < different < 0.7, f"share of couples with different surnames: {different:.2f}"
    assert people["last_name"].str.contains("-").sum() >= 30


def test_names_reflect_every_origin_in_the_name_book(people: pd.DataFrame) -> None:
    book = name_book()
    shares = people["name_origin"].value_counts(normalize=True)
    for origin in book.origins:
        assert shares.get(origin.name, 0) > origin.weight / 3, f"{origin.name} is under-represented"
        assert people.loc[people["name_origin"] == origin.name, "last_name"].isin(origin.surnames).any()


def test_people_have_valid_distinct_test_range_nhs_numbers_and_well_formed_postcodes(people: pd.DataFrame) -> None:
    assert people["nhs_number"].is_unique
    assert people["nhs_number"].str.startswith("999").all()
    assert all(normalise_nhs_number(n) == n for n in people["nhs_number"])
    for column in ("postcode", "previous_postcode"):
        assert all(normalise_postcode(p) is not None for p in people[column] if p)
    moved = (people["previous_address"] != "").mean()
    assert 0.1 < moved < 0.4


def test_beyond_the_test_range_some_people_have_no_nhs_number_and_no_partner_writes_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(population, "NHS_TEST_RANGE", 300)
    generate_fixtures(people=400, seed=2, out=tmp_path)
    people = _read(tmp_path / "people.csv")
    numbered = people["nhs_number"] != ""
    assert numbered.sum() == 300
    assert people.loc[numbered, "nhs_number"].is_unique
    assert all(normalise_nhs_number(n) == n for n in people.loc[numbered, "nhs_number"])
    # chosen at random, not the last people generated
    assert not numbered.iloc[:300].all()
    without = set(people.loc[~numbered, "person_id"])
    truth = _read(tmp_path / "truth.csv")
    written = 0
    for code in ("CITYHOSP_AE", "BCHC", "ADULT_SC"):
        frame = _read(tmp_path / "raw" / f"{code}.csv").merge(truth[truth["partner"] == code], on="record_id")
        theirs = frame.loc[frame["person_id"].isin(without), "nhs_number"]
        assert (theirs == "").all(), f"{code} wrote an NHS number for someone who has none"
        written += len(theirs)
    assert written > 0


def test_extracts_have_the_canonical_columns_and_truth_covers_every_row(
    folder: Path, extracts: dict[str, pd.DataFrame], people: pd.DataFrame
) -> None:
    truth = _read(folder / "truth.csv")
    assert list(truth.columns) == ["partner", "record_id", "person_id"]
    for code, frame in extracts.items():
        assert tuple(frame.columns) == CANONICAL_COLUMNS, code
        assert frame["record_id"].is_unique, code
        mine = truth[truth["partner"] == code]
        assert mine["record_id"].tolist() == frame["record_id"].tolist(), code
    assert len(truth) == sum(len(f) for f in extracts.values())
    assert truth["person_id"].isin(people["person_id"]).all()
    assert set(default_vocabulary().partners) == set(extracts)


def test_each_partner_uses_only_its_own_flags(extracts: dict[str, pd.DataFrame]) -> None:
    vocabulary = default_vocabulary()
    for code, frame in extracts.items():
        category = {vocabulary.partners[code].type}
        assert frame["flag"].str.startswith(OWN_FLAGS[code]).all(), code
        assert set(frame["flag"].map(vocabulary.flags)) == category, code


def test_ages_at_the_interaction_are_plausible_for_the_partner_and_flag(rows: pd.DataFrame) -> None:
    when = pd.to_datetime(rows["interaction_date"].map(parse_date))
    born = pd.to_datetime(rows["date_of_birth_true"])
    before = (when.dt.month * 100 + when.dt.day) < (born.dt.month * 100 + born.dt.day)
    age = when.dt.year - born.dt.year - before.astype(int)
    assert (when >= born).all(), "no interaction before birth"
    for code, spec in PARTNERS_BY_CODE.items():
        mine = rows["partner"] == code
        for flag in set(rows.loc[mine, "flag"]):
            ages = age[mine & (rows["flag"] == flag)]
            fits = pd.Series(False, index=ages.index)
            for contact in (c for c in spec.contacts if c.flag == flag):
                fits |= ages.between(contact.min_age, contact.max_age)
            assert fits.all(), f"{code} {flag}: ages {sorted(set(ages[~fits]))} are outside its contacts"
            low, high = PLAUSIBLE_AGES.get(flag, PLAUSIBLE_AGES.get(code, (0, 120)))
            assert ages.between(low, high).all(), f"{code} {flag}: ages outside {low}-{high}"


def test_interactions_fall_in_the_months_before_the_as_of_date(rows: pd.DataFrame) -> None:
    when = rows["interaction_date"].map(parse_date)
    assert when.max() <= DEFAULT_AS_OF
    assert when.min() >= DEFAULT_AS_OF - timedelta(days=WINDOW_DAYS)
    per_person = rows.groupby(["partner", "person_id"]).size()
    assert (per_person >= 2).mean() > 0.2, "people met by a partner are often met several times"


def test_a_minority_clusters_across_partners_within_thirty_days(rows: pd.DataFrame) -> None:
    frame = rows.assign(day=pd.to_datetime(rows["interaction_date"].map(parse_date)))[["person_id", "partner", "day"]]
    frame = frame.reset_index(names="start")
    pairs = frame.merge(frame, on="person_id", suffixes=("", "_other"))
    gap = pairs["day_other"] - pairs["day"]
    within = pairs[(gap >= pd.Timedelta(0)) & (gap < pd.Timedelta(days=30))]
    counts = within.groupby(["person_id", "start"])["partner_other"].nunique().groupby("person_id").max()
    assert (counts >= 3).sum() >= PEOPLE * 0.005, "some people reach the alert rule (3 partners in 30 days)"
    assert (counts == 2).sum() >= PEOPLE * 0.01, "some people reach the watch-list rule (2 partners in 30 days)"
    assert (counts >= 2).sum() < PEOPLE * 0.2, "clustered activity is a minority"


def test_local_ids_are_stable_per_person_only_where_the_partner_has_them(rows: pd.DataFrame) -> None:
    for code, spec in PARTNERS_BY_CODE.items():
        mine = rows[rows["partner"] == code]
        if spec.local_id_prefix is None:
            assert (mine["local_id"] == "").all(), code
            continue
        assert mine["local_id"].str.startswith(spec.local_id_prefix).all(), code
        assert (mine.groupby("person_id")["local_id"].nunique() == 1).all(), f"{code}: one local_id per person"
        assert (mine.groupby("local_id")["person_id"].nunique() == 1).all(), f"{code}: one person per local_id"
    assert {c for c, s in PARTNERS_BY_CODE.items() if s.local_id_prefix} >= {"WMP", "CHILDRENS_SC"}
    assert {c for c, s in PARTNERS_BY_CODE.items() if not s.local_id_prefix} >= {"SCHOOLS", "FIRE"}


def test_lead_contacts_are_a_few_staff_contacts_per_partner(rows: pd.DataFrame, people: pd.DataFrame) -> None:
    for code in PARTNERS_BY_CODE:
        leads = set(rows.loc[rows["partner"] == code, "lead_contact"])
        assert 1 <= len(leads) <= 5, code
        assert all(0 < len(lead) <= 200 for lead in leads)
        assert all(".example." in lead or "0121 496" in lead for lead in leads), "synthetic contacts only"


def test_relationships_file_feeds_the_evaluation_of_false_merges(folder: Path, relationships: pd.DataFrame) -> None:
    truth = _read(folder / "truth.csv")
    twins = relationships[relationships["kind"] == "twin"]
    seen = set(truth["person_id"])
    pair = next((a, b) for a, b in zip(twins["person_a"], twins["person_b"], strict=True) if a in seen and b in seen)
    links = truth.assign(person_id=truth["person_id"].replace({pair[1]: pair[0]}))
    result = evaluate(truth, links, relationships)
    assert result.false_merges.get("twin", 0) >= 1
    assert set(result.false_merges) == {"twin"}


def test_the_partner_agent_encodes_almost_every_row(folder: Path, tmp_path: Path) -> None:
    init_keys(directory=tmp_path / "keys")
    now = datetime.combine(DEFAULT_AS_OF, time(23, 59), tzinfo=UTC)
    read = rejected = 0
    for spec in PARTNERS:
        summary = encode_extract(
            keys_dir=tmp_path / "keys",
            partner=spec.code,
            raw=folder / "raw" / f"{spec.code}.csv",
            out=tmp_path / f"{spec.code}.feed",
            now=now,
        )
        read += summary.read
        rejected += summary.rejected
    assert read > 1000
    assert rejected <= read * 0.01, f"{rejected} of {read} rows rejected: errors should make rows hard, not invalid"


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.csv"))}


def test_the_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        generate_fixtures(people=400, seed=seed, out=tmp_path / name)
    first, again, other = (_files(tmp_path / n) for n in "abc")
    assert len(first) == 3 + len(PARTNERS)
    assert first == again
    assert all(first[name] != other[name] for name in first)


def test_the_as_of_date_moves_every_interaction(tmp_path: Path) -> None:
    as_of = date(2025, 3, 1)
    generate_fixtures(people=400, seed=11, out=tmp_path, as_of=as_of)
    truth = _read(tmp_path / "truth.csv")
    assert len(truth) > 0
    for spec in PARTNERS:
        dates = _read(tmp_path / "raw" / f"{spec.code}.csv")["interaction_date"].map(parse_date)
        assert (dates <= as_of).all()


def test_the_cli_writes_the_folder_and_explains_a_bad_output(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["fixtures", "generate", "--people", "200", "--seed", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "truth.csv").exists()
    assert (tmp_path / "raw" / "WMP.csv").exists()
    blocked = tmp_path / "truth.csv" / "inside"
    result = runner.invoke(main, ["fixtures", "generate", "--people", "10", "--out", str(blocked)])
    assert result.exit_code == 2
    assert "choose a writable --out" in result.output
    assert "Traceback" not in result.output
    helped = runner.invoke(main, ["fixtures", "generate", "--help"])
    assert "Example" in helped.output
    assert "--as-of" in helped.output


def test_the_docs_show_the_profiles_as_the_code_has_them() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert profile_table() in text, "docs/fixtures.md is stale: paste aim.fixtures.profile.profile_table() into it"
    assert partner_table() in text, "docs/fixtures.md is stale: paste aim.fixtures.profile.partner_table() into it"
