"""The result of one run: every recorded variable as numpy arrays with named axes, tidy pandas
frames identical to the CLI's CSVs, an xarray Dataset, the manifest, and the run directory."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _native
from .scenario import Scenario

if TYPE_CHECKING:  # pragma: no cover - imported for annotations only
    import pandas
    import xarray


class Variable:
    """What the model's variable table says about one recorded variable."""

    __slots__ = ("name", "units", "meaning", "kind", "group", "dims")

    def __init__(self, entry: Mapping[str, Any]) -> None:
        #: Name in every output (npz, CSV ``variable`` column, outcome expressions).
        self.name: str = entry["name"]
        #: Units (e.g. ``persons``, ``$B/year``).
        self.units: str = entry["units"]
        #: What it measures.
        self.meaning: str = entry["meaning"]
        #: ``stock`` (state at the end of the row's tick) or ``flow`` (events during it).
        self.kind: str = entry["kind"]
        #: ``country`` (per country), ``world`` (one value) or ``matrix`` (country × country).
        self.group: str = entry["group"]
        #: Axis names, e.g. ``("year", "country")``.
        self.dims: tuple[str, ...] = tuple(entry["dims"])

    def __repr__(self) -> str:
        return f"Variable({self.name!r}, {self.units!r}, dims={self.dims})"


def variables() -> dict[str, Variable]:
    """Every recorded variable, in ``series.npz`` order, from the model's one table."""
    return {e["name"]: Variable(e) for e in _native.variables()}


