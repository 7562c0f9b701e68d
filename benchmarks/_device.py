"""The ``--device`` option every benchmark takes, and the device line it prints.

``use_device`` also exports the choice as ``JAX_PLATFORMS`` so that the child processes
some benchmarks start (one per thread count or peer) compute on the same device.
"""

from __future__ import annotations

import argparse
import os

from ntkjam.core.device import DEVICES, select_device

_ENV = {"cpu": "cpu", "gpu": "cuda,rocm"}


def add_device_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--device auto|cpu|gpu`` (default auto: JAX's own choice)."""
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="where JAX computes (auto: a GPU when JAX sees one)")


def use_device(device: str) -> str:
    """Select ``device`` before any computation; return the line to print."""
    if device != "auto":
        os.environ["JAX_PLATFORMS"] = _ENV[device]
    try:
        summary = select_device(device)
    except ValueError as exc:
        raise SystemExit(f"error: --device {exc}") from exc
    return f"device: {summary}"
