"""Reference values for talentflow's TOST and multiple-testing adjustments (src/study/inference.rs).

Fixed inputs (written out below, so the Rust test holds the same numbers) go through
statsmodels' `ttost_paired` (two one-sided paired t tests against -margin, +margin), scipy's
paired t test (`ttest_rel`) and `multipletests(method="holm")` / `method="fdr_bh"`.
The output is tests/reference/statsmodels_tests.txt, read by tests/inference_reference.rs.

Regenerate (from the repository root):

    python3 -m venv /tmp/claims-venv && /tmp/claims-venv/bin/pip install scipy statsmodels
    /tmp/claims-venv/bin/python tests/reference/statsmodels_tests.py > tests/reference/statsmodels_tests.txt
"""

from importlib.metadata import version

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import ttost_paired

# Paired samples: (treatment, control, margin).
CASES = [
    ([0.61, 0.64, 0.59, 0.66, 0.62, 0.60, 0.65, 0.63],
     [0.60, 0.62, 0.60, 0.64, 0.61, 0.61, 0.63, 0.62], 0.02),
    ([1.0, 2.5, 2.0, 3.5, 2.8, 1.9], [0.9, 1.1, 1.4, 2.0, 1.7, 1.2], 0.5),
    ([0.001, -0.002, 0.0005, 0.0012, -0.0007, 0.0003, 0.0009, -0.0001, 0.0004, 0.0002],
     [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], 0.001),
]
PVALUES = [0.001, 0.0125, 0.04, 0.04, 0.2, 0.6, 0.013, 0.9, 0.03, 0.0002]

print(f"# scipy {version('scipy')} statsmodels {version('statsmodels')}")
for i, (x1, x2, m) in enumerate(CASES):
    x1, x2 = np.array(x1), np.array(x2)
    p_tost, (t1, p1, _), (t2, p2, _) = ttost_paired(x1, x2, -m, m)
    p_t = stats.ttest_rel(x1, x2).pvalue
    print(f"case {i} tost {p_tost:.17g} lower {p1:.17g} upper {p2:.17g} ttest {p_t:.17g}")
holm = multipletests(PVALUES, method="holm")[1]
bh = multipletests(PVALUES, method="fdr_bh")[1]
print("holm " + " ".join(f"{v:.17g}" for v in holm))
print("bh " + " ".join(f"{v:.17g}" for v in bh))
