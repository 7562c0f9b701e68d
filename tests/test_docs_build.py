"""The user guide builds with ``mkdocs build --strict`` and its generated pages are current.

* ``docs/cli.md`` is what ``scripts/cli_reference.py`` renders from the commands' ``--help``
  (regenerate with ``python scripts/cli_reference.py``);
* ``mkdocs build --strict`` (every warning an error: a broken link or anchor, a page left
  out of the nav, a docstring mkdocstrings cannot parse) succeeds into a scratch
  directory, and the pages that are generated at build time (API reference, notebooks)
  hold what they should.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_up_to_date():
    reference = _load_script("cli_reference")
    text = reference.render()
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == text, (
        "docs/cli.md is out of date: run python scripts/cli_reference.py"
    )
    import typer.main

    from ntkjam.cli import app  # every command has its section, hidden ones none

    group = typer.main.get_command(app)
    for name in group.commands:
        assert f"\n## ntkjam {name}\n" in text
    assert "--out " not in text and "--t-max" not in text   # deprecated spellings stay hidden


def _warnings(log: str) -> list[str]:
    return [line.split("-", 1)[1].strip() for line in log.splitlines()
            if line.startswith(("WARNING", "ERROR"))]


def test_mkdocs_build_strict(tmp_path):
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict",
         "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    log = proc.stdout + proc.stderr
    assert (site / "index.html").exists(), log[-3000:]
    # The pages are written before a strict build aborts, so they are checked first.
    api = (site / "api" / "solvers" / "index.html").read_text(encoding="utf-8")
    assert "minimize_quadratic_hinge" in api and "lp_certificate" in api
    tutorial = (site / "tutorials" / "03_phase_diagram_sweep" / "index.html").read_text(
        encoding="utf-8")
    assert "already stored" in tutorial and "data:image/png;base64" in tutorial
    for page in (site / "tutorials").glob("*/index.html"):  # notebook links are not rewritten
        assert not re.search(r'href="[^"#]*\.(md|ipynb)"', page.read_text(encoding="utf-8")), page
    cli = (site / "cli" / "index.html").read_text(encoding="utf-8")
    assert "ntkjam phase-diagram" in cli
    warnings = _warnings(log)
    assert not warnings, "mkdocs build --strict warned:\n" + "\n".join(warnings)
    assert proc.returncode == 0, log[-3000:]
