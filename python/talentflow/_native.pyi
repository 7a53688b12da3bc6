"""Type stubs of the extension module ``talentflow._native`` (python/src, Rust)."""

from typing import Any, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "VERSION",
    "NativeScenario",
    "NativeRun",
    "toml_value",
    "toml_document",
    "resolve",
    "variables",
    "axes",
    "run",
    "read_run",
    "evaluate",
    "replicate_seed",
    "experiment",
    "read_experiment",
    "sweep",
    "sensitivity",
    "discover",
    "calibrate",
    "pool_threads",
]

VERSION: str

@final
class NativeScenario:
    def to_toml(self) -> str: ...
    def to_json(self) -> str: ...
    def hash(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def overrides(self) -> list[str]: ...
    @property
    def codes(self) -> list[str]: ...
    @property
    def ticks(self) -> int: ...
    @property
    def start_year(self) -> float: ...
    @property
    def ticks_per_year(self) -> float: ...
    @property
    def world_seed(self) -> int: ...
    def years(self) -> list[float]: ...

@final
class NativeRun:
    def arrays(self) -> list[tuple[str, npt.NDArray[np.float64]]]: ...
    def scenario(self) -> NativeScenario: ...
    @property
    def seed(self) -> int: ...
    @property
    def threads(self) -> int: ...
    @property
    def wall_seconds(self) -> float: ...
    @property
    def dir(self) -> str | None: ...
    def career_files(self) -> list[tuple[str, bytes]]: ...
    def countries_columns(
        self,
    ) -> tuple[
        npt.NDArray[np.int64],
        npt.NDArray[np.float64],
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.float64],
    ]: ...
    def world_columns(
        self,
    ) -> tuple[
        npt.NDArray[np.int64],
        npt.NDArray[np.float64],
        npt.NDArray[np.int64],
        npt.NDArray[np.float64],
    ]: ...
    def file_bytes(self) -> list[tuple[str, bytes]]: ...
    def manifest(self) -> str: ...
    def write(self, dir: str, force: bool) -> str: ...

def toml_value(value: Any) -> str: ...
def toml_document(table: dict[str, Any]) -> str: ...
def resolve(kind: str, source: str, overrides: list[str], policies: list[dict[str, Any]]) -> NativeScenario: ...
def variables() -> list[dict[str, Any]]: ...
def axes() -> list[tuple[str, str, str]]: ...
def run(
    scenario: NativeScenario,
    seed: int,
    threads: int | None = None,
    panel: str | None = None,
    panel_every: float | None = None,
    cohorts: bool = False,
) -> NativeRun: ...
def read_run(dir: str) -> NativeRun: ...
def evaluate(
    scenario: NativeScenario,
    keys: list[str],
    points: npt.NDArray[np.float64],
    outcomes: list[str],
    seeds: list[int],
    threads: int | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def replicate_seed(master_seed: int, r: int) -> int: ...
def experiment(
    kind: str,
    source: str,
    set: list[str],
    replicates: int | None,
    out: str,
    force: bool,
    threads: int | None = None,
    branch_at: int | None = None,
    posterior: str | None = None,
) -> str: ...
def read_experiment(dir: str) -> None: ...
def sweep(
    kind: str, source: str, set: list[str], out: str, force: bool, threads: int | None = None
) -> tuple[int, int]: ...
def sensitivity(dir: str) -> tuple[str, bytes]: ...
def discover(
    dir: str,
    condition: str,
    outcome: str | None = None,
    alpha: float = 0.05,
    mass_min: float = 0.05,
    min_coverage: float = 0.5,
    depth: int = 3,
) -> str: ...
def calibrate(
    path: str, set: list[str], out: str, force: bool, threads: int | None = None
) -> tuple[int, int, str]: ...
def pool_threads(threads: int | None = None) -> int: ...
