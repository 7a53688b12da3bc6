"""Claims machinery from Python: an experiment with dose–response, costs, equivalence and
adaptive precision writes the CLI's test files; scenario discovery over a sweep gives the CLI's
PRIM box and CART tree."""

from __future__ import annotations

from pathlib import Path

import pytest

import talentflow as tf
from conftest import ROOT, Cli

FIXTURES = ROOT / "tests" / "fixtures"


def test_an_experiment_with_doses_writes_the_clis_tests(cli: Cli, tmp_path: Path) -> None:
    path = FIXTURES / "claims_experiment.toml"
    cli("experiment", path, "--out", tmp_path / "cli", "-q")
    result = tf.experiment(path, out=tmp_path / "py")
    for name in ("runs.csv", "contrasts.csv", "dose.csv", "cost.csv", "precision.csv", "summary.txt"):
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    assert result.meta["precision"]["met"] is True
    assert result.meta["replicates"] == result.meta["precision"]["replicates"]
    assert result.meta["agents_at_start"]["NEW"] > 0


def test_discover_gives_the_clis_box_and_tree(cli: Cli, tmp_path: Path) -> None:
    path = FIXTURES / "tiny_sweep.toml"
    cli("sweep", path, "--out", tmp_path / "s", "-q")
    cli("discover", tmp_path / "s", "--where", "share > 0.15")
    theirs = {n: (tmp_path / "s" / "discover" / n).read_bytes() for n in ("cart.csv", "summary.txt")}
    found = tf.discover(tmp_path / "s", "share > 0.15")
    for name, data in theirs.items():
        assert (tmp_path / "s" / "discover" / name).read_bytes() == data, name
    assert found.summary.startswith("discover: `share > 0.15`")
    assert list(found.tree.columns)[:3] == ["node", "parent", "depth"]
    with pytest.raises(tf.DiscoverError, match="not an outcome"):
        tf.discover(tmp_path / "s", "nothing > 1")
