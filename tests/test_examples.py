"""Smoke tests of the scripts in examples/: each runs, prints its conclusions, and writes
only into its working directory or ``--output`` (never into the repository).

The scripts run in this process (``runpy``, so JAX and the package are imported once)
with small arguments, in a scratch working directory.
"""

from __future__ import annotations

import hashlib
import re
import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
# Every example and the test below that runs it.
COVERED = {"fixed_points.py", "phase_diagram_api.py", "local_cluster.py"}


def _tracked_outputs() -> dict[Path, str]:
    """SHA-256 of the repository files an example could overwrite (figures, examples)."""
    paths = [*sorted((ROOT / "docs" / "figures").glob("*")), *sorted(EXAMPLES.glob("*"))]
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


def run_example(name: str, args: list[str], tmp_path: Path, monkeypatch, capsys) -> str:
    """Run ``examples/NAME`` with ``args`` in ``tmp_path``; its stdout."""
    before = _tracked_outputs()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / name), *args])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    assert _tracked_outputs() == before, f"{name} changed a file of the repository"
    return capsys.readouterr().out


def test_every_example_has_a_smoke_test():
    assert {p.name for p in EXAMPLES.glob("*.py")} == COVERED


def test_fixed_points(tmp_path, monkeypatch, capsys):
    out = run_example("fixed_points.py", ["--n", "16"], tmp_path, monkeypatch, capsys)
    # P = N/4 < N: K∇L → 0 with ∇L ≠ 0 (a fixed point that is not a minimum), stable;
    # the sigmoid loss on two conflicting points: an unstable fixed point, rate < 0.
    rows = {tuple(line.split()[:2]): line for line in out.splitlines()
            if line.startswith(("mse ", "quadratic_hinge "))}
    assert {"fixed_point_not_minimum", "stable"} <= set(rows[("mse", "4")].split())
    rate = float(re.search(r"rates on range\(K\): \[\s*(-?[\d.e+-]+)", out).group(1))
    assert rate < 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fixed_points.pdf", "fixed_points.png"]


def test_phase_diagram_api(tmp_path, monkeypatch, capsys):
    args = ["--P", "10,20", "--phi-num", "5", "--seeds", "4", "--n-boot", "20"]
    out = run_example("phase_diagram_api.py", args, tmp_path, monkeypatch, capsys)
    assert "40 tasks in runs/example_phase_diagram: 40 run now, 0 already stored, 0 failed" in out
    assert re.search(r"P =\s+10: φ_c = [\d.]+ \[", out) and re.search(r"P =\s+20: φ_c", out)
    out = run_example("phase_diagram_api.py", args, tmp_path, monkeypatch, capsys)
    assert "0 run now, 40 already stored" in out            # resumed: nothing recomputed
    assert [p.name for p in tmp_path.iterdir()] == ["runs"]


@pytest.mark.slow
def test_local_cluster(tmp_path, monkeypatch, capsys):
    out = run_example("local_cluster.py", ["--seeds", "2"], tmp_path, monkeypatch, capsys)
    assert "on the cluster: 12 tasks done, 0 failed (Dask scheduler tcp://127.0.0.1:" in out
    assert "identical task keys and measurements in both stores: True" in out
    assert [p.name for p in tmp_path.iterdir()] == ["runs"]
