"""The package's import structure: each folder is a stage of the pipeline, arrows point down.

Every ``import`` and ``from … import`` in ``ntkjam/`` — at module level and inside
functions — is parsed (no code is run).  The test fails on

* an upward edge: a module importing one of a higher stage (``STAGES`` below, the
  pipeline of docs/design.md);
* a cycle between modules (through any imports, function-level included);
* a private name (``_x``) imported from another module.

``TRANSITIONAL`` lists the upward edges that the redesign has not removed yet; each is
a known debt, and the test also fails when one of them is gone (so the list only
shrinks).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "ntkjam"

#: The pipeline, lowest stage first.  A module belongs to the first stage whose prefix
#: matches its dotted name (longest prefix wins); it may import its own stage and below.
STAGES: tuple[tuple[str, ...], ...] = (
    ("ntkjam._version", "ntkjam.core", "ntkjam._validate", "ntkjam.linalg"),
    ("ntkjam.theory",),
    ("ntkjam.data", "ntkjam.kernels"),
    # losses (per-sample functions of f) and the problem (J or K, f0, y, margin) are
    # the vocabulary of everything above: networks produce problems and train on losses
    ("ntkjam.losses", "ntkjam.problem", "ntkjam.problem_inputs"),
    ("ntkjam.networks",),
    ("ntkjam.jamming", "ntkjam.dynamics", "ntkjam.fixed_points", "ntkjam.solvers"),
    ("ntkjam.spectrum",),
    ("ntkjam.sweep",),
    ("ntkjam.experiments",),
    ("ntkjam.analysis",),
    ("ntkjam.figures", "ntkjam.plots"),
    ("ntkjam.report",),
    ("ntkjam.cli", "ntkjam.__main__"),
    ("ntkjam",),  # the package root re-exports the public API
)

#: Upward edges still to be removed by the redesign (importer, imported).
TRANSITIONAL: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def imports_of(name: str, path: Path) -> list[tuple[str, str, int]]:
    """``(imported module, imported name or "", line)`` for every ntkjam import."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, "", node.lineno) for a in node.names if a.name.startswith("ntkjam")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("ntkjam"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:
                    out.append((sub, "", node.lineno))
                else:
                    out.append((target, alias.name, node.lineno))
    return out


EDGES = {name: imports_of(name, path) for name, path in MODULES.items()}


def stage_of(name: str) -> int:
    best, stage = -1, None
    for i, prefixes in enumerate(STAGES):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, stage = len(prefix), i
    assert stage is not None, f"{name} belongs to no stage: add it to STAGES"
    return stage


def resolve(target: str) -> str:
    """The module an import refers to (an imported package means its ``__init__``)."""
    while target not in MODULES and "." in target:
        target = target.rpartition(".")[0]
    return target


def upward_edges() -> set[tuple[str, str]]:
    found = set()
    for src, edges in EDGES.items():
        for target, _, _ in edges:
            dst = resolve(target)
            if dst != src and stage_of(dst) > stage_of(src):
                found.add((src, dst))
    return found


def test_every_module_has_a_stage():
    for name in MODULES:
        stage_of(name)


def test_imports_point_down_only():
    found = upward_edges()
    new = sorted(found - TRANSITIONAL)
    assert not new, "upward imports (importer -> imported):\n" + "\n".join(
        f"  {a} -> {b}" for a, b in new)
    fixed = sorted(TRANSITIONAL - found)
    assert not fixed, "remove from TRANSITIONAL (no longer present): " + str(fixed)


def test_no_import_cycles():
    graph = defaultdict(set)
    for src, edges in EDGES.items():
        for target, _, _ in edges:
            dst = resolve(target)
            if dst != src:
                graph[src].add(dst)
    # A package's __init__ importing its own submodules is how packages re-export;
    # a submodule importing its package's __init__ back is the cycle that matters.
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(MODULES):
        if v not in index:
            visit(v)
    assert not cycles, "import cycles:\n" + "\n".join("  " + " <-> ".join(c) for c in cycles)


def test_no_private_names_across_modules():
    bad = []
    for src, edges in EDGES.items():
        for target, imported, line in edges:
            private = imported.startswith("_") and not imported.startswith("__")
            if private and resolve(target) != src:
                bad.append(f"{MODULES[src].relative_to(ROOT.parent)}:{line} imports {imported} "
                           f"from {target}")
    assert not bad, "private names imported across modules:\n" + "\n".join(bad)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_size(name):
    """No module over ~500 lines (the redesign's rule; the few left are listed)."""
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= LINE_LIMITS.get(name, 520), f"{name}: {lines} lines"


#: Modules still over the limit while the redesign splits them (only shrinks).
LINE_LIMITS: dict[str, int] = {}


def _function_lengths() -> dict[str, int]:
    """Lines of code of every function (docstring excluded), by ``module:qualname``."""
    out = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        stack = [(tree, "")]
        while stack:
            node, prefix = stack.pop()
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    qual = f"{prefix}{child.name}"
                    if not isinstance(child, ast.ClassDef):
                        body = child.body
                        doc = (body and isinstance(body[0], ast.Expr)
                               and isinstance(getattr(body[0], "value", None), ast.Constant)
                               and isinstance(body[0].value.value, str))
                        start = body[0].end_lineno + 1 if doc else child.lineno
                        out[f"{name}:{qual}"] = child.end_lineno - start + 1
                    stack.append((child, qual + "."))
    return out


#: Functions allowed over ~80 lines of code, with their size (may only shrink; each entry
#: needs a sentence in docs/design.md saying why).  None today.
FUNCTION_LIMITS: dict[str, int] = {}


def test_function_size():
    too_long = {k: v for k, v in _function_lengths().items()
                if v > FUNCTION_LIMITS.get(k, 80)}
    assert not too_long, f"functions over their limit (lines of code): {too_long}"
