"""Function-space dynamics: gradient flow and gradient descent of the outputs through a kernel.

The training outputs f (N,) move by

    ḟ = −η K_t ∇_f L(f)                  (gradient flow, time t)
    f_{k+1} = f_k − η K_k ∇_f L(f_k)      (gradient descent, step k)

with L(f) = (1/N) Σ_i ℓ(f_i, y_i) (see :mod:`ntkjam.losses`), so ∇_f L = ℓ'(f)/N, and
test outputs move with the cross kernel, ḟ_test = −η K_t(X_test, X) ∇_f L(f).

Kernel sources (exactly one of ``kernel=`` / ``features=``):

* ``kernel=K``, a fixed Gram matrix (N, N) (symmetric, PSD);
* ``features=J``, fixed features (N, P) with K = J Jᵀ.  When P ≤ N the Gram matrix
  is never formed: products are ``J (Jᵀ v)``;
* ``kernel=callable`` t ↦ K_t (N, N), or ``kernel=KernelPath(...)`` (checkpoints,
  linearly interpolated): a moving kernel.

With a fixed kernel the reachable set is the affine space f₀ + range(K).  The flow
is integrated in the coordinates w of that space, f = f₀ + J w with J J ᵀ = K (J the
user's features, or ``psd_features(K)``), where it is the gradient flow of
G(w) = η L(f₀ + J w): it cannot leave f₀ + range(K).  Steps are exponential
(Rosenbrock–Euler) steps with the Hessian M = η Jᵀ diag(ℓ''/N) J frozen at an anchor
point, w ← w − h φ₁(−hM) ∇G, which are *exact* for MSE and for the quadratic hinge
as long as no margin crosses zero.  A step is accepted only if the outputs changed
little (max |Δf_i| ≤ ``max_df``) and the new gradient is close to the one the
frozen linear model predicted (relative error ≤ ``rtol``); the step grows after a
success and shrinks after a rejection.  Crossing a hinge kink, or a Hessian that
changed, shows up as a mismatch, so kinks are resolved automatically; on a
rejection the frozen Hessian is refreshed when it is stale and enough steps have
been taken to pay for the eigendecomposition.  Time t is the true flow time.

The plain hinge (piecewise linear) is integrated exactly, event by event: its flow
follows the minimal-norm subgradient, which is constant between two margins reaching
zero; points on a kink slide along it (Filippov) with the subgradient that a bounded
least-squares problem selects.

Moving kernels are integrated in f-space by Heun (explicit trapezoidal) steps under
the same controller, whose error measure is the change of velocity over the Euler
predictor.
"""

from ntkjam.dynamics.controller import Controller
from ntkjam.dynamics.descent import gradient_descent
from ntkjam.dynamics.flow import gradient_flow
from ntkjam.dynamics.mse import ExactMSE, mse_exact
from ntkjam.dynamics.records import FlowResult
from ntkjam.dynamics.sources import KernelPath, resolve_source
from ntkjam.dynamics.stopping import STATUSES, StoppingRules

__all__ = [
    "STATUSES",
    "Controller",
    "ExactMSE",
    "FlowResult",
    "KernelPath",
    "StoppingRules",
    "gradient_descent",
    "gradient_flow",
    "mse_exact",
    "resolve_source",
]
