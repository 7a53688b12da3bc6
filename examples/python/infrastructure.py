"""The "infrastructure alone" question of experiments/infrastructure_alone.toml, as Python
objects the examples share: the control world and SAU's infrastructure-only arm ($5B/yr for
2025–2030 on data centres plus their grid share), and the gain of the arm over the control at
given parameter points, paired by seed (common random numbers).

The arm's policies are read from the experiment file itself, so the examples ask exactly the
question the shipped experiment asks.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import numpy.typing as npt

import talentflow as tf

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 (`pip install tomli`, in the examples extra)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "infrastructure_alone.toml"
#: The dose of the experiment's SAU `infrastructure+grid` family the examples take ($B/yr).
BUDGET_BN = 5.0

#: Outcome whose gain the examples analyse: SAU's share of the world's talent in 2035, five years
#: after the spending ends (the data centres it buys reach the grid after its 4-year lead time,
#: so by 2030 little has changed; retention of SAU's few home-grown researchers moves in steps at
#: small agent counts, the talent share smoothly).
OUTCOME = "talent_share.SAU@2035"


def arm_policies() -> list[dict[str, Any]]:
    """The policies of the infrastructure-only arm: the experiment's SAU `infrastructure+grid`
    dose of `BUDGET_BN`, split between data centres and their grid in the default world's ratio
    `grid_cost_bn_per_gw / capex_bn_per_gw`, as `talentflow experiment` expands the family."""
    spec = tomllib.loads(EXPERIMENT.read_text())
    [dose] = [
        d for d in spec["dose"] if d["instrument"] == "infrastructure+grid" and d["country"] == "SAU"
    ]
    assert BUDGET_BN in dose["budgets_bn"], dose["budgets_bn"]
    infrastructure = tomllib.loads(tf.Scenario.load("world2025").to_toml())["infrastructure"]
    ratio = infrastructure["grid_cost_bn_per_gw"] / infrastructure["capex_bn_per_gw"]
    years = {"from_year": dose["from_year"], "to_year": dose["to_year"]}
    return [
        {"country": "SAU", "kind": "infrastructure", "budget_bn": BUDGET_BN / (1 + ratio), **years},
        {"country": "SAU", "kind": "grid", "budget_bn": BUDGET_BN * ratio / (1 + ratio), **years},
    ]


def arms(agents: int, years: int) -> tuple[tf.Scenario, tf.Scenario]:
    """(control, infrastructure-only) on the default world, at `agents` agents for `years`."""
    control = tf.Scenario.load("world2025").set({"world.agents": agents, "world.years": years})
    infra = control.copy()
    for policy in arm_policies():
        infra.add_policy(**policy)
    return control, infra


def gain(
    control: tf.Scenario,
    infra: tf.Scenario,
    points: npt.ArrayLike,
    keys: Sequence[str],
    seeds: Sequence[int],
    outcome: str = OUTCOME,
) -> npt.NDArray[np.float64]:
    """The arm's gain over the control at every point, averaged over `seeds`: per seed the
    difference of two runs with the same random numbers, then `Σ d / n` in seed order (a sweep's
    arithmetic, so a sweep with these arms and outcome gives the same numbers)."""
    a = tf.evaluate(infra, points, keys, [outcome], seeds, reduce="none")[:, 0]
    b = tf.evaluate(control, points, keys, [outcome], seeds, reduce="none")[:, 0]
    per_run = (a - b).reshape(-1, len(seeds))
    means = np.zeros(per_run.shape[0])
    for s in range(len(seeds)):
        means += per_run[:, s] / len(seeds)
    return means
