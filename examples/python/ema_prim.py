"""Scenario discovery with the EMA workbench: PRIM over the gain of "infrastructure alone".

Under which behavioural parameters does SAU's $5B/yr on data centres and their grid for
2025–2030 (experiments/infrastructure_alone.toml) raise its 2035 talent share the most? The
EMA workbench samples the uncertainties (Latin hypercube), talentflow evaluates control and
arm at every point with the same seeds (one batch call each, parallel inside Rust), and EMA's
PRIM looks for the box of parameter space where the gain is in its top quartile.

The same model also runs through EMA's own `perform_experiments` (a `Model` whose function is
talentflow), which gives the same gains point by point.

Run (from the repository root; `--small` is the size CI runs):

    python examples/python/ema_prim.py [--small]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd

with warnings.catch_warnings():
    # EMA warns at import about optional parallel back ends (ipyparallel) it will not need here.
    warnings.simplefilter("ignore")
    from ema_workbench import Model, RealParameter, ScalarOutcome, SequentialEvaluator, perform_experiments
    from ema_workbench import Scenario as EmaScenario
    from ema_workbench.analysis import prim
    from ema_workbench.em_framework.samplers import LHSSampler, sample_parameters

import talentflow as tf
from infrastructure import arms, gain

#: EMA names (identifiers) → talentflow key paths, with ranges (MODEL.md defaults ± 50%).
UNCERTAINTIES = {
    "beta_compute": ("behaviour.beta_compute", 0.0, 1.0),
    "gamma": ("innovation.gamma", 0.05, 0.45),
    "beta_wage": ("behaviour.beta_wage", 1.0, 3.0),
    "lam": ("innovation.lambda", 0.35, 1.05),
}
NAMES = list(UNCERTAINTIES)
KEYS = [UNCERTAINTIES[n][0] for n in NAMES]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="CI size")
    args = parser.parse_args(argv)
    n, agents, seeds = (24, 5000, tf.replicate_seeds(5, 2)) if args.small else (400, 20_000, tf.replicate_seeds(5, 5))
    control, infra = arms(agents, years=10)
    uncertainties = [RealParameter(name, lo, hi) for name, (_, lo, hi) in UNCERTAINTIES.items()]

    # EMA samples; talentflow evaluates the whole design in two batch calls.
    np.random.seed(2025)
    design = pd.DataFrame([dict(p) for p in sample_parameters(uncertainties, n, LHSSampler())])[NAMES]
    y = gain(control, infra, design.to_numpy(dtype=float), KEYS, seeds)
    print(f"{n} points × {len(seeds)} seeds × 2 arms: gain in SAU's 2035 talent share")
    print(f"  mean {y.mean():+.2e}, min {y.min():+.2e}, max {y.max():+.2e}")

    # PRIM: the box where the gain is in its top quartile.
    threshold = float(np.quantile(y, 0.75))
    finder = prim.Prim(design, y > threshold, threshold=0.5, peel_alpha=0.1)
    box = finder.find_box()
    coverage, density = float(box.coverage), float(box.density)
    print(f"PRIM box for gain > {threshold:+.2e}: coverage {coverage:.2f}, density {density:.2f}")
    limits, initial = box.box_lim, box.box_lims[0]
    restricted = [name for name in NAMES if not limits[name].equals(initial[name])]
    if not restricted:
        print("  no restriction reaches the density threshold: the gain does not depend on these")
        print("  parameters more than on the seed (expected at the --small size)")
    for name in restricted:
        lo, hi = float(limits.loc[0, name]), float(limits.loc[1, name])
        print(f"  {UNCERTAINTIES[name][0]:<24} in [{lo:.3f}, {hi:.3f}]")

    # The same model through EMA's own experiment loop, for the first few points.
    def model_function(**params: float) -> dict[str, float]:
        point = [[params[name] for name in NAMES]]
        return {"gain": float(gain(control, infra, point, KEYS, seeds)[0])}

    model = Model("talentflowinfrastructure", function=model_function)
    model.uncertainties = uncertainties
    model.outcomes = [ScalarOutcome("gain")]
    few = design.head(3)
    scenarios = [EmaScenario(**row) for row in few.to_dict("records")]
    with SequentialEvaluator(model) as evaluator, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        experiments, outcomes = perform_experiments(model, scenarios=scenarios, evaluator=evaluator)
    same = bool(np.array_equal(np.asarray(outcomes["gain"]), y[:3]))
    print(f"EMA's perform_experiments on the first 3 points gives the batch's gains: {same}")
    assert same
    return {"threshold": threshold, "coverage": coverage, "density": density}


if __name__ == "__main__":
    main(sys.argv[1:])
