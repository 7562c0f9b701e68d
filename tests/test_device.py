"""The device choice: ``ntkjam --device``, ``select_device`` and the benchmarks' device line."""

from __future__ import annotations

import ast
from pathlib import Path

import jax
import pytest
from typer.testing import CliRunner

from ntkjam.cli import app
from ntkjam.core.device import DEVICES, device_summary, select_device

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("bench_*.py"))
HAS_GPU = any(d.platform != "cpu" for d in jax.devices())


def test_cpu_is_always_available_and_summarised():
    summary = select_device("cpu")
    assert summary == device_summary()
    assert summary.startswith("cpu: ") and summary.endswith(" cores")


@pytest.mark.parametrize("bad", ["tpu", "CPU", ""])
def test_an_unknown_device_is_refused(bad):
    with pytest.raises(ValueError, match="must be one of auto, cpu, gpu"):
        select_device(bad)


@pytest.mark.skipif(HAS_GPU, reason="a GPU is visible")
def test_gpu_without_one_says_how_to_get_it_and_leaves_jax_usable():
    with pytest.raises(ValueError, match=r"ntkjam\[cuda\]"):
        select_device("gpu")
    assert float(jax.numpy.ones(3).sum()) == 3.0  # still computes, on the CPU


@pytest.mark.parametrize("value", ["tpu", "gpu"])
def test_the_cli_option_is_one_line_exit_2(value):
    if value == "gpu" and HAS_GPU:
        pytest.skip("a GPU is visible")
    result = CliRunner().invoke(app, ["--device", value, "kernel", "--help"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "--device" in lines[0]


def test_every_benchmark_takes_the_device_option_and_prints_the_device():
    assert DEVICES == ("auto", "cpu", "gpu")
    for path in BENCHMARKS:
        calls = {node.func.id for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
        assert {"add_device_option", "use_device"} <= calls, path.name
