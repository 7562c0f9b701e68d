"""The docstring examples of the phase-diagram, drift, onset, statistics and trained
analyses run, and none is missing.

The checks and what they require are in ``tests/doc_examples.py``.
"""

from __future__ import annotations

from doc_examples import stage_tests

MODULES = (
    "ntkjam.analysis.drift_alpha",
    "ntkjam.analysis.drift_sides",
    "ntkjam.analysis.kernel_drift",
    "ntkjam.analysis.onset",
    "ntkjam.analysis.phase_diagram",
    "ntkjam.analysis.power_law",
    "ntkjam.analysis.rs_theory",
    "ntkjam.analysis.sat",
    "ntkjam.analysis.scaling",
    "ntkjam.analysis.stats",
    "ntkjam.analysis.tables",
    "ntkjam.analysis.trained",
    "ntkjam.analysis.trained_sizes",
)


test_every_public_object_has_examples, test_docstring_examples_run = stage_tests(MODULES)


def test_describe_exponent_reads_only_fits_with_a_free_exponent():
    """A limit combined from fixed-exponent fits alone says the exponent is not measured.

    ``onset_limit``'s ``free_fits`` default to its ``fits``; with the exponent fixed at ½
    those used to be read as a measurement "not determined (… interval 0.50–0.50 reaches
    the scanned range …)", which is false: the exponent was never scanned.
    """
    import numpy as np

    from ntkjam.analysis.approach import fit_approach
    from ntkjam.analysis.criticality import ObservableCurve
    from ntkjam.analysis.onset import describe_exponent, onset_limit
    from ntkjam.analysis.rs_theory import rs_comparison

    phi = np.linspace(2.1, 3.0, 10)
    y, s = 1 + 0.9 * np.sqrt(phi - 2), np.full(10, 0.01)
    curve = ObservableCurve("isostaticity", 100, phi, y, s, y, s, np.full(10, 20))
    rs = rs_comparison({"source": "relu_features", "labels": "random", "offset": "zero",
                        "margin": 1.0})
    fixed = fit_approach(curve, 2.0, window=0.05, exponent=0.5, n_boot=20)
    text = describe_exponent(onset_limit([fixed], kind="isostaticity"), rs)
    assert "no supported fit with a free" in text and "scanned range" not in text
    free = fit_approach(curve, 2.0, window=0.05, n_boot=20)
    text = describe_exponent(onset_limit([fixed], [free], kind="isostaticity"), rs)
    assert text.startswith("N_Δ/rank: exponent a = 0.5")
