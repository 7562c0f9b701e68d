"""Which accelerator JAX computes on: the ``--device`` option and the device line.

JAX picks its backend once, at the first computation; ``select_device`` must therefore
run before any array is made (the CLI calls it from the top-level callback, the
benchmarks right after parsing their arguments).  ``"auto"`` leaves JAX's own choice (a
GPU when one is visible and ``jax[cuda12]`` is installed, else the CPU), ``"cpu"`` and
``"gpu"`` insist.  Results do not depend on the device beyond rounding: all physics is
float64 on every backend.
"""

from __future__ import annotations

import os
import platform

__all__ = ["DEVICES", "device_summary", "select_device"]

#: The values of ``--device``.
DEVICES = ("auto", "cpu", "gpu")

_PLATFORMS = {"cpu": "cpu", "gpu": "cuda,rocm"}


def select_device(device: str) -> str:
    """Make JAX compute on ``device`` (``"auto"``, ``"cpu"`` or ``"gpu"``).

    Parameters
    ----------
    device : str
        One of :data:`DEVICES`.

    Returns
    -------
    str
        The device summary (:func:`device_summary`) after the choice.

    Raises
    ------
    ValueError
        ``device`` is not one of :data:`DEVICES`, or ``"gpu"`` was asked and JAX sees
        none (the message says how to install the CUDA wheels).

    Examples
    --------
    >>> select_device("cpu")  # doctest: +SKIP
    'cpu: x86_64, 2 cores'
    """
    if device not in DEVICES:
        raise ValueError(f"device = {device!r}: must be one of {', '.join(DEVICES)}")
    import jax

    if device != "auto":
        jax.config.update("jax_platforms", _PLATFORMS[device])
        try:
            platform_seen = jax.devices()[0].platform
        except RuntimeError:
            platform_seen = None
        if platform_seen is None or (device == "gpu" and platform_seen == "cpu"):
            jax.config.update("jax_platforms", None)  # leave JAX usable on its default
            raise ValueError(
                f"device = {device!r}: JAX sees no {device.upper()} (for a GPU install the "
                "CUDA wheels: pip install 'ntkjam[cuda]'; check with "
                "python -c 'import jax; print(jax.devices())')")
    return device_summary()


def device_summary() -> str:
    """One line naming the device JAX computes on, for logs and benchmark headers.

    Returns
    -------
    str
        ``"cpu: <machine>, <k> cores"`` or ``"gpu: <device kind> (<platform>), <k> devices"``.

    Examples
    --------
    >>> device_summary().split(":")[0] in {"cpu", "gpu"}
    True
    """
    import jax

    devices = jax.devices()
    first = devices[0]
    if first.platform == "cpu":
        return f"cpu: {platform.machine() or 'unknown'}, {os.cpu_count()} cores"
    kind = getattr(first, "device_kind", first.platform)
    return f"gpu: {kind} ({first.platform}), {len(devices)} device{'s' * (len(devices) > 1)}"
