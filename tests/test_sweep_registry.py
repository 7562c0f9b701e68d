"""The experiment registry loads only the study it is asked for, and knows every study."""

from __future__ import annotations

import ast
from pathlib import Path

from fresh_interpreter import fresh

import ntkjam.experiments as experiments
from ntkjam.sweep import registry

EXPERIMENTS_DIR = Path(experiments.__file__).parent


def _registered_in_source() -> dict[str, str]:
    """Name → module of every ``@register("name", ...)`` in the experiment modules."""
    out = {}
    for path in sorted(EXPERIMENTS_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for dec in node.decorator_list:
                if (isinstance(dec, ast.Call) and getattr(dec.func, "id", None) == "register"
                        and dec.args and isinstance(dec.args[0], ast.Constant)):
                    out[dec.args[0].value] = f"ntkjam.experiments.{path.stem}"
    return out


def test_builtin_lists_every_registered_experiment_and_its_module():
    found = _registered_in_source()
    assert found == experiments.BUILTIN
    for name, module in experiments.BUILTIN.items():
        assert registry.get(name).__module__ == module
    assert registry.names() == sorted(experiments.BUILTIN)


def test_a_worker_running_the_phase_diagram_imports_neither_jax_nor_other_studies():
    out = fresh(
        "import sys\n"
        "from ntkjam.sweep.registry import resolve\n"
        "from ntkjam.sweep.execute import execute_chunk\n"
        "from ntkjam.sweep.local_cluster import dask_client\n"
        "resolve('phase_diagram')\n"
        "others = sorted(m for m in sys.modules if m.startswith('ntkjam.experiments.') and\n"
        "                m.rsplit('.', 1)[1] in ('trained', 'fluctuations', 'generalization',\n"
        "                                        'kernel_drift', 'sphere_jamming'))\n"
        "print('jax' in sys.modules, others)\n")
    assert out == "False []"


def test_a_phase_diagram_task_of_the_main_job_runs_without_jax():
    # Random ReLU features are NumPy: a worker of the main job never imports JAX.
    out = fresh(
        "import sys\n"
        "from ntkjam.sweep.execute import execute_task\n"
        "out = execute_task('phase_diagram', {'P': 20, 'phi': 1.5}, 3)\n"
        "print(out['status'], 'jax' in sys.modules)\n")
    assert out == "done False"


def test_importing_ntkjam_turns_on_float64_whether_jax_comes_first_or_after():
    after = fresh("import ntkjam, jax.numpy as jnp; print(jnp.ones(1).dtype)")
    before = fresh("import jax.numpy as jnp, ntkjam; print(jnp.ones(1).dtype)")
    assert after == before == "float64"
