"""The shipped examples and the notebook run (at their CI size) and agree with what they claim;
the type stubs match the extension and type-check the package and the examples."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

EXAMPLES = ROOT / "examples" / "python"


def _example(name: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--small", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    print(done.stdout)
    return done.stdout


def test_salib_sobol_agrees_with_talentflow_sensitivity(cli_path: Path) -> None:
    out = _example("salib_sobol.py", "--cli", str(cli_path))
    assert "`talentflow sensitivity` wrote the same sensitivity.csv as talentflow.sweep: True" in out
    assert "evaluate's gains equal the sweep's, bit for bit: True" in out
    worst = float(out.split("largest difference between talentflow's and SALib's indices: ")[1].split()[0])
    assert worst < 1e-9


def test_ema_prim() -> None:
    out = _example("ema_prim.py")
    assert "PRIM box for gain" in out
    assert "EMA's perform_experiments on the first 3 points gives the batch's gains: True" in out


def test_dask_map_equals_the_serial_call() -> None:
    out = _example("dask_map.py")
    assert "identical to the serial loop: True; to talentflow.evaluate with the same seeds: True" in out


def test_the_quickstart_notebook_runs() -> None:
    import nbclient
    import nbformat

    path = ROOT / "examples" / "notebooks" / "quickstart.ipynb"
    notebook = nbformat.read(path, as_version=4)
    os.environ["TALENTFLOW_QUICK"] = "1"
    try:
        nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    finally:
        del os.environ["TALENTFLOW_QUICK"]
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the shares figure was drawn"
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "quickstart: 2 arms × 3 replicates" in printed


def test_the_stubs_match_the_extension() -> None:
    done = subprocess.run([sys.executable, "-m", "mypy.stubtest", "talentflow._native"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_package_and_the_examples_type_check() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "python" / "pyproject.toml"),
            str(ROOT / "python" / "talentflow"),
            str(EXAMPLES),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
