"""One run from Python against `talentflow run`: the same bytes, the same arrays, the same
tables; the series, frames, Dataset and manifest of a run."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import talentflow as tf
from conftest import Cli
from talentflow.study import read_csv

# A run small enough for a debug CLI and large enough to have moves, founding and policy spend.
ARGS = dict(seed=3, agents=600, years=2)
SETS = {"innovation.lambda": 0.9, "country.NEW.openness": 0.75, "startups.round_m": [2, 10, 30, 80, 200]}
CLI_SETS = ["innovation.lambda=0.9", "country.NEW.openness=0.75", "startups.round_m=[2, 10, 30, 80, 200]"]


@pytest.fixture(scope="module")
def cli_run(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    sets = [a for s in CLI_SETS for a in ("--set", s)]
    cli("run", "toy3", "--seed", "3", "--agents", "600", "--years", "2", *sets, "--out", out, "-q")
    return out


@pytest.fixture(scope="module")
def py_run() -> tf.Run:
    return tf.run(tf.Scenario.load("toy3").set(SETS), **ARGS)


def test_the_files_are_byte_identical_to_the_clis(cli_run: Path, py_run: tf.Run, tmp_path: Path) -> None:
    files = py_run.files()
    assert set(files) == {"series.npz", "countries.csv", "world.csv", "scenario.toml"}
    for name, data in files.items():
        assert data == (cli_run / name).read_bytes(), name
    # And a directory written from Python holds the same files.
    py_run.write(tmp_path / "py")
    for name in files:
        assert (tmp_path / "py" / name).read_bytes() == (cli_run / name).read_bytes(), name


def test_the_manifest_matches_the_clis_but_for_time_and_threads(cli_run: Path, py_run: tf.Run) -> None:
    import json

    theirs = json.loads((cli_run / "manifest.json").read_text())
    ours = py_run.manifest
    assert set(ours) == set(theirs)
    for key in set(ours) - {"created_unix", "wall_seconds", "threads"}:
        assert ours[key] == theirs[key], key
    assert ours["overrides"] == ["world.years=2", "world.agents=600", *CLI_SETS]


def test_series_are_the_arrays_of_series_npz(cli_run: Path, py_run: tf.Run) -> None:
    with np.load(cli_run / "series.npz") as npz:
        names = [n for n in npz.files if n not in ("countries", "year")]
        assert names == list(py_run.series), "same variables, same order"
        for name in names:
            ours, theirs = py_run.series[name], npz[name]
            assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, name
            assert np.array_equal(ours.view(np.uint64), theirs.view(np.uint64)), name
        assert np.array_equal(py_run.years, npz["year"])
        assert py_run.codes == [c.decode() if isinstance(c, bytes) else str(c) for c in npz["countries"]]


def test_frames_are_the_csvs(cli_run: Path, py_run: tf.Run) -> None:
    for frame, name in ((py_run.countries(), "countries.csv"), (py_run.world(), "world.csv")):
        exact = read_csv(cli_run / name)
        pd.testing.assert_frame_equal(frame, exact, check_exact=True)
        # Written back by pandas, the numbers read the same again (only the float text differs).
        again = read_csv(frame.to_csv(index=False).encode())
        pd.testing.assert_frame_equal(again, exact, check_exact=True)


def test_read_run_gives_back_the_cli_run(cli_run: Path, py_run: tf.Run) -> None:
    back = tf.read_run(cli_run)
    assert back.dir == cli_run
    assert back.seed == 3
    for name in py_run.series:
        assert np.array_equal(back.series[name], py_run.series[name]), name
    pd.testing.assert_frame_equal(back.countries(), py_run.countries(), check_exact=True)
    assert back.manifest == __import__("json").loads((cli_run / "manifest.json").read_text())
    assert back.files()["countries.csv"] == (cli_run / "countries.csv").read_bytes()


def test_series_have_named_axes_units_and_are_read_only(py_run: tf.Run) -> None:
    series = py_run.series
    rows, c = len(py_run.years), len(py_run.codes)
    assert rows == 2 * 12 + 1 and c == 3
    assert series.dims["researchers"] == ("year", "country")
    assert series.dims["hhi"] == ("year",)
    assert series.dims["flows"] == ("year", "origin", "destination")
    assert series.dims["origin_location"] == ("year", "origin", "country")
    assert series["flows"].shape == (rows - 1, c, c)
    assert np.array_equal(series.coords("flows")["year"], py_run.years[1:])
    assert list(series.coords("researchers")["country"]) == ["HUB", "MID", "NEW"]
    assert series.variables["wage"].units == "$k/year (PPP)"
    assert series.variables["inflow"].kind == "flow"
    with pytest.raises(ValueError):
        series["researchers"][0, 0] = 1.0
    # Every matrix has axis names of its own (a matrix added to the model must get them).
    for var in tf.variables().values():
        if var.group == "matrix":
            assert var.dims[1:] != ("country", "country_to"), var.name
    # Stocks add up: researcher shares sum to one in every row.
    assert np.allclose(series["researcher_share"].sum(axis=1), 1.0)
    # Moves out of a country are the row sums of `flows` (the tick's outflow).
    assert np.allclose(series["flows"].sum(axis=2), series["outflow"][1:])


def test_to_xarray_has_coordinates_and_units(py_run: tf.Run) -> None:
    ds = py_run.to_xarray()
    assert set(ds.coords) == {"year", "country", "origin", "destination"}
    assert ds["researchers"].dims == ("year", "country")
    assert ds["researchers"].attrs["units"] == "persons"
    assert ds["flows"].dims == ("year", "origin", "destination")
    assert ds.sizes["year"] == len(py_run.years)
    # flows: row 0 (the initial state) is zero, the rest are the npz's T rows.
    assert float(ds["flows"].isel(year=0).sum()) == 0.0
    assert np.array_equal(ds["flows"].values[1:], py_run.series["flows"])
    assert float(ds["retention"].sel(country="NEW", year=2027.0)) == float(py_run.series["retention"][-1, 2])
    assert ds.attrs["seed"] == 3


def test_results_do_not_depend_on_the_thread_count() -> None:
    s = tf.Scenario.load("toy3")
    one = tf.run(s, seed=5, agents=800, years=1, threads=1)
    two = tf.run(s, seed=5, agents=800, years=1, threads=2)
    assert one.threads == 1 and two.threads == 2
    assert one.files() == two.files()


def test_default_seed_is_the_scenarios_and_seeds_matter() -> None:
    s = tf.Scenario.load("toy3")
    default = tf.run(s, agents=400, years=1)
    assert default.seed == s.seed
    same = tf.run(s, seed=s.seed, agents=400, years=1)
    other = tf.run(s, seed=s.seed + 1, agents=400, years=1)
    assert default.files() == same.files()
    assert default.files()["world.csv"] != other.files()["world.csv"]


def test_scenarios_load_set_and_round_trip(tmp_path: Path) -> None:
    s = tf.Scenario.load("toy3").set("innovation.lambda", 0.9).set({"world.years": 3, "country.NEW.openness": 0.5})
    assert s.overrides == ["innovation.lambda=0.9", "world.years=3", "country.NEW.openness=0.5"]
    assert s.get("innovation.lambda") == 0.9
    assert s.get("country.NEW.openness") == 0.5 and s.get("country.2.openness") == 0.5
    assert s.ticks == 36 and s.countries == ["HUB", "MID", "NEW"]
    # The resolved TOML is a scenario again, the same one.
    again = tf.Scenario.load(s.to_toml())
    assert again.hash == s.hash and again == s
    path = tmp_path / "s.toml"
    path.write_text(s.to_toml())
    assert tf.Scenario.load(path).hash == s.hash
    assert tf.Scenario.load(str(path)).source == str(path)
    # Copies are independent; pickles are equal.
    c = s.copy().set("innovation.lambda", 0.5)
    assert s.get("innovation.lambda") == 0.9 and c.get("innovation.lambda") == 0.5
    assert pickle.loads(pickle.dumps(s)) == s
    # Strings, booleans and lists take their TOML form.
    t = tf.Scenario.load("toy3").set("country.NEW.name", 'Nova "N"').set("startups.round_m", np.array([1.0, 2, 3, 4, 5]))
    assert t.get("country.NEW.name") == 'Nova "N"' and t.get("startups.round_m") == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_a_policy_added_in_code_changes_the_run() -> None:
    base = tf.Scenario.load("toy3")
    policy = base.copy().add_policy(country="NEW", kind="infrastructure", from_year=2025, to_year=2026, budget_bn=20.0)
    assert len(policy.to_dict()["policy"]) == len(base.to_dict()["policy"]) + 1
    a = tf.run(base, seed=2, agents=400, years=1).series["compute_requested_gw"]
    b = tf.run(policy, seed=2, agents=400, years=1).series["compute_requested_gw"]
    assert b[1:, 2].sum() > a[1:, 2].sum()


def test_the_package_version_is_the_librarys() -> None:
    from importlib.metadata import version

    assert tf.__version__ == version("talentflow")
    assert tf.run("toy3", agents=300, years=1).manifest["talentflow_version"] == tf.__version__
