"""Shared fixtures: the `talentflow` command (to compare with), the repository's paths."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

#: The repository root (python/tests/ → ../..).
ROOT = Path(__file__).resolve().parents[2]


def _find_cli() -> Path | None:
    given = os.environ.get("TALENTFLOW_BIN")
    if given:
        return Path(given)
    for profile in ("debug", "release"):
        candidate = ROOT / "target" / profile / "talentflow"
        if candidate.is_file():
            return candidate
    return None


@pytest.fixture(scope="session")
def cli_path() -> Path:
    """The `talentflow` binary the Python results are compared with. Missing, the tests that
    need it fail (they never skip): build it with `cargo build`, or set TALENTFLOW_BIN."""
    path = _find_cli()
    if path is None or not path.is_file():
        pytest.fail(
            "no talentflow binary: run `cargo build` at the repository root (or set TALENTFLOW_BIN)",
            pytrace=False,
        )
    return path


class Cli:
    """Runs the `talentflow` command."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, *args: str | os.PathLike[str], ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.path), *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=600
        )
        if ok and done.returncode != 0:
            raise AssertionError(f"talentflow {' '.join(map(str, args))} failed:\n{done.stderr}")
        return done

    def error(self, *args: str | os.PathLike[str]) -> str:
        """The message of a failing command: its stderr without `error: ` and the newline."""
        done = self(*args, ok=False)
        assert done.returncode == 1, (done.returncode, done.stderr)
        assert done.stderr.startswith("error: "), done.stderr
        return done.stderr[len("error: ") :].rstrip("\n")


@pytest.fixture(scope="session")
def cli(cli_path: Path) -> Cli:
    return Cli(cli_path)
