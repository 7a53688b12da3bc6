"""Running: one run, a batch at given points (for SALib, EMA workbench, pyABC, Dask…),
experiments and sweeps with the CLI's tables, and reading directories the CLI wrote."""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union

import numpy as np

from . import _native
from .errors import ScenarioError
from .results import Run
from .scenario import Scenario, Source, _is_file, as_scenario

if TYPE_CHECKING:  # pragma: no cover
    import pandas

#: An experiment or sweep: a path to its TOML file, TOML text, or a dict with the file's keys.
StudySource = Union[str, "os.PathLike[str]", Mapping[str, Any]]
#: Overrides: ``["key=value", …]`` or ``{"key": value, …}``.
Overrides = Union[Sequence[str], Mapping[str, Any], None]


def _override_texts(set: Overrides) -> list[str]:
    if set is None:
        return []
    if isinstance(set, Mapping):
        return [f"{k}={_native.toml_value(v)}" for k, v in set.items()]
    if isinstance(set, str):
        return [set]
    return [str(s) for s in set]


def _shorthand(overrides: list[str], name: str, value: int | None, key: str) -> None:
    """Refuses ``agents=``/``years=`` together with an override of the same key, as the CLI
    refuses ``--agents`` with ``--set world.agents=…``: one of them would silently win."""
    if value is None:
        return
    for text in overrides:
        path = text.split("=", 1)[0]
        if ".".join(p.strip() for p in path.split(".")) == key:
            raise ScenarioError(f"{name}={value} and the override {text} both set {key}; give only one of them")


def run(
    scenario: Scenario | Source,
    seed: int | None = None,
    *,
    agents: int | None = None,
    years: int | None = None,
    threads: int | None = None,
    panel: float | int | str | None = None,
    panel_every: float | None = None,
    cohorts: bool = False,
) -> Run:
    """Runs a scenario and returns its :class:`~talentflow.results.Run`.

    ``seed`` defaults to the scenario's ``world.seed`` and ``agents``/``years`` are the
    shorthands of ``talentflow run --agents/--years``, so ``run(s, seed=3, agents=2000)`` gives
    the numbers of ``talentflow run … --seed 3 --agents 2000``, bit for bit. The GIL is released
    for the whole run; Ctrl-C stops it between ticks (:class:`~talentflow.errors.Interrupted`).
    ``threads`` sizes the pool (default: one thread per core); results do not depend on it.
    ``panel`` (a fraction such as ``0.01`` or a number of agents such as ``5000``),
    ``panel_every`` (years) and ``cohorts`` are ``talentflow run --panel/--panel-every/--cohorts``:
    the tables are :meth:`Run.panel`, :meth:`Run.panel_startups`, :meth:`Run.panel_moves`,
    :meth:`Run.stay` and :meth:`Run.hazard`; no other output changes.
    """
    s = as_scenario(scenario)
    _shorthand(s._overrides, "agents", agents, "world.agents")
    _shorthand(s._overrides, "years", years, "world.years")
    prefix: list[str] = []
    # The CLI puts the shorthands first, years before agents.
    if years is not None:
        prefix.append(f"world.years={_native.toml_value(years)}")
    if agents is not None:
        prefix.append(f"world.agents={_native.toml_value(agents)}")
    if prefix:
        s = Scenario(s._kind, s._source, prefix + s._overrides, s._policies)
    native = s._native()
    if isinstance(panel, float):
        spec: str | None = repr(panel)
    elif panel is None:
        spec = None
    else:
        spec = str(panel)
    return Run(
        _native.run(
            native,
            native.world_seed if seed is None else int(seed),
            threads,
            spec,
            None if panel_every is None else float(panel_every),
            bool(cohorts),
        )
    )


def _seeds(seeds: int | Iterable[int]) -> list[int]:
    if isinstance(seeds, (int, np.integer)):
        return [int(seeds)]
    return [int(s) for s in seeds]


def evaluate(
    scenario: Scenario | Source,
    points: Any,
    keys: Sequence[str],
    outcomes: Sequence[str] | str,
    seeds: int | Iterable[int] = 1,
    *,
    reduce: Literal["mean", "none"] = "mean",
    threads: int | None = None,
) -> np.ndarray:
    """Evaluates ``scenario`` at every row of ``points`` (column j is the value of
    ``keys[j]``, applied as ``--set`` would) with every seed, in parallel inside Rust.

    Returns a 2-D float array: with ``reduce="mean"`` (default) ``[point, outcome]``, the mean
    over seeds; with ``reduce="none"`` ``[point × seed, outcome]``, row ``p * len(seeds) + s``.
    Outcomes are expressions such as ``retention.SAU@2030``, ``hhi@end`` or
    ``exits.USA@2025..2030``. Runs with the same seed share their random numbers, so giving
    two calls (a policy and its control) the same seeds pairs them: common random numbers.
    Every point is checked before any run; a bad one raises
    :class:`~talentflow.errors.EvaluateError` with the scenario's messages.
    """
    s = as_scenario(scenario)
    matrix = np.asarray(points, dtype=np.float64)
    if matrix.ndim == 1 and len(keys) == 1:
        matrix = matrix.reshape(-1, 1)
    if matrix.ndim != 2:
        raise ValueError(f"points must be a 2-D array [point, key], found shape {matrix.shape}")
    outs = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    values, means = _native.evaluate(
        s._native(), list(keys), np.ascontiguousarray(matrix), outs, _seeds(seeds), threads
    )
    if reduce == "mean":
        return means
    if reduce == "none":
        return values.reshape(-1, values.shape[2])
    raise ValueError(f"reduce must be 'mean' or 'none', not {reduce!r}")


