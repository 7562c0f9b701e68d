"""Packages whose names load on first use (ntkjam.core.lazy) export what they did eagerly."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from fresh_interpreter import fresh

LAZY = ("ntkjam.kernels", "ntkjam.figures")


@pytest.mark.parametrize("package", LAZY)
def test_every_name_resolves_to_the_object_its_module_defines(package):
    pkg = importlib.import_module(package)
    for name, module in pkg._WHERE.items():
        value = getattr(pkg, name)
        assert value is getattr(importlib.import_module(f"{package}.{module}"), name)
        assert name in dir(pkg) and name in pkg.__all__


@pytest.mark.parametrize("package", LAZY)
def test_no_name_is_also_a_submodule(package):
    # Importing a submodule binds its name on the package: a lazy name equal to a
    # submodule's would then resolve to the module, not to the function.
    pkg = importlib.import_module(package)
    submodules = {info.name for info in pkgutil.iter_modules(pkg.__path__)}
    assert not submodules & set(pkg._WHERE)


@pytest.mark.parametrize("package", LAZY)
def test_an_unknown_name_is_an_attribute_error(package):
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = importlib.import_module(package).nope


def test_the_numpy_feature_maps_and_the_diagram_figures_import_no_jax():
    out = fresh("import sys\nimport ntkjam.kernels.features\n"
                 "from ntkjam.figures import save_figures\n"
                 "print('jax' in sys.modules, 'ntkjam.spectrum' in sys.modules)")
    assert out == "False False"


def test_a_lazy_name_imports_its_module_on_first_use():
    out = fresh("import sys\nfrom ntkjam.kernels import ntk\n"
                 "print(ntk.__module__, 'jax' in sys.modules)")
    assert out == "ntkjam.kernels.analytic True"
