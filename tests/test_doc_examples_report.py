"""The docstring examples of the report stage (and the sweep's integrity checks) run, and
none is missing.

The checks and what they require are in ``tests/doc_examples.py``.
"""

from __future__ import annotations

from doc_examples import stage_tests

MODULES = (
    "ntkjam.report.build",
    "ntkjam.report.document",
    "ntkjam.report.html",
    "ntkjam.report.markdown",
    "ntkjam.report.plots",
    "ntkjam.report.profiles",
    "ntkjam.report.provenance",
    "ntkjam.report.running",
    "ntkjam.report.sections_jamming",
    "ntkjam.report.sections_networks",
    "ntkjam.report.spectra",
    "ntkjam.report.studies",
    "ntkjam.sweep.checksums",
    "ntkjam.sweep.database",
    "ntkjam.sweep.integrity",
    "ntkjam.sweep.lock",
)


test_every_public_object_has_examples, test_docstring_examples_run = stage_tests(MODULES)


def test_sections_with_nothing_measured_say_so():
    from types import SimpleNamespace

    from ntkjam.report.sections_networks import fixed_point_section, trained_section

    fixed = fixed_point_section({"fixed_points": []}, {"fixed_points": []}).answer
    assert fixed.startswith("None found among these end points. Theory: ")
    trained = trained_section({"trained": SimpleNamespace(lazy=(), lazy_crossings=(),
                                                          curves=())}, {"trained": []}).answer
    assert "prediction: nothing measured. (Consistent" in trained
    for answer in (fixed, trained):
        assert ". ." not in answer and ": ." not in answer
