"""The fixed sets of values of CLI options, shown in ``--help`` as ``<a|b|c>``.

Written out here (not imported from the library) so that ``ntkjam --help`` does not
import JAX; ``tests/test_cli_choices.py`` checks that they equal the library's lists.
"""

from __future__ import annotations

DATASETS = ("sphere", "gaussian", "digits")
LABELS = ("random", "teacher")
ACTIVATIONS = ("relu", "erf", "tanh", "gelu", "softplus", "identity")
LOSSES = ("mse", "hinge", "quadratic_hinge", "logistic", "soft_hinge", "sigmoid")
PARAMETERIZATIONS = ("ntk", "standard")

__all__ = ["ACTIVATIONS", "DATASETS", "LABELS", "LOSSES", "PARAMETERIZATIONS"]
