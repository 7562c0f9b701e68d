"""The progress bar of a sweep run: done/total, failures, elapsed, ETA, where tasks run.

:func:`ntkjam.sweep.run` shows it on stderr with ``progress=True``; the placement of the
tasks (:mod:`ntkjam.sweep.placement`) tells it where they run and prints its decisions
above it.  Disabled, it keeps only the last ``where`` and draws nothing.
"""

from __future__ import annotations

__all__ = ["ProgressBar"]


class ProgressBar:
    """Rich progress bar on stderr: done/total, failures, elapsed, ETA, where tasks run.

    Parameters
    ----------
    enabled : bool
        Draw the bar (False: nothing is drawn or imported, only :attr:`where` is kept).
    total : int
        Tasks of the sweep.
    completed : int
        Tasks already stored when the run starts.
    label : str
        The text at the left of the bar.

    Attributes
    ----------
    where : str
        The last text given to :meth:`show`.

    Examples
    --------
    >>> from ntkjam.sweep.progress import ProgressBar
    >>> with ProgressBar(False, total=3, completed=1, label="demo") as bar:
    ...     bar.show("in-process")
    ...     bar.advance(failed=0)
    >>> bar.where
    'in-process'
    """

    def __init__(self, enabled: bool, total: int, completed: int, label: str):
        self._bar = None
        self.where = ""
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.table import Column

        def keep(width: int) -> Column:  # never shortened: a narrow line cuts the others
            return Column(min_width=width, no_wrap=True)

        def cut() -> Column:
            return Column(ratio=1, no_wrap=True, overflow="ellipsis")

        self._bar = Progress(
            TextColumn("[bold]{task.description}", table_column=cut()),
            BarColumn(bar_width=None, table_column=Column(ratio=1)),
            MofNCompleteColumn(table_column=keep(2 * len(str(total)) + 1)),
            TextColumn("[red]{task.fields[failed]} failed", table_column=keep(8)),
            TextColumn("elapsed", table_column=keep(7)),
            TimeElapsedColumn(table_column=keep(7)),
            TextColumn("ETA", table_column=keep(3)),
            TimeRemainingColumn(table_column=keep(7)),
            TextColumn("{task.fields[where]}", table_column=cut()),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._bar.add_task(label, total=total, completed=completed, failed=0,
                                        where="")

    def __enter__(self) -> ProgressBar:
        if self._bar is not None:
            self._bar.start()
        return self

    def advance(self, failed: int) -> None:
        """One more task stored; ``failed`` is the number of failures so far.

        Examples
        --------
        >>> from ntkjam.sweep.progress import ProgressBar
        >>> ProgressBar(False, total=3, completed=0, label="demo").advance(failed=1)
        """
        if self._bar is not None:
            self._bar.update(self._task, advance=1, failed=failed)

    def show(self, where: str) -> None:
        """Where the tasks run now (``in-process``, ``1 + 1 workers, chunks of 40``).

        Examples
        --------
        >>> from ntkjam.sweep.progress import ProgressBar
        >>> bar = ProgressBar(False, total=3, completed=0, label="demo")
        >>> bar.show("2 Dask workers, chunks of 4")
        >>> bar.where
        '2 Dask workers, chunks of 4'
        """
        self.where = where
        if self._bar is not None:
            self._bar.update(self._task, where=where)

    def say(self, text: str) -> None:
        """Print a line above the bar (nothing when the bar is disabled).

        Examples
        --------
        >>> from ntkjam.sweep.progress import ProgressBar
        >>> ProgressBar(False, total=3, completed=0, label="demo").say("not shown")
        """
        if self._bar is not None:
            self._bar.console.print(text, highlight=False)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

