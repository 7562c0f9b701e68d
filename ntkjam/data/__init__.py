"""Inputs and labels: seeded, float64, with train/test splits that do not interact.

Inputs ``X`` have shape ``(N, d)`` (N = number of points); labels ``y`` have shape
``(N,)`` with values in {-1.0, +1.0}.

Input distributions
-------------------
* :func:`sphere` — uniform on the sphere of radius ``radius`` in R^d (the unit sphere
  S^{d-1} by default).  ``radius="sqrt_d"`` gives norm √d: the NTK-parameterization
  kernels of :mod:`ntkjam.kernels.analytic` see inputs through ``q0 = ‖x‖²/d``, so
  norm √d gives ``q0 = 1`` (unit-variance pre-activations), while norm 1 gives
  ``q0 = 1/d``.
* :func:`gaussian` — standard Gaussian N(0, I_d); ``‖x‖²/d → 1`` for large d.
* :func:`digits` — the 1797 scikit-learn 8×8 digit images (shipped with
  scikit-learn, no download), flattened to d = 64, centred by the mean image of the
  whole set, each row rescaled to norm ``radius`` (1 by default, ``"sqrt_d"`` → 8),
  exactly as for :func:`sphere`.

Labels
------
* :func:`random_labels` — iid ±1 with probability ½ each.
* :func:`teacher_labels` — linear teacher ``sign(β·x)``, β ~ N(0, I_d) from a seed,
  or a given β.
* :func:`callable_labels` — ``sign(fn(X))`` for any callable teacher.
* :func:`parity_labels` — digit parity: even digits (0, 2, 4, 6, 8) → +1, odd → −1.

``sign`` maps 0 to +1 everywhere (a probability-zero event for continuous inputs).

Splits
------
:func:`load_dataset` draws the training and the test set from separate random
streams derived from one ``seed`` (or an explicit ``test_seed``): the test set never
changes when ``n_train`` changes, and training sets for the same seed are nested
(the first ``n`` points of a larger draw are the smaller draw).
"""

from ntkjam.data.datasets import DATASETS, LABELS, Dataset, load_dataset
from ntkjam.data.inputs import (
    DIGITS_DIM,
    DIGITS_SIZE,
    digits,
    digits_with_classes,
    gaussian,
    resolve_radius,
    sphere,
)
from ntkjam.data.labels import (
    callable_labels,
    parity_labels,
    random_labels,
    teacher_direction,
    teacher_labels,
)

__all__ = [
    "DATASETS",
    "DIGITS_DIM",
    "DIGITS_SIZE",
    "LABELS",
    "Dataset",
    "callable_labels",
    "digits",
    "digits_with_classes",
    "gaussian",
    "load_dataset",
    "parity_labels",
    "random_labels",
    "resolve_radius",
    "sphere",
    "teacher_direction",
    "teacher_labels",
]