def to_toml(table: Mapping[str, Any]) -> str:
    """A dict as TOML text, e.g. an experiment or sweep built in code written to a file for the
    CLI (``talentflow sweep FILE``)."""
    return _native.toml_document(dict(table))


def replicate_seeds(master_seed: int, n: int) -> list[int]:
    """The seeds of replicates 0..n-1 under ``master_seed``, as experiments and sweeps derive
    them (so ``evaluate`` can reproduce a sweep's runs)."""
    return [_native.replicate_seed(master_seed, r) for r in range(n)]


def _study(source: StudySource) -> tuple[str, str]:
    if isinstance(source, Mapping):
        return "text", _native.toml_document(dict(source))
    if isinstance(source, os.PathLike):
        return "file", os.fspath(source)
    if not isinstance(source, str):
        raise TypeError(f"expected a path, TOML text or a dict, not {type(source).__name__}")
    if "\n" in source or (not _is_file(source) and "=" in source):
        return "text", source
    return "file", source


def read_csv(source: Path | bytes) -> pandas.DataFrame:
    """A CSV the CLI wrote, as pandas reads it with exact floats: Rust prints the shortest text
    that reads back to the same float, and pandas reads it back exactly by default from
    pandas 3 on (before, with ``float_precision="round_trip"``)."""
    import pandas as pd

    data = io.BytesIO(source) if isinstance(source, bytes) else source
    if int(pd.__version__.split(".")[0]) < 3:
        return pd.read_csv(data, float_precision="round_trip")
    return pd.read_csv(data)


class _Output:
    """An output directory: the caller's, or a temporary one removed after reading."""

    def __init__(self, out: str | os.PathLike[str] | None) -> None:
        self._tmp = None if out is not None else tempfile.TemporaryDirectory(prefix="talentflow-")
        self.path = Path(out) if out is not None else Path(self._tmp.name) / "out"  # type: ignore[union-attr]

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


class ExperimentResult:
    """The tables of an experiment, as the CLI writes them: ``runs`` (``runs.csv``: arm,
    replicate, seed and every outcome), ``summary`` (``summary.csv``: per arm and outcome the
    mean, sd, 95% CI and the paired difference from control), ``meta``
    (``experiment.json``) and ``table`` (the text ``talentflow experiment`` prints)."""

    def __init__(self, dir: Path, table: str | None, keep: bool) -> None:
        #: ``runs.csv``.
        self.runs = read_csv(dir / "runs.csv") if (dir / "runs.csv").exists() else None
        #: ``summary.csv``.
        self.summary = read_csv(dir / "summary.csv")
        #: ``experiment.json``.
        self.meta: dict[str, Any] = json.loads((dir / "experiment.json").read_text())
        #: The printed table (``None`` for a directory read back).
        self.table = table
        #: The directory, when it was kept (``out=`` or ``read_experiment``).
        self.dir = dir if keep else None

    def __repr__(self) -> str:
        return f"ExperimentResult({self.meta.get('name')!r}, {len(self.summary)} summary rows)"


def experiment(
    source: StudySource,
    *,
    replicates: int | None = None,
    set: Overrides = None,
    out: str | os.PathLike[str] | None = None,
    force: bool = False,
    threads: int | None = None,
    branch_at: int | None = None,
    posterior: str | os.PathLike[str] | None = None,
) -> ExperimentResult:
    """Runs an experiment (a file, TOML text or a dict with the file's keys) as
    ``talentflow experiment FILE --replicates N --out OUT`` does and returns its tables.

    ``set`` adds overrides to every arm after the file's own ``set``. With ``out`` the
    directory is kept (refused if not empty, unless ``force``); without, it is temporary.
    ``branch_at`` (a year) is ``--branch-at``: every replicate's common part before that year is
    run once and every arm continues from it (it overrides the file's ``branch_at``; an arm
    that differs from the control arm before that year raises ``ExperimentError``).
    ``posterior`` (a finished calibration directory) is ``--posterior``: replicate r of every
    arm runs at draw r from that calibration, so effects and intervals include parameter
    uncertainty (the summary's second line says how the draws were made).
    """
    kind, text = _study(source)
    output = _Output(out)
    try:
        table = _native.experiment(
            kind,
            text,
            _override_texts(set),
            replicates,
            os.fspath(output.path),
            force,
            threads,
            branch_at,
            None if posterior is None else os.fspath(posterior),
        )
        return ExperimentResult(output.path, table, keep=out is not None)
    finally:
        output.close()


