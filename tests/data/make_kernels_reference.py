"""Write kernels_reference.npz: Grams of the NumPy implementation of ntkjam.kernels.

Run with the tree of commit f3e0378 (the implementation the JAX one replaced) first on
the path::

    mkdir /tmp/old && git archive f3e0378 | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old .venv/bin/python tests/data/make_kernels_reference.py out.npz
"""

import math
import sys

import numpy as np

from ntkjam.kernels import nngp_and_ntk


def points(n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[3] = X[2] + 1e-7 * rng.standard_normal(d)   # near-duplicate
    X[4] = -X[1] + 1e-7 * rng.standard_normal(d)  # near-antipode
    X[5] = X[0]                                   # exact duplicate
    X[6] = 2.5 * X[0]                             # collinear, other norm
    X[7] *= 1e-3                                  # tiny norm
    return X


X = points(12, 6, 11)
Y = np.vstack([X[[2, 5, 1]], np.random.default_rng(12).standard_normal((3, 6))])
out = {"X": X, "Y": Y}
cases = []
for act, methods in [("relu", ["auto", "quadrature"]), ("erf", ["auto", "quadrature"]),
                     ("identity", ["auto"]), ("tanh", ["auto"]), ("gelu", ["auto"])]:
    for method in methods:
        for depth in (0, 1, 2, 3):
            if method == "quadrature" and depth == 0:
                continue
            for sw, sb in ((math.sqrt(2.0), 0.0), (1.3, 0.4)):
                if act in ("tanh", "gelu") and depth == 0:
                    continue
                for sym in (True, False):
                    i = len(cases)
                    K0, K = nngp_and_ntk(X, None if sym else Y, depth=depth, activation=act,
                                         sigma_w=sw, sigma_b=sb, method=method)
                    out[f"c{i}_nngp"], out[f"c{i}_ntk"] = K0, K
                    cases.append((act, method, depth, sw, sb, sym))
out["cases"] = np.array([f"{a}|{m}|{d}|{sw!r}|{sb!r}|{int(s)}" for a, m, d, sw, sb, s in cases])
np.savez_compressed(sys.argv[1], **out)
print(len(cases), "cases")
