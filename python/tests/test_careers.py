"""The agent panel and cohort tables from Python (issue 16): the CLI's files byte for byte, the
frames their contents, and a read-back run gives them again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import talentflow as tf
from conftest import Cli

NAMES = ["panel.npz", "panel_startups.npz", "panel_moves.npz", "stay.csv", "hazard.csv"]


@pytest.fixture(scope="module")
def cli_run(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "careers"
    cli("run", "toy3", "--seed", "4", "--agents", "1500", "--years", "3", "--panel", "0.2", "--cohorts", "--out", out, "-q")
    return out


@pytest.fixture(scope="module")
def py_run() -> tf.Run:
    return tf.run("toy3", seed=4, agents=1500, years=3, panel=0.2, cohorts=True)


def test_the_observer_files_are_the_clis(cli_run: Path, py_run: tf.Run) -> None:
    files = py_run.files()
    for name in NAMES + ["series.npz", "countries.csv"]:
        assert files[name] == (cli_run / name).read_bytes(), name


def test_frames_hold_the_files(cli_run: Path, py_run: tf.Run) -> None:
    panel = py_run.panel()
    with np.load(cli_run / "panel.npz") as z:
        assert list(panel.columns) == list(z.files)
        assert np.array_equal(panel["id"].to_numpy(), z["id"])
        codes = np.array(py_run.codes, dtype=object)
        assert list(panel["location"]) == list(codes[z["location"]])
    assert (panel.groupby("tick")["id"].nunique() == panel.groupby("tick").size()).all()
    moves = py_run.panel_moves()
    assert (moves["from"] != moves["to"]).all()
    stay = py_run.stay()
    pd.testing.assert_frame_equal(stay, pd.read_csv(cli_run / "stay.csv"))
    assert ((stay["stay"] - stay["stayed"] / stay["alive"]).abs() < 1e-15).all()
    hazard = py_run.hazard()
    assert set(hazard["quintile"]) <= {1, 2, 3, 4, 5}
    assert not py_run.panel_startups().empty


def test_read_run_gives_the_tables_back(cli_run: Path, py_run: tf.Run) -> None:
    back = tf.read_run(cli_run)
    pd.testing.assert_frame_equal(back.panel(), py_run.panel())
    pd.testing.assert_frame_equal(back.hazard(), py_run.hazard())


def test_a_run_without_a_panel_says_how_to_get_one() -> None:
    run = tf.run("toy3", seed=1, agents=300, years=1)
    assert set(run.files()) == {"series.npz", "countries.csv", "world.csv", "scenario.toml"}
    with pytest.raises(LookupError, match="panel="):
        run.panel()
    with pytest.raises(tf.errors.TalentflowError, match="--panel 0"):
        tf.run("toy3", seed=1, agents=300, years=1, panel=0)


def test_evaluate_reads_stay_outcomes_as_single_runs_do() -> None:
    base = tf.Scenario.load("toy3").set({"world.agents": 1200, "world.years": 2})
    points = np.array([[0.3], [0.9]])
    seeds = [4, 9]
    keys = ["country.HUB.openness"]
    values = tf.evaluate(base, points, keys, ["stay.MID>MID@1y", "hhi@end"], seeds, reduce="none")
    for p, point in enumerate(points):
        scenario = base.copy().set(dict(zip(keys, point.tolist())))
        for i, seed in enumerate(seeds):
            stay = tf.run(scenario, seed=seed, cohorts=True).stay()
            rows = stay[(stay["k"] == 1) & (stay["home"] == "MID") & (stay["start"] == "MID")]
            expected = rows["stayed"].sum() / rows["alive"].sum()
            assert values[p * len(seeds) + i, 0] == expected, (p, seed)
