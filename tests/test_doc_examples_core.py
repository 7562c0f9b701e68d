"""The docstring examples of stages 0–3 run, and no public object lacks one.

Issue 14 asks that every public function and class have a numpy-style docstring with
shapes and an ``Examples`` section.  For the modules below (core, validation, linear
algebra, theory, data, kernels, losses and the problem: stages 0–3 of docs/design.md)
this test

* runs every docstring example with :mod:`doctest` (``NORMALIZE_WHITESPACE |
  ELLIPSIS``), including those of the jitted and ``custom_jvp`` functions that
  :class:`doctest.DocTestFinder` does not reach through a module; any failure fails
  the test, with the doctest report;
* checks that every public object *defined* in one of these modules — the functions
  and classes (jitted ones included) named in its ``__all__`` or its package's, or,
  for a module with neither, its top-level names without a leading underscore — has
  an ``Examples`` section.

The examples print shapes, booleans, integers or values rounded far above rounding
noise, so they do not depend on the machine's BLAS or CPU.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import io

import pytest

#: The modules whose public objects must carry a runnable ``Examples`` section.
MODULES = (
    "ntkjam._validate",
    "ntkjam.core.deprecation",
    "ntkjam.core.device",
    "ntkjam.core.limits",
    "ntkjam.core.params",
    "ntkjam.core.reprs",
    "ntkjam.core.status",
    "ntkjam.core.stopping",
    "ntkjam.linalg",
    "ntkjam.theory.capacity",
    "ntkjam.theory.learning_curves",
    "ntkjam.theory.linear_ridge",
    "ntkjam.theory.random_features",
    "ntkjam.theory.replica",
    "ntkjam.data.datasets",
    "ntkjam.data.inputs",
    "ntkjam.data.labels",
    "ntkjam.kernels.activations",
    "ntkjam.kernels.analytic",
    "ntkjam.kernels.classic",
    "ntkjam.kernels.elementary",
    "ntkjam.kernels.expectations",
    "ntkjam.kernels.features",
    "ntkjam.kernels.taylor",
    "ntkjam.kernels.recursion",
    "ntkjam.kernels.strips",
    "ntkjam.losses",
    "ntkjam.problem",
)

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def _target(obj: object) -> object:
    """The function under a ``jax.jit``, ``custom_jvp`` or ``lru_cache`` wrapper."""
    if callable(obj):
        obj = inspect.unwrap(obj)
        obj = getattr(obj, "fun", obj)  # jax.custom_jvp keeps the function as .fun
    return obj


def public_objects(name: str) -> dict[str, object]:
    """The public functions and classes defined in module ``name``, by name.

    Public means named in the module's ``__all__`` or in its package's ``__all__``
    (``ntkjam.kernels`` re-exports ``activations``, which has none); a module with
    neither counts its top-level names without a leading underscore.
    """
    module = importlib.import_module(name)
    package = importlib.import_module(name.rpartition(".")[0])
    names = set(getattr(module, "__all__", ()))
    if package.__name__ != "ntkjam":
        names |= set(getattr(package, "__all__", ())) & set(vars(module))
    if not names:
        names = {n for n in vars(module) if not n.startswith("_")}
    out = {}
    for attr in sorted(names):
        obj = getattr(module, attr)
        target = _target(obj)
        if not (inspect.isfunction(target) or inspect.isclass(target)):
            continue
        if getattr(target, "__module__", None) == name:
            out[attr] = obj
    return out


def _has_examples(obj: object) -> bool:
    return "\nExamples\n--------\n" in "\n" + (inspect.getdoc(obj) or "") + "\n"


def doctests(name: str) -> list[doctest.DocTest]:
    """Every docstring example of module ``name``, those of jitted functions included."""
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    tests = {t.name: t for t in finder.find(module, name) if t.examples}
    for attr, obj in public_objects(name).items():
        qualified = f"{name}.{attr}"
        if qualified in tests:
            continue
        for test in finder.find(obj, qualified, module=False, globs=dict(vars(module))):
            if test.examples and test.name not in tests:
                tests[test.name] = test
    return [tests[k] for k in sorted(tests)]


def test_modules_cover_the_stages():
    """Every public module of stages 0–3 is listed (a new one must get examples too)."""
    import pkgutil

    listed = set(MODULES)
    for package in ("ntkjam.core", "ntkjam.theory", "ntkjam.data", "ntkjam.kernels"):
        pkg = importlib.import_module(package)
        for info in pkgutil.iter_modules(pkg.__path__):
            if not info.name.startswith("_"):
                assert f"{package}.{info.name}" in listed, f"{package}.{info.name} not checked"


@pytest.mark.parametrize("name", MODULES)
def test_every_public_object_has_examples(name):
    objects = public_objects(name)
    assert objects, f"{name} defines no public function or class: drop it from MODULES"
    missing = [attr for attr, obj in objects.items() if not _has_examples(obj)]
    assert not missing, f"{name}: no Examples section in the docstring of {missing}"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    tests = doctests(name)
    covered = {t.name.rsplit(".", 1)[-1] for t in tests}
    assert set(public_objects(name)) <= covered, f"{name}: examples not found by doctest"
    out = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in tests:
        runner.run(test, out=out.write)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} failing example(s)\n{out.getvalue()}"
