"""The README's Quick tour runs on a fresh machine and prints what it computes.

The ``python`` code blocks of the README section "Quick tour" are executed in order, in
one namespace, in a scratch working directory (and with ``tempfile`` pointed there), so
no earlier ``make demo`` is needed and nothing is written into the repository.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def quick_tour_blocks() -> list[str]:
    """The ``python`` code blocks of the README's "Quick tour" section, in order."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Quick tour\n(.*?)(?=^## )", text, flags=re.S | re.M)
    assert match, "README.md has no '## Quick tour' section"
    return re.findall(r"^```python\n(.*?)^```", match.group(1), flags=re.S | re.M)


def test_quick_tour_has_code():
    blocks = quick_tour_blocks()
    assert len(blocks) >= 2
    assert all("print(" in b for b in blocks), "every block prints what it computes"
    assert not any("runs/phase_diagram\")" in b for b in blocks), "needs no make demo"


@pytest.mark.slow
def test_quick_tour_runs_and_prints(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    namespace: dict = {"__name__": "__quick_tour__"}
    for block in quick_tour_blocks():
        exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert "analytic NTK: shape (500, 500), rank 500" in out   # full rank: no jamming for K∞
    assert "HingeMinimum(verdict='unsat'" in out                # φ = 2.5 > 2: UNSAT
    assert "LP: unsat, certificate checked: True" in out       # the LP agrees, and proves it
    assert "total=180" in out and "failed=0" in out
    crossings = re.findall(r"P = (\d+): phi_c = ([\d.]+) \[([\d.]+), ([\d.]+)\]", out)
    assert [int(p) for p, *_ in crossings] == [25, 50]
    for _, phi_c, low, high in crossings:                      # Cover: phi_c(P) near 2
        assert float(low) <= float(phi_c) <= float(high)
        assert 1.5 < float(phi_c) < 2.5
    written = {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*")}
    assert len(written) == 1, f"the tour wrote outside its one run directory: {written}"
