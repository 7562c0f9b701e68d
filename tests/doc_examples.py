"""Shared checks behind the ``test_doc_examples_*`` files (issue 14).

Issue 14 asks that every public function and class have a numpy-style docstring with
shapes and an ``Examples`` section.  Each ``test_doc_examples_<stage>.py`` lists the
modules of its stages and calls :func:`check_has_examples` and :func:`check_examples_run`
on each, which

* check that every public object *defined* in the module — the functions and classes
  (jitted ones included) named in its ``__all__`` or its package's, or, for a module
  with neither, its top-level names without a leading underscore — has an ``Examples``
  section;
* run every docstring example with :mod:`doctest` (``NORMALIZE_WHITESPACE |
  ELLIPSIS``), including those of the jitted and ``custom_jvp`` functions that
  :class:`doctest.DocTestFinder` does not reach through a module; any failure fails the
  test, with the doctest report.

The examples print shapes, booleans, integers or values rounded far above rounding
noise, so they do not depend on the machine's BLAS or CPU.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import io
import os
import tempfile

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


def has_examples(obj: object) -> bool:
    """Whether the docstring of ``obj`` has a numpy-style ``Examples`` section."""
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


def public_methods(cls: type) -> dict[str, object]:
    """The public methods and properties a class defines itself, by name.

    Functions, class and static methods and properties in the class body whose name
    has no leading underscore; inherited ones are checked on the class defining them.
    Each is returned as ``getattr(cls, name)`` (a property as itself), whose docstring
    :func:`inspect.getdoc` inherits from a base class when an override has none.
    """
    out = {}
    for attr, value in vars(cls).items():
        if attr.startswith("_"):
            continue
        if isinstance(value, property):
            out[attr] = value
        elif inspect.isfunction(getattr(value, "__func__", value)):
            out[attr] = getattr(cls, attr)
    return out


def check_has_examples(name: str) -> None:
    """Fail unless every public object of module ``name``, and every public method of
    its public classes, has an ``Examples`` section."""
    objects = public_objects(name)
    assert objects, f"{name} defines no public function or class: drop it from MODULES"
    missing = [attr for attr, obj in objects.items() if not has_examples(obj)]
    for attr, obj in objects.items():
        if inspect.isclass(obj):
            missing += [f"{attr}.{m}" for m, meth in public_methods(obj).items()
                        if not has_examples(meth)]
    assert not missing, f"{name}: no Examples section in the docstring of {missing}"


def check_examples_run(name: str) -> None:
    """Run every docstring example of module ``name`` in a scratch directory.

    The working directory is a fresh temporary one, so an example that writes a file
    (a store, a figure) leaves nothing behind in the checkout.
    """
    tests = doctests(name)
    covered = {t.name.rsplit(".", 1)[-1] for t in tests}
    assert set(public_objects(name)) <= covered, f"{name}: examples not found by doctest"
    out = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        try:
            for test in tests:
                runner.run(test, out=out.write)
        finally:
            os.chdir(here)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} failing example(s)\n{out.getvalue()}"


def stage_tests(modules: tuple[str, ...]):
    """The two parametrized tests of one ``test_doc_examples_<stage>.py`` file.

    Returns ``(test_every_public_object_has_examples, test_docstring_examples_run)``,
    to be bound under those names at the test module's top level.
    """
    import pytest

    @pytest.mark.parametrize("name", modules)
    def test_every_public_object_has_examples(name):
        check_has_examples(name)

    @pytest.mark.parametrize("name", modules)
    def test_docstring_examples_run(name):
        check_examples_run(name)

    return test_every_public_object_has_examples, test_docstring_examples_run
