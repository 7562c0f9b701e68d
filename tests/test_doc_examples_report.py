"""The docstring examples of the report stage (and the sweep's integrity checks) run.

Issue 14 asks that every public function and class have a numpy-style docstring with
shapes and an ``Examples`` section.  For the modules below (the report stage of
docs/design.md, and the run directory's integrity: ``ntkjam.sweep.integrity`` with the
two modules split out of it, ``checksums`` and ``database``) this test

* runs every docstring example with :mod:`doctest` (``NORMALIZE_WHITESPACE |
  ELLIPSIS``); any failure fails the test, with the doctest report;
* checks that every public object *defined* in one of these modules — the functions
  and classes named in its ``__all__`` or its package's, or, for a module with
  neither, its top-level names without a leading underscore — has an ``Examples``
  section.

The report's examples run no study: they build a tiny Section or Report by hand, or
stand-ins holding only the analysis fields a section reads.  Also here: the answers of
sections 5 and 6 when their study measured nothing (they once read ". ." and ": .").
"""

from __future__ import annotations

import pytest
from doc_examples import check_examples_run, check_has_examples

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
)


@pytest.mark.parametrize("name", MODULES)
def test_every_public_object_has_examples(name):
    check_has_examples(name)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    check_examples_run(name)


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
