"""Finite-width networks: MLPs in JAX, their empirical NTK, and weight-space training.

See ``docs/networks.md`` for the conventions (parameterizations, output scale α,
time) and what is known about the rank of the Jacobian.
"""

from ntkjam.networks.empirical_ntk import (
    empirical_ntk,
    empirical_ntk_diagonal,
    jacobian,
    ntk_vector_product,
)
from ntkjam.networks.function_space import FunctionSpaceCheck, check_function_space
from ntkjam.networks.lazy import lazy_problem
from ntkjam.networks.mlp import (
    MLP,
    apply,
    flatten_params,
    init_params,
    mlp,
    param_count,
)
from ntkjam.networks.optimizers import Optimizer, adam, apply_updates, gd, momentum
from ntkjam.networks.rank import (
    DeadInputs,
    dead_inputs,
    degrees_of_freedom,
    expected_jacobian_rank,
    jacobian_rank,
    numerical_rank,
)
from ntkjam.networks.training import (
    GD,
    Adam,
    Budget,
    GradientFlow,
    SATReached,
    TrainResult,
    Trajectory,
    UNSATConverged,
    load_trajectory,
    save_trajectory,
    train,
)

__all__ = [
    "Optimizer",
    "adam",
    "apply_updates",
    "gd",
    "momentum",
    "GD",
    "MLP",
    "Adam",
    "Budget",
    "FunctionSpaceCheck",
    "GradientFlow",
    "SATReached",
    "TrainResult",
    "Trajectory",
    "UNSATConverged",
    "check_function_space",
    "load_trajectory",
    "save_trajectory",
    "train",
    "DeadInputs",
    "apply",
    "dead_inputs",
    "degrees_of_freedom",
    "empirical_ntk",
    "empirical_ntk_diagonal",
    "expected_jacobian_rank",
    "flatten_params",
    "init_params",
    "jacobian",
    "jacobian_rank",
    "lazy_problem",
    "mlp",
    "ntk_vector_product",
    "numerical_rank",
    "param_count",
]
