"""Sobol analysis of "infrastructure alone" with SALib driving talentflow.evaluate, compared
with `talentflow sensitivity` on the same design.

Question: of three behavioural parameters — the weight researchers give compute
(behaviour.beta_compute), the innovation return to compute (innovation.gamma) and the wage weight
(behaviour.beta_wage) — which drive the gain in 2035 talent share SAU gets from spending $5B/yr
on data centres and their grid for 2025–2030 (experiments/infrastructure_alone.toml)? At the
CI size (`--small`) the gains are mostly seed noise, so the indices themselves mean little there;
what is checked is that both routes compute the same numbers.

1. SALib's own workflow: SALib samples (Saltelli/Sobol sequence), `talentflow.evaluate` runs the
   control and the arm at every point with the same seeds (paired runs), SALib analyses the gain.
2. The same analysis on talentflow's own Saltelli design: `talentflow.sweep` (the code of
   `talentflow sweep`, and with --cli the command itself) computes the indices as
   `talentflow sensitivity` does; SALib analyses `evaluate`'s gains on the very same points and
   seeds. The gains are identical, bit for bit, and so the indices agree to rounding
   (SALib standardises outputs, as talentflow's estimator does); their bootstrap intervals
   differ only by resampling.

Run (from the repository root; `--small` is the size CI runs):

    python examples/python/salib_sobol.py [--small] [--cli target/release/talentflow]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import sobol as sobol_sample

import talentflow as tf
from infrastructure import OUTCOME, arm_policies, arms, gain

PARAMETERS = [
    ("behaviour.beta_compute", 0.0, 1.0),
    ("innovation.gamma", 0.05, 0.45),
    ("behaviour.beta_wage", 1.0, 3.0),
]
KEYS = [k for k, _, _ in PARAMETERS]
PROBLEM = {"num_vars": len(PARAMETERS), "names": KEYS, "bounds": [[lo, hi] for _, lo, hi in PARAMETERS]}
MASTER_SEED = 2026


def salib_order(n: int, k: int) -> npt.NDArray[np.intp]:
    """Row order taking talentflow's Saltelli layout (per base sample: A, B, AB_1..AB_k) to
    SALib's (A, AB_1..AB_k, B)."""
    per = k + 2
    a = np.arange(n) * per
    return np.column_stack([a] + [a + 2 + j for j in range(k)] + [a + 1]).ravel()


def sweep_spec(n: int, replicates: int, agents: int, years: int) -> dict[str, object]:
    """The sweep of part 2: talentflow's Saltelli design over PARAMETERS, control and arm at every
    point with the same seed, the gain as the outcome."""
    return {
        "name": "salib_sobol_infrastructure",
        "base": "world2025",
        "replicates": replicates,
        "master_seed": MASTER_SEED,
        "set": [f"world.agents={agents}", f"world.years={years}"],
        "outcomes": [f"gain = infra:{OUTCOME} - control:{OUTCOME}"],
        "design": {"kind": "saltelli", "n": n},
        "parameter": [{"key": k, "min": lo, "max": hi} for k, lo, hi in PARAMETERS],
        "arm": [{"name": "control"}, {"name": "infra", "policy": arm_policies()}],
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="CI size: small N, few agents")
    parser.add_argument("--cli", type=Path, help="also run `talentflow sweep` + `sensitivity` with this binary")
    args = parser.parse_args(argv)
    if args.small:
        n_salib, n_design, replicates, agents, years = 8, 8, 2, 5000, 10
    else:
        n_salib, n_design, replicates, agents, years = 256, 256, 3, 20_000, 10
    control, infra = arms(agents, years)
    seeds = tf.replicate_seeds(MASTER_SEED, replicates)
    k = len(KEYS)

    # 1. SALib samples, talentflow evaluates (paired), SALib analyses.
    x = sobol_sample.sample(PROBLEM, n_salib, calc_second_order=False, seed=7)
    y = gain(control, infra, x, KEYS, seeds)
    si = sobol_analyze.analyze(PROBLEM, y, calc_second_order=False, seed=1)
    print(f"1. SALib design ({len(x)} points × {len(seeds)} seeds × 2 arms = {2 * len(x) * len(seeds)} runs)")
    print(f"   {'parameter':<24} {'S1':>8} {'±':>6} {'ST':>8} {'±':>6}")
    for j, name in enumerate(KEYS):
        print(f"   {name:<24} {si['S1'][j]:>8.3f} {si['S1_conf'][j]:>6.3f} {si['ST'][j]:>8.3f} {si['ST_conf'][j]:>6.3f}")

    # 2. talentflow's design: the sweep's indices vs SALib's on the same gains.
    spec = sweep_spec(n_design, replicates, agents, years)
    with tempfile.TemporaryDirectory() as tmp:
        result = tf.sweep(spec, out=Path(tmp) / "sweep")
        assert result.sensitivity is not None
        indices = result.sensitivity.indices
        theirs = {}
        if args.cli is not None:
            # The command itself, on the same sweep file.
            (Path(tmp) / "sweep.toml").write_text(tf.to_toml(spec))
            cli_dir = Path(tmp) / "cli"
            sweep_cmd = [str(args.cli), "sweep", str(Path(tmp) / "sweep.toml"), "--out", str(cli_dir), "-q"]
            subprocess.run(sweep_cmd, check=True, capture_output=True)
            subprocess.run([str(args.cli), "sensitivity", str(cli_dir)], check=True, capture_output=True)
            theirs = {"cli": (cli_dir / "sensitivity.csv").read_bytes()}
            result.sensitivity.write(Path(tmp) / "sweep")
            same = (Path(tmp) / "sweep" / "sensitivity.csv").read_bytes() == theirs["cli"]
            print(f"   `talentflow sensitivity` wrote the same sensitivity.csv as talentflow.sweep: {same}")
            assert same
        points = result.design.groupby("point")[KEYS].first().to_numpy()
    y2 = gain(control, infra, points, KEYS, seeds)
    swept = result.results.groupby(result.design["point"])["gain"]
    sweep_means = np.zeros(len(points))
    for r in range(replicates):
        sweep_means += swept.nth(r).to_numpy() / replicates
    identical = bool(np.array_equal(y2, sweep_means))
    print(f"2. talentflow Saltelli design ({len(points)} points): evaluate's gains equal the sweep's, bit for bit: {identical}")
    assert identical
    order = salib_order(n_design, k)
    s2 = sobol_analyze.analyze(PROBLEM, y2[order], calc_second_order=False, seed=1)
    print(f"   {'parameter':<24} {'S1 tf':>8} {'S1 SALib':>9} {'ST tf':>8} {'ST SALib':>9}")
    worst = 0.0
    for j, name in enumerate(KEYS):
        rows = indices[indices["parameter"] == name].set_index("index")["value"]
        s1, st = float(rows["first"]), float(rows["total"])
        worst = max(worst, abs(s1 - s2["S1"][j]), abs(st - s2["ST"][j]))
        print(f"   {name:<24} {s1:>8.4f} {s2['S1'][j]:>9.4f} {st:>8.4f} {s2['ST'][j]:>9.4f}")
    print(f"   largest difference between talentflow's and SALib's indices: {worst:.2e}")
    assert worst < 1e-9, worst
    return {"max_index_difference": worst}


if __name__ == "__main__":
    main(sys.argv[1:])