class Series(Mapping[str, np.ndarray]):
    """Every recorded variable of a run as a read-only numpy array, by name.

    Arrays have the shapes of ``series.npz``: per-country variables ``[year, country]``, world
    variables ``[year]``, ``flows`` ``[year, origin, destination]`` (T rows: row t holds the
    moves of tick t + 1) and ``origin_location`` ``[year, origin, country]``. :attr:`dims`
    names the axes of each, :meth:`coords` gives the values along them, :attr:`variables` the
    units and meaning.
    """

    def __init__(self, arrays: list[tuple[str, np.ndarray]], years: np.ndarray, countries: list[str]) -> None:
        self._arrays = dict(arrays)
        #: Calendar year of every row (T + 1 values).
        self.years = years
        #: Country codes, the order of every country axis.
        self.countries = list(countries)
        #: The variable table (units, meaning, kind, dims).
        self.variables = variables()

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self._arrays[name]
        except KeyError:
            known = ", ".join(self._arrays)
            raise KeyError(f"no variable {name!r} (recorded: {known})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    @property
    def dims(self) -> dict[str, tuple[str, ...]]:
        """Axis names of every variable."""
        return {n: v.dims for n, v in self.variables.items()}

    def coords(self, name: str) -> dict[str, np.ndarray]:
        """The values along each axis of ``name``: years (for ``flows``: the years at the end
        of each of its T ticks) and country codes."""
        var = self.variables[name]
        array = self[name]
        out: dict[str, np.ndarray] = {}
        for axis, size in zip(var.dims, array.shape):
            if axis == "year":
                out[axis] = self.years[len(self.years) - size :]
            else:
                out[axis] = np.array(self.countries, dtype=object)
        return out

    def __repr__(self) -> str:
        return f"Series({len(self)} variables, {len(self.years)} rows × {len(self.countries)} countries)"


class Run:
    """One finished run (``talentflow.run`` or ``talentflow.read_run``).

    ``series`` holds every recorded variable; :meth:`countries` and :meth:`world` are the tidy
    frames of ``countries.csv`` and ``world.csv``; :meth:`to_xarray` a Dataset; :attr:`manifest`
    the manifest; :meth:`write` the run directory the CLI would write.
    """

    def __init__(self, native: _native.NativeRun) -> None:
        self._native = native

    @cached_property
    def scenario(self) -> Scenario:
        """The resolved scenario the run used."""
        ns = self._native.scenario()
        scenario = Scenario("text", ns.to_toml())
        return scenario

    @cached_property
    def _meta(self) -> _native.NativeScenario:
        return self._native.scenario()

    @property
    def seed(self) -> int:
        """The seed."""
        return self._native.seed

    @property
    def threads(self) -> int:
        """Worker threads used (results do not depend on it)."""
        return self._native.threads

    @property
    def wall_seconds(self) -> float:
        """Wall time of the simulation."""
        return self._native.wall_seconds

    @property
    def dir(self) -> Path | None:
        """The directory a run read with ``read_run`` came from."""
        d = self._native.dir
        return None if d is None else Path(d)

    @cached_property
    def codes(self) -> list[str]:
        """Country codes, in output order."""
        return self._meta.codes

    @cached_property
    def years(self) -> np.ndarray:
        """Calendar year of every row (T + 1 values)."""
        return np.array(self._meta.years(), dtype=np.float64)

    @cached_property
    def series(self) -> Series:
        """Every recorded variable as a read-only numpy array (no copy of the run's buffers)."""
        return Series(self._native.arrays(), self.years, self.codes)

    @cached_property
    def manifest(self) -> dict[str, Any]:
        """The manifest: the file's for a run read back, else what :meth:`write` would write."""
        result: dict[str, Any] = json.loads(self._native.manifest())
        return result

    def countries(self) -> pandas.DataFrame:
        """``countries.csv`` as a tidy frame: columns tick, year, country, variable, value, in
        the file's row order (the rows come from the same code as the file's)."""
        import pandas as pd

        tick, year, country, variable, value = self._native.countries_columns()
        codes = np.array(self.codes, dtype=object)
        names = np.array([n for n, v in self.series.variables.items() if v.group == "country"], dtype=object)
        frame: pandas.DataFrame = pd.DataFrame(
            {"tick": tick, "year": year, "country": codes[country], "variable": names[variable], "value": value}
        )
        return frame

    def world(self) -> pandas.DataFrame:
        """``world.csv`` as a tidy frame: columns tick, year, variable, value."""
        import pandas as pd

        tick, year, variable, value = self._native.world_columns()
        names = np.array([n for n, v in self.series.variables.items() if v.group == "world"], dtype=object)
        frame: pandas.DataFrame = pd.DataFrame(
            {"tick": tick, "year": year, "variable": names[variable], "value": value}
        )
        return frame

    def to_xarray(self) -> xarray.Dataset:
        """Every variable in one ``xarray.Dataset`` with coordinates ``year``, ``country``,
        ``origin`` and ``destination`` and each variable's ``units``, ``long_name`` (meaning)
        and ``kind`` as attributes. ``flows`` has T + 1 rows here, its row 0 (the initial
        state) zero, as every flow variable has; ``series['flows']`` holds its T rows as
        ``series.npz`` does. Needs xarray (``pip install ./python[xarray]``)."""
        try:
            import xarray as xr
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("Run.to_xarray() needs xarray: pip install xarray") from e
        series = self.series
        axes = {name: (units, meaning) for name, units, meaning in _native.axes()}
        codes = np.array(self.codes, dtype=object)
        coords: dict[str, Any] = {"year": ("year", self.years, {"units": axes["year"][0], "long_name": axes["year"][1]})}
        data_vars: dict[str, Any] = {}
        rows = len(self.years)
        for name, var in series.variables.items():
            values = series[name]
            if values.shape[0] < rows:
                pad = np.zeros((rows - values.shape[0],) + values.shape[1:], dtype=values.dtype)
                values = np.concatenate([pad, values])
            attrs = {"units": var.units, "long_name": var.meaning, "kind": var.kind}
            data_vars[name] = (var.dims, values, attrs)
            for axis in var.dims[1:]:
                coords.setdefault(axis, (axis, codes, {"units": axes["countries"][0], "long_name": axes["countries"][1]}))
        ds_attrs: dict[str, Any] = {
            "seed": self.seed,
            "scenario_source": self._meta.source,
            "scenario_hash": self._meta.hash(),
            "talentflow_version": _native.VERSION,
        }
        return xr.Dataset(data_vars=data_vars, coords=coords, attrs=ds_attrs)

    def _career_table(self, name: str, flag: str) -> pandas.DataFrame:
        import io

        import pandas as pd

        files = dict(self._native.career_files())
        if name not in files:
            raise LookupError(f"the run has no {name}: run it with {flag}")
        if name.endswith(".csv"):
            frame: pandas.DataFrame = pd.read_csv(io.BytesIO(files[name]))
            return frame
        with np.load(io.BytesIO(files[name])) as z:
            columns = {k: z[k] for k in z.files}
        codes = np.array(self.codes, dtype=object)
        for col in ("home", "location", "from", "to"):
            if col in columns:
                columns[col] = codes[columns[col]]
        frame = pd.DataFrame(columns)
        return frame

    def panel(self) -> pandas.DataFrame:
        """``panel.npz`` as a frame (one row per snapshot and living sampled researcher), country
        indices replaced by codes. Needs ``run(..., panel=...)`` or ``talentflow run --panel``."""
        return self._career_table("panel.npz", "panel=")

    def panel_startups(self) -> pandas.DataFrame:
        """``panel_startups.npz`` as a frame: the sampled founders' startups at every snapshot."""
        return self._career_table("panel_startups.npz", "panel=")

    def panel_moves(self) -> pandas.DataFrame:
        """``panel_moves.npz`` as a frame: every move of a sampled researcher."""
        return self._career_table("panel_moves.npz", "panel=")

    def stay(self) -> pandas.DataFrame:
        """``stay.csv`` (stay curves of every cohort, from all agents). Needs ``cohorts=True``."""
        return self._career_table("stay.csv", "cohorts=True")

    def hazard(self) -> pandas.DataFrame:
        """``hazard.csv`` (emigration hazard by home and skill quintile). Needs ``cohorts=True``."""
        return self._career_table("hazard.csv", "cohorts=True")

    def files(self) -> dict[str, bytes]:
        """The run directory's files except the manifest, as bytes, as ``talentflow run``
        writes them (``series.npz``, ``countries.csv``, ``world.csv``, ``scenario.toml``, and the
        observers' files when the run has them)."""
        return dict(self._native.file_bytes())

    def write(self, dir: str | os.PathLike[str], force: bool = False) -> Path:
        """Writes the run directory (``talentflow run --out DIR``: every file atomically, the
        manifest last); refuses a non-empty directory unless ``force``. Returns the path."""
        path = Path(dir)
        self._native.write(os.fspath(path), force)
        return path

    def __repr__(self) -> str:
        return (
            f"Run({self._meta.source}, seed {self.seed}, {len(self.codes)} countries, "
            f"{len(self.years) - 1} ticks)"
        )
