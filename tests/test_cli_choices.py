"""Choices shown as choices: options with a fixed set of values show it in --help
(``<relu|erf|…>``), flags show no ``<bool>``, and the CLI's lists equal the library's."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

import ntkjam.cli
from ntkjam.cli import _choices
from ntkjam.cli.spectrum import SPECTRUM_SOURCES

CHOICES = {
    "flow": ("data", "labels", "kernel", "features", "activation", "loss", "method"),
    "kernel": ("data", "kernel", "activation"),
    "train": ("data", "labels", "activation", "parameterization", "loss", "optimizer",
              "kernel_records"),
    "spectrum": ("source", "fixed", "activation"),
}


def _help(command: str) -> dict[str, str]:
    """``--option`` → its line in ``ntkjam <command> --help`` (wide terminal)."""
    result = CliRunner().invoke(ntkjam.cli.app, [command, "--help"],
                                env={"COLUMNS": "300", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    lines = {}
    for line in result.output.splitlines():
        m = re.match(r"^\W*(--[\w-]+)", line)
        if m:
            lines[m.group(1)] = line
    return lines


def test_the_cli_lists_are_the_library_lists():
    from ntkjam.data import DATASETS
    from ntkjam.experiments.spectrum import SOURCES
    from ntkjam.kernels.activations import BUILTIN
    from ntkjam.losses import LOSS_NAMES
    from ntkjam.networks.mlp import PARAMETERIZATIONS

    assert _choices.DATASETS == tuple(DATASETS)
    assert _choices.ACTIVATIONS == tuple(BUILTIN)
    assert _choices.LOSSES == tuple(LOSS_NAMES)
    assert _choices.PARAMETERIZATIONS == tuple(PARAMETERIZATIONS)
    assert SPECTRUM_SOURCES == tuple(SOURCES)


@pytest.mark.parametrize("command", sorted(CHOICES))
def test_choices_and_flags_in_the_help(command):
    lines = _help(command)
    for name in CHOICES[command]:
        line = lines["--" + name.replace("_", "-")]
        assert re.search(r"<\w+(\|\w+)+", line) and "<str>" not in line, line
    flags = [o for o, line in lines.items() if "--no-" in line or o in ("--logx",)]
    assert all("<bool>" not in lines[o] for o in flags), [lines[o] for o in flags]


def test_sweep_flags_show_no_bool():
    lines = _help("sweep")
    assert lines  # the group's help lists its commands
    result = CliRunner().invoke(ntkjam.cli.app, ["sweep", "run", "--help"],
                                env={"COLUMNS": "300"})
    for flag in ("--retry-failed", "--dashboard", "--dry-run", "--quiet"):
        line = next(ln for ln in result.output.splitlines() if flag in ln)
        assert "<bool>" not in line, line
