"""A second process that draws figures beside this one (commands run with ``--workers k > 1``).

Drawing the main job's three figures takes 1.4 s in one process, after the sweep and the
analysis, while the other cores are idle.  :func:`figure_helper` spawns one process as
soon as the sweep is done; it imports matplotlib and the figure module while this
process analyses the store, and then draws the largest figure while this process draws
the others (:func:`ntkjam.figures.phase_diagram.save_figures` with ``helper=``).  The
files are the same: the same function draws them from the same (pickled) analysis.
"""

from __future__ import annotations

import importlib
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ntkjam.core.processes import spawn_pool

__all__ = ["figure_helper", "result_or_none"]


def figure_helper(module: str) -> ProcessPoolExecutor:
    """One spawned process, importing ``module`` (and with it matplotlib) from now on.

    Parameters
    ----------
    module : str
        The module whose functions it will run, e.g. ``"ntkjam.figures.phase_diagram"``.

    Returns
    -------
    concurrent.futures.ProcessPoolExecutor
        Of one process; :func:`ntkjam.core.processes.stop_pool` it when done (its
        interpreter's own teardown would cost 0.16 s at the command's exit).

    Examples
    --------
    >>> from ntkjam.core.processes import stop_pool
    >>> from ntkjam.figures.helper import figure_helper
    >>> helper = figure_helper("ntkjam.figures.common")
    >>> helper.submit(divmod, 7, 2).result()
    (3, 1)
    >>> stop_pool(helper)
    """
    helper = spawn_pool(1)
    helper.submit(importlib.import_module, module)
    return helper


def result_or_none(future: Future) -> Any:
    """The result of ``future``, or None when the helper process died before giving it.

    The caller then does the work itself; an error the work raised is raised here.

    Examples
    --------
    >>> from concurrent.futures import Future
    >>> from concurrent.futures.process import BrokenProcessPool
    >>> done, lost = Future(), Future()
    >>> done.set_result(3); lost.set_exception(BrokenProcessPool("killed"))
    >>> result_or_none(done), result_or_none(lost)
    (3, None)
    """
    try:
        return future.result()
    except BrokenProcessPool:
        return None
