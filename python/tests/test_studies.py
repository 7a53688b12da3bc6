"""Experiments and sweeps from Python against `talentflow experiment`, `sweep` and
`sensitivity`: the same directories and tables; dict and text forms of the files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tomllib

import talentflow as tf
from conftest import ROOT, Cli
from talentflow.study import read_csv

FIXTURES = ROOT / "tests" / "fixtures"


def test_an_experiment_gives_the_clis_tables(cli: Cli, tmp_path: Path) -> None:
    path = FIXTURES / "tiny_experiment.toml"
    cli("experiment", path, "--replicates", "3", "--out", tmp_path / "cli", "-q")
    result = tf.experiment(path, replicates=3, out=tmp_path / "py")
    for name in ("runs.csv", "summary.csv", "experiment.toml"):
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    theirs = json.loads((tmp_path / "cli" / "experiment.json").read_text())
    ours = result.meta
    for key in set(theirs) - {"wall_seconds", "jobs"}:
        assert ours[key] == theirs[key], key
    assert result.runs is not None
    assert result.runs.equals(read_csv(tmp_path / "cli" / "runs.csv"))
    assert result.summary.equals(read_csv(tmp_path / "cli" / "summary.csv"))
    assert result.table is not None and result.table.startswith(theirs["name"])
    # Read back from the CLI's directory: the same frames.
    back = tf.read_experiment(tmp_path / "cli")
    assert back.summary.equals(result.summary) and back.dir == tmp_path / "cli"


def test_an_experiment_as_a_dict_or_text_is_the_file(tmp_path: Path) -> None:
    path = FIXTURES / "tiny_experiment.toml"
    spec: dict[str, Any] = tomllib.loads(path.read_text())
    assert spec["base"] == "toy3", "an embedded base: the same wherever the file is"
    from_file = tf.experiment(path, replicates=2)
    from_dict = tf.experiment(spec, replicates=2)
    assert from_dict.summary.equals(from_file.summary)
    assert from_dict.runs is not None and from_file.runs is not None
    assert from_dict.runs.equals(from_file.runs)
    assert from_dict.dir is None, "no out=: the directory was temporary"
    text = tf.experiment(path.read_text(), replicates=2)
    assert text.summary.equals(from_file.summary)


def test_shared_overrides_apply_to_every_arm() -> None:
    path = FIXTURES / "tiny_experiment.toml"
    plain = tf.experiment(path, replicates=2)
    changed = tf.experiment(path, replicates=2, set={"innovation.lambda": 1.5})
    assert not plain.summary["mean"].equals(changed.summary["mean"])
    assert changed.meta["arms"][0]["overrides"][-1] == "innovation.lambda=1.5"


def test_a_sweep_and_its_sensitivity_give_the_clis_files(cli: Cli, tmp_path: Path) -> None:
    path = FIXTURES / "tiny_sweep.toml"
    cli("sweep", path, "--out", tmp_path / "cli", "-q")
    cli("sensitivity", tmp_path / "cli")
    result = tf.sweep(path, out=tmp_path / "py")
    for name in ("design.csv", "results.csv", "sweep.json", "sweep.toml"):
        ours, theirs = (tmp_path / "py" / name).read_bytes(), (tmp_path / "cli" / name).read_bytes()
        if name == "sweep.json":
            a, b = json.loads(ours), json.loads(theirs)
            a.pop("sweep_file"), b.pop("sweep_file")
            assert a == b
        else:
            assert ours == theirs, name
    assert result.results.equals(read_csv(tmp_path / "cli" / "results.csv"))
    assert result.sensitivity is not None
    result.sensitivity.write(tmp_path / "py")
    assert (tmp_path / "py" / "sensitivity.csv").read_bytes() == (tmp_path / "cli" / "sensitivity.csv").read_bytes()
    assert tf.sensitivity(tmp_path / "cli").indices.equals(result.sensitivity.indices)


def test_a_sweep_directory_is_resumed_not_redone(tmp_path: Path) -> None:
    path = FIXTURES / "tiny_sweep.toml"
    first = tf.sweep(path, out=tmp_path / "s")
    results = tmp_path / "s" / "results.csv"
    lines = results.read_text().splitlines(keepends=True)
    # Drop the last two rows, as if the sweep had been stopped: the next call runs only those.
    results.write_text("".join(lines[:-2]))
    again = tf.sweep(path, out=tmp_path / "s")
    assert again.results.equals(first.results)


def _branching_spec() -> dict[str, Any]:
    """The tiny experiment over three years, its arms' policies starting in 2026."""
    spec: dict[str, Any] = tomllib.loads((FIXTURES / "tiny_experiment.toml").read_text())
    spec["set"] = ["world.years=3", "world.agents=1200"]
    spec["outcomes"] = ["retention.NEW@2028", "talent_share.NEW@end", "founded.NEW@2026..2028"]
    for arm in spec["arm"]:
        arm.pop("set", None)
        for policy in arm.get("policy", []):
            policy["from_year"], policy["to_year"] = 2026, 2028
    return spec


def test_branch_at_gives_the_unbranched_runs_and_the_clis_files(cli: Cli, tmp_path: Path) -> None:
    spec = _branching_spec()
    straight = tf.experiment(spec, replicates=2)
    branched = tf.experiment(spec, replicates=2, branch_at=2026, out=tmp_path / "py")
    assert straight.runs is not None and branched.runs is not None
    assert branched.runs.equals(straight.runs)
    assert branched.summary.equals(straight.summary)
    assert branched.meta["branch_at"] == 2026 and straight.meta["branch_at"] is None
    path = tmp_path / "branching.toml"
    path.write_text((tmp_path / "py" / "experiment.toml").read_text())
    cli("experiment", path, "--replicates", "2", "--branch-at", "2026", "--out", tmp_path / "cli", "-q")
    for name in ("runs.csv", "summary.csv"):
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name


def test_branch_at_refuses_an_arm_that_differs_before_the_year() -> None:
    spec = _branching_spec()
    spec["arm"][1]["policy"][0]["from_year"] = 2025
    try:
        tf.experiment(spec, replicates=2, branch_at=2026)
    except tf.ExperimentError as e:
        message = str(e)
    else:
        raise AssertionError("an arm spending from 2025 was branched in 2026")
    assert "arm `ecosystem`" in message and "`branch_at` = 2026" in message, message
    assert "`policy[0]`" in message, message
