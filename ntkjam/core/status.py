"""The words a solver ends with: one vocabulary for dynamics, training and jamming.

``Status`` is how a run stopped; ``Verdict`` is what it says about the problem.  Both
are ``StrEnum``: a member equals its string (``Status.SAT == "sat"``), so stored
results, JSON and old code that compare with strings keep working.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """How an iterative solver stopped.

    Members
    -------
    SAT
        Every margin is met (N_Δ = 0 at the explicit tolerance).
    UNSAT
        Stationary at a positive loss with the UNSAT rule of the solver satisfied.
    CONVERGED
        The stationarity test passed (e.g. ‖K∇L‖ ≤ grad_tol); the verdict says more.
    BUDGET
        The step or time budget ran out first (undecided).
    NAN
        The loss or the outputs stopped being finite (a step beyond stability).

    Examples
    --------
    >>> from ntkjam.core import Status
    >>> Status.SAT == "sat", Status("budget") is Status.BUDGET
    (True, True)
    """

    SAT = "sat"
    UNSAT = "unsat"
    CONVERGED = "converged"
    BUDGET = "budget"
    NAN = "nan"


class Verdict(StrEnum):
    """What a result says about the problem: SAT, UNSAT, or why it cannot say.

    Examples
    --------
    >>> from ntkjam.core import Verdict
    >>> Verdict("unsat") is Verdict.UNSAT, [v.value for v in Verdict][:2]
    (True, ['sat', 'unsat'])
    """

    SAT = "sat"
    UNSAT = "unsat"
    UNKNOWN = "unknown"  # an exact solver whose certificate did not check out
    UNDECIDED = "undecided"  # a dynamics run that stopped before deciding
    DIVERGED = "diverged"


#: Old spellings still accepted when reading results written before the vocabulary
#: was unified (one release): ``"max_steps"`` was the training loop's ``"budget"``.
STATUS_ALIASES = {"max_steps": Status.BUDGET}


def as_status(value: object) -> Status:
    """The :class:`Status` of a string, accepting the old aliases.

    Parameters
    ----------
    value : object
        A status string (or member); ``"max_steps"`` is read as ``"budget"``.

    Returns
    -------
    Status

    Raises
    ------
    ValueError
        ``value`` is no status, naming the allowed ones.

    Examples
    --------
    >>> from ntkjam.core import Status, as_status
    >>> as_status("max_steps") is Status.BUDGET, as_status("sat") is Status.SAT
    (True, True)
    """
    text = str(value)
    if text in STATUS_ALIASES:
        return STATUS_ALIASES[text]
    try:
        return Status(text)
    except ValueError:
        allowed = ", ".join(s.value for s in Status)
        raise ValueError(f"status must be one of {allowed}, got {value!r}") from None


__all__ = ["STATUS_ALIASES", "Status", "Verdict", "as_status"]
