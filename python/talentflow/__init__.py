"""talentflow: agent-based simulation of research talent and startup capital flows between
countries, from Python.

The model, its checks and its outputs are the Rust library's (the same code as the
``talentflow`` command): a run here gives the numbers of ``talentflow run`` for the same
scenario and seed, bit for bit, and an error carries the message the CLI prints.

>>> import talentflow as tf
>>> s = tf.Scenario.load("world2025").set("innovation.lambda", 0.9)
>>> run = tf.run(s, seed=1, agents=20_000, years=10)          # doctest: +SKIP
>>> run.series["researcher_share"].shape                       # doctest: +SKIP
(121, 15)
>>> run.countries().query("variable == 'retention'")           # doctest: +SKIP
>>> tf.evaluate(s, [[0.5], [0.9]], ["innovation.lambda"], ["hhi@end"], seeds=[1, 2])  # doctest: +SKIP

What is here:

- :class:`Scenario` — ``load`` (embedded name, path or TOML text), ``set``, ``add_policy``,
  ``validate``, ``to_toml``;
- :func:`run` → :class:`Run` — ``series`` (numpy, named axes), ``countries()`` / ``world()``
  (the CSVs as pandas frames), ``to_xarray()``, ``manifest``, ``write(dir)``;
- :func:`evaluate` — a scenario at many points × seeds → a 2-D array (the batch entry point for
  SALib, EMA workbench, pyABC, black-it; common random numbers when seeds repeat);
- :func:`experiment`, :func:`sweep`, :func:`sensitivity` — the CLI's studies and their tables;
- :func:`discover` — scenario discovery (PRIM box, CART tree) over a finished sweep;
- :func:`calibrate` → :class:`CalibrationResult` — SMM or ABC-SMC calibration (``talentflow
  calibrate``) and its tables;
- :func:`read_run`, :func:`read_experiment` — directories the CLI wrote;
- :mod:`talentflow.errors` — the exceptions.

"""

from __future__ import annotations

from . import _native
from .errors import (
    CalibrateError,
    DiscoverError,
    EvaluateError,
    ExperimentError,
    Interrupted,
    OutcomeError,
    OutputError,
    RunDirError,
    ScenarioError,
    SweepError,
    TalentflowError,
)
from .results import Run, Series, Variable, variables
from .scenario import Scenario
from .study import (
    CalibrationResult,
    calibrate,
    Discovery,
    ExperimentResult,
    Sensitivity,
    SweepResult,
    discover,
    evaluate,
    experiment,
    read_experiment,
    read_run,
    replicate_seeds,
    run,
    sensitivity,
    sweep,
    threads,
    to_toml,
)

#: The talentflow version (that of the Rust library inside).
__version__: str = _native.VERSION

__all__ = [
    "__version__",
    "Scenario",
    "Run",
    "Series",
    "Variable",
    "variables",
    "run",
    "evaluate",
    "replicate_seeds",
    "experiment",
    "ExperimentResult",
    "read_experiment",
    "sweep",
    "SweepResult",
    "sensitivity",
    "Sensitivity",
    "discover",
    "Discovery",
    "calibrate",
    "CalibrationResult",
    "read_run",
    "threads",
    "to_toml",
    "TalentflowError",
    "ScenarioError",
    "OutcomeError",
    "EvaluateError",
    "ExperimentError",
    "SweepError",
    "DiscoverError",
    "CalibrateError",
    "RunDirError",
    "OutputError",
    "Interrupted",
]
