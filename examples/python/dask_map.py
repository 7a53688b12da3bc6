"""A replicate ensemble mapped over a Dask cluster, identical to the serial call.

Each task is one replicate of the default world (its seed derived from a master seed as
`talentflow experiment` derives them) and returns the run's outcomes; the tasks go to the
workers of a `LocalCluster` here. The same code runs on a cluster of many machines: replace the
`LocalCluster` with `dask_jobqueue.SLURMCluster(cores=..., memory=...)` and `cluster.scale(jobs=N)`
(scenarios pickle as their source and overrides, so they travel to the workers cheaply; the
workers need `pip install ./python`).

Three routes give the same numbers, bit for bit: the Dask map, a Python loop over
`talentflow.run`, and one `talentflow.evaluate` call with the same seeds.

Run (from the repository root; `--small` is the size CI runs):

    python examples/python/dask_map.py [--small]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from dask.distributed import Client, LocalCluster

import talentflow as tf

OUTCOMES = ["talent_share.SAU@2030", "retention.SAU@2030", "hhi@end", "effective_hubs@end"]


def replicate(scenario: tf.Scenario, seed: int) -> list[float]:
    """One task: a whole run on one worker thread (the workers run tasks side by side)."""
    run = tf.run(scenario, seed=seed, threads=1)
    series, codes = run.series, run.codes
    t2030 = int(np.argmin(np.abs(run.years - 2030.0)))
    sau = codes.index("SAU")
    return [
        float(series["talent_share"][t2030, sau]),
        float(series["retention"][t2030, sau]),
        float(series["hhi"][-1]),
        float(series["effective_hubs"][-1]),
    ]


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="CI size")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    replicates, agents, years = (8, 3000, 6) if args.small else (64, 20_000, 10)
    scenario = tf.Scenario.load("world2025").set({"world.agents": agents, "world.years": years})
    seeds = tf.replicate_seeds(2025, replicates)

    # (dask.distributed has no type annotations for these two.)
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None)  # type: ignore[no-untyped-call]
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        futures = client.map(replicate, [scenario] * len(seeds), seeds)
        distributed = np.array(client.gather(futures))
    serial = np.array([replicate(scenario, s) for s in seeds])
    batch = tf.evaluate(scenario, np.empty((1, 0)), [], OUTCOMES, seeds, reduce="none")

    print(f"{replicates} replicates of world2025 ({agents} agents, {years} years) on {args.workers} Dask workers")
    for j, name in enumerate(OUTCOMES):
        column = distributed[:, j]
        print(f"  {name:<24} mean {column.mean():.5f}  sd {column.std(ddof=1):.5f}")
    same_serial = bool(np.array_equal(distributed, serial))
    same_batch = bool(np.array_equal(distributed, batch))
    print(f"identical to the serial loop: {same_serial}; to talentflow.evaluate with the same seeds: {same_batch}")
    assert same_serial and same_batch
    return {"replicates": float(replicates)}


if __name__ == "__main__":
    main(sys.argv[1:])