def read_experiment(dir: str | os.PathLike[str]) -> ExperimentResult:
    """Reads an experiment directory the CLI wrote (``runs.csv``, ``summary.csv``,
    ``experiment.json``)."""
    path = Path(dir)
    _native.read_experiment(os.fspath(path))
    return ExperimentResult(path, None, keep=True)


class Sensitivity:
    """Sensitivity indices of a finished sweep, as ``talentflow sensitivity`` computes them:
    ``indices`` (``sensitivity.csv``) and ``table`` (the printed text)."""

    def __init__(self, table: str, csv: bytes) -> None:
        #: ``sensitivity.csv`` as a frame.
        self.indices = read_csv(csv)
        #: The text the CLI prints.
        self.table = table
        self._csv = csv

    def write(self, dir: str | os.PathLike[str]) -> Path:
        """Writes ``sensitivity.csv`` into ``dir`` (what the CLI does)."""
        path = Path(dir) / "sensitivity.csv"
        path.write_bytes(self._csv)
        return path

    def __repr__(self) -> str:
        return f"Sensitivity({len(self.indices)} rows)"


class SweepResult:
    """The tables of a finished sweep: ``design`` (``design.csv``: run id, point, replicate,
    seed, parameter values), ``results`` (``results.csv``: run id and every outcome), ``meta``
    (``sweep.json``) and, for Morris and Saltelli designs, :attr:`sensitivity`."""

    def __init__(self, dir: Path, keep: bool) -> None:
        #: ``design.csv``.
        self.design = read_csv(dir / "design.csv")
        #: ``results.csv``.
        self.results = read_csv(dir / "results.csv")
        #: ``sweep.json``.
        self.meta: dict[str, Any] = json.loads((dir / "sweep.json").read_text())
        kind = self.meta.get("design", {}).get("kind")
        #: The indices of ``talentflow sensitivity`` (Morris and Saltelli designs), else None.
        self.sensitivity = Sensitivity(*_native.sensitivity(os.fspath(dir))) if kind in ("morris", "saltelli") else None
        #: The directory, when kept (``out=``).
        self.dir = dir if keep else None

    def __repr__(self) -> str:
        return f"SweepResult({self.meta.get('name')!r}, {len(self.results)} runs)"


def sweep(
    source: StudySource,
    *,
    set: Overrides = None,
    out: str | os.PathLike[str] | None = None,
    force: bool = False,
    threads: int | None = None,
) -> SweepResult:
    """Runs a sweep (a file, TOML text or a dict) as ``talentflow sweep FILE --out OUT`` does
    and returns its tables. With ``out``, a directory holding part of the same sweep is resumed
    (Ctrl-C keeps the finished rows); a directory of another sweep is refused unless ``force``.
    """
    kind, text = _study(source)
    output = _Output(out)
    try:
        _native.sweep(kind, text, _override_texts(set), os.fspath(output.path), force, threads)
        return SweepResult(output.path, keep=out is not None)
    finally:
        output.close()


def sensitivity(dir: str | os.PathLike[str]) -> Sensitivity:
    """The sensitivity indices of a finished sweep directory (``talentflow sensitivity DIR``,
    without writing ``sensitivity.csv``; :meth:`Sensitivity.write` does)."""
    return Sensitivity(*_native.sensitivity(os.fspath(dir)))


class Discovery:
    """Scenario discovery over a finished sweep, as ``talentflow discover`` finds it:
    ``trajectory`` (PRIM's peeling trajectory with the pasted box last, ``prim_trajectory.csv``;
    None when no point satisfies the condition), ``box`` (the chosen box's bounds per parameter,
    ``prim_box.csv``), ``tree`` (the CART tree, ``cart.csv``) and ``summary`` (the printed text)."""

    def __init__(self, dir: Path, summary: str) -> None:
        found = dir / "discover"
        #: The printed summary, naming the boundary.
        self.summary = summary
        #: ``prim_trajectory.csv``, or None.
        self.trajectory = read_csv(found / "prim_trajectory.csv") if (found / "prim_trajectory.csv").exists() else None
        #: ``prim_box.csv``, or None.
        self.box = read_csv(found / "prim_box.csv") if (found / "prim_box.csv").exists() else None
        #: ``cart.csv``.
        self.tree = read_csv(found / "cart.csv")

    def __repr__(self) -> str:
        return f"Discovery({len(self.tree)} tree nodes)"


