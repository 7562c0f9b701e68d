"""Spectra of Gram matrices as a function of φ = N/P, measured and predicted.

N = training points, P = parameters/features, φ = N/P (see ``docs/spectrum.md``).

* :mod:`~ntkjam.spectrum.measured` — dense eigenvalues, zero modes, gap, effective rank.
* :mod:`~ntkjam.spectrum.spectral_law` — the law type of the predictions, the check of φ.
* :mod:`~ntkjam.spectrum.random_matrix` — the Marchenko–Pastur law.
* :mod:`~ntkjam.spectrum.silverstein` — the Silverstein equation for a population covariance.
* :mod:`~ntkjam.spectrum.funk_hecke` — eigenvalues of dot-product kernels on S^{d-1}.
* :mod:`~ntkjam.spectrum.operators` — Gram operators known by their products ``K V``;
* :mod:`~ntkjam.spectrum.slq` — block stochastic Lanczos quadrature, matrix-free.
* :mod:`~ntkjam.spectrum.compare` — KS / Wasserstein distances and figures.
* the sweep task behind ``ntkjam spectrum`` is :mod:`ntkjam.experiments.spectrum`.
"""

from ntkjam.spectrum.compare import (
    compare,
    ks_distance,
    ks_two_sample,
    plot_spectra,
    wasserstein_distance,
)
from ntkjam.spectrum.funk_hecke import (
    FunkHecke,
    funk_hecke,
    harmonic_multiplicity,
    kernel_on_sphere,
    truncation_error,
)
from ntkjam.spectrum.measured import (
    SpectrumReport,
    feature_eigenvalues,
    gram_eigenvalues,
    spectrum_report,
)
from ntkjam.spectrum.operators import (
    GramOperator,
    default_strip_rows,
    dense_operator,
    feature_operator,
    jax_kernel_operator,
    kernel_operator,
)
from ntkjam.spectrum.random_matrix import (
    SpectralLaw,
    mp_atom,
    mp_density,
    mp_edges,
    mp_law,
    silverstein_law,
)
from ntkjam.spectrum.slq import SLQDensity, slq

__all__ = [
    "FunkHecke",
    "GramOperator",
    "SLQDensity",
    "SpectralLaw",
    "SpectrumReport",
    "compare",
    "default_strip_rows",
    "dense_operator",
    "feature_eigenvalues",
    "feature_operator",
    "funk_hecke",
    "gram_eigenvalues",
    "harmonic_multiplicity",
    "jax_kernel_operator",
    "kernel_on_sphere",
    "kernel_operator",
    "ks_distance",
    "ks_two_sample",
    "mp_atom",
    "mp_density",
    "mp_edges",
    "mp_law",
    "plot_spectra",
    "silverstein_law",
    "slq",
    "spectrum_report",
    "truncation_error",
    "wasserstein_distance",
]
