"""``aim evaluate`` prints pairwise scores and cluster counts, and turns bad input into a plain message."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from aim.cli import main

TRUTH = "partner,record_id,person_id\nA,1,p1\nA,2,p1\nB,1,p1\nB,2,p2\nC,1,p3\n"


def _run(tmp_path: Path, links: str, truth: str = TRUTH) -> tuple[int, str]:
    (tmp_path / "truth.csv").write_text(truth)
    (tmp_path / "links.csv").write_text(links)
    args = ["evaluate", "--truth", str(tmp_path / "truth.csv"), "--links", str(tmp_path / "links.csv")]
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.output


def test_a_perfect_linkage_scores_one(tmp_path: Path) -> None:
    code, out = _run(tmp_path, "partner,record_id,person_id\nA,1,x\nA,2,x\nB,1,x\nB,2,y\nC,1,z\n")
    assert code == 0, out
    assert "precision 1.0000  recall 1.0000  F1 1.0000" in out
    assert "true people 3; linked clusters 3" in out


def test_a_false_merge_lowers_precision(tmp_path: Path) -> None:
    # p1's three records plus p2's one in one cluster: 6 linked pairs, 3 of them true.
    links = "partner,record_id,person_id\nA,1,x\nA,2,x\nB,1,x\nB,2,x\nC,1,y\n"
    code, out = _run(tmp_path, links)
    assert code == 0, out
    assert "precision 0.5000  recall 1.0000" in out
    assert "merged (several people) 1" in out


def test_a_missing_column_is_a_plain_error(tmp_path: Path) -> None:
    code, out = _run(tmp_path, "partner,record_id\nA,1\n")
    assert code == 2
    assert "error:" in out
    assert "person_id" in out
    assert "Traceback" not in out