def discover(
    dir: str | os.PathLike[str],
    where: str,
    *,
    outcome: str | None = None,
    alpha: float = 0.05,
    mass_min: float = 0.05,
    min_coverage: float = 0.5,
    depth: int = 3,
) -> Discovery:
    """Scenario discovery over a finished sweep directory (``talentflow discover DIR --where
    WHERE``): where the condition ``OUTCOME OP VALUE`` holds, as a PRIM box (peeling with
    ``alpha``, down to ``mass_min``; the densest box with coverage ≥ ``min_coverage``, pasted)
    and a CART tree of ``depth``. Writes ``DIR/discover/`` as the CLI does."""
    path = Path(dir)
    text = _native.discover(os.fspath(path), where, outcome, alpha, mass_min, min_coverage, depth)
    return Discovery(path, text)


class CalibrationResult:
    """The tables of a finished calibration, as ``talentflow calibrate`` writes them:
    ``evaluations`` (``evaluations.csv``: every θ with seed, replicate, each target's simulated
    value and the distance), ``estimates`` and ``covariance`` (SMM, ``estimates.csv``,
    ``covariance.csv``) or ``posterior`` and
    ``generations`` (ABC-SMC), ``fit`` (``fit.csv``: per target observed, fitted or
    posterior-predictive median and 90 % interval, role), ``identifiability``
    (``identifiability.csv``), ``calibrated`` (the TOML of ``calibrated.toml``, runnable as a
    scenario: ``Scenario.load(result.calibrated)``), ``meta`` (``calibration.json``) and
    ``summary`` (the printed summary)."""

    def __init__(self, dir: Path, summary: str, evaluated: int, simulated: int, keep: bool) -> None:
        def optional(name: str) -> pandas.DataFrame | None:
            return read_csv(dir / name) if (dir / name).exists() else None

        #: The printed summary (``summary.txt``).
        self.summary = summary
        #: Evaluations in all, and those simulated by this call (the others were read back).
        self.evaluated, self.simulated = evaluated, simulated
        #: ``evaluations.csv``.
        self.evaluations = read_csv(dir / "evaluations.csv")
        #: ``estimates.csv`` (SMM), else None.
        self.estimates = optional("estimates.csv")
        #: ``covariance.csv`` (SMM: the estimate's covariance, ``source`` ``sandwich`` or
        #: ``laplace_prior``; what ``experiment --posterior`` draws from), else None.
        self.covariance = optional("covariance.csv")
        #: ``posterior.csv`` (ABC-SMC), else None.
        self.posterior = optional("posterior.csv")
        #: ``generations.csv`` (ABC-SMC), else None.
        self.generations = optional("generations.csv")
        #: ``fit.csv``.
        self.fit = read_csv(dir / "fit.csv")
        #: ``identifiability.csv``.
        self.identifiability = read_csv(dir / "identifiability.csv")
        #: ``calibrated.toml`` as text.
        self.calibrated = (dir / "calibrated.toml").read_text()
        #: ``calibration.json``.
        self.meta: dict[str, Any] = json.loads((dir / "calibration.json").read_text())
        #: The directory, when kept (``out=``).
        self.dir = dir if keep else None

    def __repr__(self) -> str:
        return f"CalibrationResult({self.meta.get('name')!r}, {self.evaluated} evaluations)"


def calibrate(
    file: str | os.PathLike[str],
    *,
    set: Overrides = None,
    out: str | os.PathLike[str] | None = None,
    force: bool = False,
    threads: int | None = None,
) -> CalibrationResult:
    """Runs a calibration file as ``talentflow calibrate FILE --out OUT`` does (the same
    evaluations, bit for bit) and returns its tables. With ``out``, a directory holding part of
    the same calibration is resumed (its evaluations are read back, not simulated again; Ctrl-C
    keeps those done); a directory of another calibration is refused unless ``force``. Paths
    in the file (the inner step's targets) are relative to the file."""
    output = _Output(out)
    try:
        evaluated, simulated, summary = _native.calibrate(
            os.fspath(file), _override_texts(set), os.fspath(output.path), force, threads
        )
        return CalibrationResult(output.path, summary, evaluated, simulated, keep=out is not None)
    finally:
        output.close()


def read_run(dir: str | os.PathLike[str]) -> Run:
    """Reads a finished run directory the CLI wrote; every file is checked against the
    manifest's blake3 first."""
    return Run(_native.read_run(os.fspath(dir)))


def threads(threads: int | None = None) -> int:
    """How many worker threads a call with ``threads=`` uses (default: one per core, or
    ``RAYON_NUM_THREADS``)."""
    return _native.pool_threads(threads)
