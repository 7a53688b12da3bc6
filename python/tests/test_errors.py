"""Every error path raises a talentflow exception whose message is the one the CLI prints after
`error: ` (compared with the real command, not with a copy of its text)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import talentflow as tf
from talentflow import errors

from conftest import ROOT, Cli

CORPUS = ROOT / "tests" / "bad_scenarios"


def _corpus() -> list[Path]:
    files = sorted(p for p in CORPUS.iterdir() if p.suffix == ".toml")
    assert len(files) > 50, "the bad-scenario corpus is missing"
    return files


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: p.name)
def test_every_bad_scenario_of_the_corpus_raises_the_message_of_talentflow_validate(cli: Cli, path: Path) -> None:
    expected = cli.error("validate", path)
    with pytest.raises(tf.ScenarioError) as e:
        tf.Scenario.load(path)
    assert str(e.value) == expected
    assert e.value.problems, "the problems are listed one by one too"


def test_an_unknown_key_set_in_code_is_reported_as_for_set(cli: Cli) -> None:
    expected = cli.error("validate", "world2025", "--set", "innovaton.lambda=0.9")
    s = tf.Scenario.load("world2025").set("innovaton.lambda", 0.9)
    with pytest.raises(tf.ScenarioError) as e:
        s.validate()
    assert str(e.value) == expected
    assert "did you mean `innovation`" in expected
    [(location, key, message)] = e.value.problems
    assert (key, message) == ("innovaton", "unknown key `innovaton` (did you mean `innovation`?)")


def test_nan_set_in_code_is_reported_as_for_set(cli: Cli) -> None:
    expected = cli.error("validate", "world2025", "--set", "innovation.lambda=nan")
    with pytest.raises(tf.ScenarioError) as e:
        tf.Scenario.load("world2025").set("innovation.lambda", math.nan).validate()
    assert str(e.value) == expected
    assert expected.endswith("must be a finite number, found NaN")


def test_every_problem_is_listed_in_one_exception(cli: Cli) -> None:
    # Structure problems (types, unknown keys, non-finite numbers) are all reported together;
    # range checks come after the structure is sound, as with the CLI.
    sets = ["innovation.lambda=nan", "world.agnets=5", "innovation.gama=1"]
    expected = cli.error("validate", "world2025", *[a for s in sets for a in ("--set", s)])
    s = tf.Scenario.load("world2025").set({"innovation.lambda": math.nan, "world.agnets": 5, "innovation.gama": 1})
    with pytest.raises(tf.ScenarioError) as e:
        s.validate()
    assert str(e.value) == expected
    assert "3 problems" in expected and len(e.value.problems) == 3


def test_an_integer_key_given_a_float_is_refused_as_for_set(cli: Cli) -> None:
    expected = cli.error("validate", "toy3", "--set", "world.agents=2000.5")
    with pytest.raises(tf.ScenarioError) as e:
        tf.Scenario.load("toy3").set("world.agents", 2000.5).validate()
    assert str(e.value) == expected


def test_a_missing_file(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    expected = cli.error("validate", missing)
    with pytest.raises(tf.ScenarioError) as e:
        tf.Scenario.load(missing)
    assert str(e.value) == expected
    assert "cannot read" in expected
    # A string that is neither a file, an embedded name nor TOML text is taken as a path.
    with pytest.raises(tf.ScenarioError) as e2:
        tf.Scenario.load(str(missing))
    assert str(e2.value) == expected


def test_an_unknown_country_in_a_policy(cli: Cli) -> None:
    path = CORPUS / "policy_unknown_country.toml"
    with pytest.raises(tf.ScenarioError) as e:
        tf.Scenario.load(path)
    assert str(e.value) == cli.error("validate", path)
    # The same policy added in code is checked by the same code (the source is then the code).
    s = tf.Scenario.load("toy3").add_policy(country="XYZ", kind="wages", from_year=2025, to_year=2027, budget_bn=1.0)
    with pytest.raises(tf.ScenarioError) as e2:
        s.validate()
    assert '`policy[0].country`: unknown country code "XYZ" (known: HUB, MID, NEW)' in str(e2.value)


def test_a_policy_with_a_field_of_no_policy() -> None:
    s = tf.Scenario.load("toy3").add_policy(country="NEW", kind="wages", from_year=2025, to_year=2027, budgt_bn=1.0)
    with pytest.raises(tf.ScenarioError, match="invalid policy 0 added in code: unknown field `budgt_bn`"):
        s.validate()


def test_a_bad_outcome_in_an_experiment_and_in_a_batch(cli: Cli, tmp_path: Path) -> None:
    exp = tmp_path / "bad.toml"
    exp.write_text(
        'name = "bad"\nbase = "toy3"\nreplicates = 2\n'
        'outcomes = ["retention.XXX@2030", "bogus@2030"]\n[[arm]]\nname = "control"\n'
    )
    expected = cli.error("experiment", exp, "--out", tmp_path / "out")
    with pytest.raises(tf.ExperimentError) as e:
        tf.experiment(exp)
    assert str(e.value) == expected
    assert "unknown variable `bogus`" in expected and "unknown country code `XXX`" in expected
    # The outcome parser's own message, in a batch.
    with pytest.raises(tf.OutcomeError) as e2:
        tf.evaluate("toy3", [[1.0]], ["world.years"], ["bogus@2030"])
    assert str(e2.value) in expected.replace("arm `control`: ", "")


def test_an_invalid_sweep(cli: Cli, tmp_path: Path) -> None:
    sweep = tmp_path / "bad_sweep.toml"
    sweep.write_text(
        'name = "s"\nbase = "toy3"\noutcomes = ["hhi@end"]\n[design]\nkind = "lhs"\nn = 2\n'
        '[[parameter]]\nkey = "innovation.lambda"\nmin = 2.0\nmax = 1.0\n'
    )
    expected = cli.error("sweep", sweep, "--out", tmp_path / "out")
    with pytest.raises(tf.SweepError) as e:
        tf.sweep(sweep)
    assert str(e.value) == expected
    assert "needs finite min < max" in expected


def test_a_missing_experiment_file(cli: Cli, tmp_path: Path) -> None:
    expected = cli.error("experiment", tmp_path / "nope.toml", "--out", tmp_path / "out")
    with pytest.raises(tf.ExperimentError) as e:
        tf.experiment(tmp_path / "nope.toml")
    assert str(e.value) == expected


def test_writing_over_a_finished_run(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cli("run", "toy3", "--agents", "300", "--years", "1", "--out", out, "-q")
    expected = cli.error("run", "toy3", "--agents", "300", "--years", "1", "--out", out, "-q")
    result = tf.run("toy3", agents=300, years=1)
    with pytest.raises(tf.OutputError) as e:
        result.write(out)
    assert str(e.value) == expected
    result.write(out, force=True)


def test_reading_a_directory_that_is_not_a_run(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "stray.txt").write_text("not a run")
    expected = cli.error("report", tmp_path)
    with pytest.raises(tf.RunDirError) as e:
        tf.read_run(tmp_path)
    assert str(e.value) == expected


def test_a_modified_run_file_is_refused_as_by_the_cli(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cli("run", "toy3", "--agents", "300", "--years", "1", "--out", out, "-q")
    with open(out / "world.csv", "a") as f:
        f.write("1,2025.5,hhi,0.5\n")
    expected = cli.error("report", out)
    with pytest.raises(tf.RunDirError) as e:
        tf.read_run(out)
    assert str(e.value) == expected
    assert "was modified after the run" in expected


def test_a_shorthand_and_an_override_of_the_same_key_are_refused() -> None:
    s = tf.Scenario.load("toy3").set("world.agents", 500)
    with pytest.raises(tf.ScenarioError, match="agents=800 and the override world.agents=500 both set world.agents"):
        tf.run(s, agents=800)


def test_batch_errors() -> None:
    with pytest.raises(tf.EvaluateError, match="no seeds"):
        tf.evaluate("toy3", [[1.0]], ["world.years"], ["hhi@end"], seeds=[])
    with pytest.raises(tf.EvaluateError, match="point 0 has 2 values for 1 keys"):
        tf.evaluate("toy3", [[1.0, 2.0]], ["world.years"], ["hhi@end"])
    with pytest.raises(tf.EvaluateError) as e:
        tf.evaluate("toy3", [[1.0, 0.5], [1.0, math.nan]], ["world.years", "innovation.lambda"], ["hhi@end"])
    message = str(e.value)
    assert message.startswith("invalid evaluation: 1 of 2 points fail")
    assert "--set innovation.lambda=nan: `innovation.lambda`: must be a finite number, found NaN" in message


def test_values_without_a_toml_form_and_bad_arguments() -> None:
    with pytest.raises(TypeError, match="None has no TOML form"):
        tf.Scenario.load("toy3").set("innovation.lambda", None)
    with pytest.raises(TypeError, match="has no TOML form"):
        tf.Scenario.load("toy3").set("innovation.lambda", object())
    with pytest.raises(ValueError, match="threads must be between 1 and 1024"):
        tf.run("toy3", years=1, threads=0)
    with pytest.raises(tf.ExperimentError, match="replicates must be at least 1"):
        tf.experiment(ROOT / "tests" / "fixtures" / "tiny_experiment.toml", replicates=0)


def test_the_hierarchy() -> None:
    for cls in (
        errors.ScenarioError,
        errors.OutcomeError,
        errors.EvaluateError,
        errors.ExperimentError,
        errors.SweepError,
        errors.RunDirError,
        errors.OutputError,
    ):
        assert issubclass(cls, tf.TalentflowError)
    # Ctrl-C is not an ordinary error: `except Exception` does not swallow it.
    assert issubclass(tf.Interrupted, KeyboardInterrupt) and not issubclass(tf.Interrupted, Exception)
