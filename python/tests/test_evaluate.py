"""Batch evaluation: the values are those of the runs the points describe; common random numbers;
the same numbers as a sweep of the same points and seeds."""

from __future__ import annotations

import numpy as np
import pytest

import talentflow as tf

BASE = tf.Scenario.load("toy3").set({"world.agents": 400, "world.years": 1})
KEYS = ["innovation.lambda", "country.NEW.openness"]
POINTS = np.array([[0.5, 0.2], [1.0, 0.8], [0.5, 0.2]])
OUTCOMES = ["hhi@end", "retention.NEW@end", "inflow.NEW@2025..2026"]


def _outcome(run: tf.Run, text: str) -> float:
    """An outcome computed by hand from the run's series (the expressions' meaning)."""
    s, codes = run.series, run.codes
    if text == "hhi@end":
        return float(s["hhi"][-1])
    if text == "retention.NEW@end":
        return float(s["retention"][-1, codes.index("NEW")])
    if text == "inflow.NEW@2025..2026":
        # A flow summed over the ticks in (2025, 2026].
        return float(s["inflow"][1:, codes.index("NEW")].sum())
    raise AssertionError(text)


def test_values_are_those_of_single_runs() -> None:
    seeds = [4, 9]
    values = tf.evaluate(BASE, POINTS, KEYS, OUTCOMES, seeds, reduce="none")
    assert values.shape == (len(POINTS) * len(seeds), len(OUTCOMES))
    for p, point in enumerate(POINTS):
        scenario = BASE.copy().set(dict(zip(KEYS, point.tolist())))
        for i, seed in enumerate(seeds):
            run = tf.run(scenario, seed=seed)
            for o, text in enumerate(OUTCOMES):
                assert values[p * len(seeds) + i, o] == _outcome(run, text), (p, seed, text)


def test_means_and_common_random_numbers() -> None:
    seeds = [4, 9, 4]
    values = tf.evaluate(BASE, POINTS, KEYS, OUTCOMES, seeds, reduce="none").reshape(3, 3, -1)
    means = tf.evaluate(BASE, POINTS, KEYS, OUTCOMES, seeds)
    assert means.shape == (3, 3)
    assert np.array_equal(means, values[:, 0] / 3 + values[:, 1] / 3 + values[:, 2] / 3)
    # The same seed is the same run: at a repeated seed and at a repeated point.
    assert np.array_equal(values[:, 0], values[:, 2])
    assert np.array_equal(values[0], values[2])
    assert not np.array_equal(values[:, 0], values[:, 1])


def test_a_policy_and_its_control_are_paired_by_their_seeds() -> None:
    policy = BASE.copy().add_policy(country="NEW", kind="infrastructure", from_year=2025, to_year=2026, budget_bn=20.0)
    seeds = [1, 2, 3]
    gain = tf.evaluate(policy, POINTS[:2], KEYS, ["compute_gw.NEW@end"], seeds, reduce="none") - tf.evaluate(
        BASE, POINTS[:2], KEYS, ["compute_gw.NEW@end"], seeds, reduce="none"
    )
    # Money for data centres builds compute in every paired run.
    assert (gain > 0).all()
    # An inconsistent policy is refused before any run, not evaluated.
    bad = BASE.copy().add_policy(country="NEW", kind="infrastructure", from_year=2026, to_year=2025, budget_bn=1.0)
    with pytest.raises(tf.ScenarioError, match="must be after from_year"):
        tf.evaluate(bad, POINTS[:1], KEYS, ["hhi@end"], seeds)


def test_the_sweep_of_the_same_points_and_seeds_gives_the_same_numbers() -> None:
    spec = {
        "name": "t",
        "base": "toy3",
        "replicates": 2,
        "master_seed": 11,
        "set": ["world.years=1", "world.agents=300"],
        "outcomes": ["hhi@end", "retention.NEW@end"],
        "design": {"kind": "lhs", "n": 4},
        "parameter": [
            {"key": "behaviour.beta_wage", "min": 1.0, "max": 3.0},
            {"key": "world.seed", "min": 1, "max": 100, "integer": True},
        ],
    }
    result = tf.sweep(spec)
    design, results = result.design, result.results
    points = design.groupby("point")[["behaviour.beta_wage", "world.seed"]].first().to_numpy()
    base = tf.Scenario.load("toy3").set({"world.years": 1, "world.agents": 300})
    seeds = tf.replicate_seeds(11, 2)
    assert seeds == sorted(set(design["seed"]), key=list(design["seed"]).index)
    values = tf.evaluate(base, points, ["behaviour.beta_wage", "world.seed"], spec["outcomes"], seeds, reduce="none")
    assert np.array_equal(values, results[spec["outcomes"]].to_numpy())


def test_one_key_takes_a_flat_list_and_one_outcome_a_string() -> None:
    a = tf.evaluate(BASE, [0.5, 1.0], ["innovation.lambda"], "hhi@end", seeds=3)
    b = tf.evaluate(BASE, [[0.5], [1.0]], ["innovation.lambda"], ["hhi@end"], seeds=[3])
    assert a.shape == (2, 1) and np.array_equal(a, b)


def test_no_keys_evaluates_the_scenario_itself() -> None:
    values = tf.evaluate(BASE, np.empty((2, 0)), [], ["hhi@end"], seeds=[5])
    run = tf.run(BASE, seed=5)
    assert values[0, 0] == values[1, 0] == float(run.series["hhi"][-1])


def test_the_thread_count_does_not_change_the_numbers() -> None:
    one = tf.evaluate(BASE, POINTS, KEYS, OUTCOMES, [1, 2], threads=1)
    two = tf.evaluate(BASE, POINTS, KEYS, OUTCOMES, [1, 2], threads=2)
    assert np.array_equal(one, two)
