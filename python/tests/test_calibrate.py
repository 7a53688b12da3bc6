"""Calibration from Python: the same evaluations and tables as ``talentflow calibrate``, bit for
bit; a second call on the directory reads its evaluations back instead of simulating them; a bad
file raises ``CalibrateError`` with the CLI's message."""

from __future__ import annotations

from pathlib import Path

import pytest

import talentflow as tf
from conftest import ROOT, Cli

FIXTURE = ROOT / "tests" / "fixtures" / "tiny_calibration.toml"
TABLES = (
    "evaluations.csv",
    "estimates.csv",
    "covariance.csv",
    "fit.csv",
    "identifiability.csv",
    "calibrated.toml",
    "summary.txt",
)


def test_a_calibration_writes_the_clis_files_and_resumes(cli: Cli, tmp_path: Path) -> None:
    cli("calibrate", FIXTURE, "--out", tmp_path / "cli", "-q")
    result = tf.calibrate(FIXTURE, out=tmp_path / "py", threads=1)
    for name in TABLES:
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    assert result.evaluated == result.simulated > 0
    assert result.estimates is not None and result.posterior is None
    assert list(result.estimates["parameter"]) == ["behaviour.beta_wage", "behaviour.beta_home"]
    assert result.covariance is not None
    assert list(result.covariance.columns[2:]) == list(result.estimates["parameter"])
    assert set(result.fit["role"]) == {"fit", "holdout"}
    assert result.summary == (tmp_path / "cli" / "summary.txt").read_text()
    # The calibrated scenario runs as it is.
    assert tf.run(tf.Scenario.load(result.calibrated), agents=300, years=1).manifest
    again = tf.calibrate(FIXTURE, out=tmp_path / "py")
    assert again.simulated == 0 and again.evaluated == result.evaluated
    assert again.estimates is not None and again.estimates.equals(result.estimates)


def test_without_out_the_tables_are_read_before_the_directory_goes(tmp_path: Path) -> None:
    result = tf.calibrate(FIXTURE, set=["world.agents=300"])
    assert result.dir is None
    assert len(result.evaluations) > 0 and result.meta["name"] == "toy"


def test_a_bad_file_raises_the_clis_message(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(FIXTURE.read_text().replace("se = 0.02", "se = 0"))
    message = cli.error("calibrate", bad, "--out", tmp_path / "cli")
    with pytest.raises(tf.CalibrateError) as raised:
        tf.calibrate(bad, out=tmp_path / "py")
    assert str(raised.value) == message
    assert "target[0].se" in message


POSTERIOR_EXPERIMENT = """
name = "post"
base = "toy3"
replicates = 3
master_seed = 5
set = ["world.years=1", "world.agents=300"]
outcomes = ["retention.NEW@end"]
[[arm]]
name = "control"
[[arm]]
name = "open"
set = ["country.NEW.openness=0.9"]
"""


def test_an_experiment_with_posterior_draws_matches_the_cli(cli: Cli, tmp_path: Path) -> None:
    cal = tmp_path / "cal"
    cli("calibrate", FIXTURE, "--out", cal, "-q")
    path = tmp_path / "post.toml"
    path.write_text(POSTERIOR_EXPERIMENT)
    cli("experiment", path, "--posterior", cal, "--out", tmp_path / "cli", "-q")
    result = tf.experiment(path, posterior=cal, out=tmp_path / "py", threads=1)
    for name in ("runs.csv", "summary.csv", "summary.txt"):
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    assert "parameter uncertainty: replicate r of every arm runs at draw r" in (tmp_path / "py" / "summary.txt").read_text()
    # The draws differ between replicates (so the intervals carry them), not between arms.
    plain = tf.experiment(path, threads=1)
    assert result.runs is not None and plain.runs is not None
    assert not result.runs.equals(plain.runs)
    # Not a calibration directory: the CLI's message.
    message = cli.error("experiment", path, "--posterior", tmp_path / "cli", "--out", tmp_path / "x")
    with pytest.raises(tf.ExperimentError) as e:
        tf.experiment(path, posterior=tmp_path / "cli")
    assert str(e.value) == message
