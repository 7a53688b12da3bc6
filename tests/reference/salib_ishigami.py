"""Reference Sobol indices of the Ishigami function from SALib, on talentflow's own design.

talentflow's Sobol estimator (src/study/sensitivity.rs) is tested against the numbers this script
writes to salib_ishigami.csv. Both sides use the same sample matrix: the script runs
`cargo run --example saltelli_ishigami -- N SEED`, which prints talentflow's Saltelli design and
the Ishigami outputs on it, reorders the rows into SALib's layout and calls
SALib.analyze.sobol.analyze on the outputs as they are ("unshifted") and with 100 added
("shifted"; SALib standardises the outputs, so its indices do not move).

Regenerate (from the repository root):

    python3 -m venv /tmp/salibenv && /tmp/salibenv/bin/pip install SALib numpy
    /tmp/salibenv/bin/python tests/reference/salib_ishigami.py > tests/reference/salib_ishigami.csv
"""

import io
import subprocess
import sys

import numpy as np
from importlib.metadata import version
from SALib.analyze import sobol

N, SEED = 1024, 42
RESAMPLES, BOOT_SEED, CONF = 1000, 1, 0.95
K = 3
NAMES = ["x1", "x2", "x3"]


def ishigami(u):
    x = -np.pi + 2.0 * np.pi * u
    return np.sin(x[:, 0]) + 7.0 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])


def main():
    text = subprocess.run(
        ["cargo", "run", "--quiet", "--example", "saltelli_ishigami", "--", str(N), str(SEED)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    data = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1)
    u, y = data[:, :K], data[:, K]
    per = 2 * K + 2
    assert u.shape == (N * per, K)
    # The outputs are talentflow's (libm sin); numpy's sin agrees to rounding.
    assert np.allclose(ishigami(u), y, rtol=0, atol=1e-12)

    # talentflow's rows per base sample: A, B, AB_1..AB_k, BA_1..BA_k.
    # SALib's:                           A, AB_1..AB_k, BA_1..BA_k, B.
    a = np.arange(N) * per
    order = np.column_stack([a] + [a + 2 + j for j in range(2 * K)] + [a + 1]).ravel()
    problem = {"num_vars": K, "names": NAMES, "bounds": [[0.0, 1.0]] * K}

    out = sys.stdout
    out.write(
        f"# Sobol indices of Ishigami (a = 7, b = 0.1) from SALib {version('SALib')} (analyze.sobol,\n"
        f"# {RESAMPLES} resamples, seed {BOOT_SEED}; conf: half-width of the {CONF:.0%} normal interval)\n"
        f"# on the design of `cargo run --example saltelli_ishigami -- {N} {SEED}`.\n"
        "# Written by tests/reference/salib_ishigami.py; read by src/study/sensitivity.rs.\n"
    )
    out.write(
        f"# design n={N} seed={SEED} rows={len(y)} sum_u={float(u.sum())!r} sum_y={float(y.sum())!r}\n"
    )
    out.write("case,index,parameter,value,conf\n")
    for case, shift in [("unshifted", 0.0), ("shifted", 100.0)]:
        s = sobol.analyze(
            problem,
            (y + shift)[order],
            calc_second_order=True,
            num_resamples=RESAMPLES,
            conf_level=CONF,
            seed=BOOT_SEED,
        )
        rows = [(i, NAMES[j], s[i][j], s[i + "_conf"][j]) for i in ["S1", "ST"] for j in range(K)]
        rows += [
            ("S2", NAMES[j] + "*" + NAMES[l], s["S2"][j, l], s["S2_conf"][j, l])
            for j in range(K)
            for l in range(j + 1, K)
        ]
        for index, name, value, conf in rows:
            out.write(f"{case},{index},{name},{float(value)!r},{float(conf)!r}\n")

if __name__ == "__main__":
    main()
