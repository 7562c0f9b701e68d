"""One vocabulary: the public names of the API and the CLI against docs/glossary.md."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
import warnings
from collections import defaultdict
from pathlib import Path

import click
import typer.main

import ntkjam

GLOSSARY = Path(__file__).resolve().parents[1] / "docs" / "glossary.md"
# "-ise" verbs (normalise, parameterised), but not the words that end so in both spellings
# (noise, premise, precise, wise, ...).
BRITISH = re.compile(
    r"(?<!m)(?<!no)(?<!wi)(?<!prec)(?<!conc)ise(s|d)?$|isation|yse$|yses$|colour|behaviour|favour"
)


def _public_modules():
    for info in pkgutil.walk_packages(ntkjam.__path__, "ntkjam."):
        parts = info.name.split(".")[1:]
        if any(p.startswith("_") for p in parts) or info.name == "ntkjam.plots":
            continue
        yield info.name


def api_names() -> dict[str, set[str]]:
    """name → the public objects using it (as a parameter, a field, or as their name)."""
    names: dict[str, set[str]] = defaultdict(set)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        modules = [importlib.import_module(m) for m in _public_modules()]
    for mod in modules:
        public = getattr(mod, "__all__", None)
        if public is None:  # no __all__: the public names defined in the module itself
            public = [a for a, o in vars(mod).items() if not a.startswith("_")
                      and getattr(o, "__module__", None) == mod.__name__]
        for attr in public:
            obj = getattr(mod, attr, None)
            where = f"{mod.__name__}.{attr}"
            if obj is None or not (inspect.isclass(obj) or callable(obj)):
                continue
            names[attr].add(where)
            if inspect.isclass(obj):
                if dataclasses.is_dataclass(obj):
                    for f in dataclasses.fields(obj):
                        names[f.name].add(where)
                for meth, member in vars(obj).items():
                    if not meth.startswith("_") and (callable(member)
                                                     or isinstance(member, property)):
                        names[meth].add(where)
            try:
                sig = inspect.signature(obj)
            except (TypeError, ValueError):
                continue
            for p in sig.parameters.values():
                if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self":
                    names[p.name].add(where)
    return names


def cli_options(*, hidden: bool = False) -> dict[str, set[str]]:
    """``--option`` → the commands that take it.

    Hidden options (the deprecated spellings of renamed options, ``ntkjam.cli._renamed``)
    are left out, or with ``hidden=True`` are the only ones collected.
    """
    out: dict[str, set[str]] = defaultdict(set)
    group = typer.main.get_command(ntkjam.cli.app)
    ctx = click.Context(group)

    def walk(cmd, path):
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), f"{path} {name}".strip())
            return
        for param in cmd.params:
            if bool(getattr(param, "hidden", False)) != hidden:
                continue
            for opt in param.opts:
                if opt.startswith("--"):
                    out[opt].add(path)

    walk(group, "")
    return out


def glossary_tables() -> tuple[set[str], list[dict[str, str]]]:
    """The terms of the term tables and the rows of the retired table."""
    text = GLOSSARY.read_text(encoding="utf-8")
    head, _, retired = text.partition("## Retired names")
    terms = set()
    for line in head.splitlines():
        if line.startswith("| `"):
            terms.update(re.findall(r"`([^`]+)`", line.split("|")[1]))
    rows = []
    for line in retired.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            rows.append({"old": cells[0].strip("`"), "new": cells[1].strip("`"),
                         "where": cells[2], "state": cells[3]})
    return terms, rows


import ntkjam.cli  # noqa: E402  (the CLI registers its commands on import)

API = api_names()
CLI = cli_options()
HIDDEN = cli_options(hidden=True)
TERMS, RETIRED = glossary_tables()


def test_the_retired_table_is_well_formed():
    assert RETIRED, "docs/glossary.md has no retired-names table"
    for row in RETIRED:
        assert row["state"] in ("renamed", "pending"), row


def test_renamed_names_survive_only_as_deprecated_aliases():
    """A renamed old name may remain only beside its new name (a deprecated keyword)."""
    for row in (r for r in RETIRED if r["state"] == "renamed"):
        old, new = row["old"], row["new"]
        targets = re.findall(r"`([^`]+)`", row["where"])
        if old.startswith("--"):
            assert old not in CLI, f"{old} is renamed to {new} but still offered by {CLI[old]}"
            continue
        for where in API.get(old, ()):
            if not any(where.endswith(t) or f".{t}" in where for t in targets):
                continue  # another row governs this use
            assert where in API.get(new, set()), (
                f"{where} still uses {old!r} without its new name {new!r}")


def test_hidden_options_are_only_deprecated_spellings():
    """A hidden option is the old spelling of a renamed row, offered where the row says."""
    renamed = {r["old"]: r for r in RETIRED if r["state"] == "renamed"}
    for opt, commands in HIDDEN.items():
        assert opt in renamed, f"hidden option {opt} ({commands}) is not a renamed old name"
        row = renamed[opt]
        allowed = set(re.findall(r"`([^`]+)`", row["where"]))
        assert commands <= allowed, f"{opt} hidden in {commands}, the row says {allowed}"
        for cmd in commands:
            assert cmd in CLI.get(row["new"], set()), f"{cmd} offers {opt} but not {row['new']}"


def test_pending_renames_are_still_there():
    """A pending row whose old name is gone must be marked renamed (or removed)."""
    for row in (r for r in RETIRED if r["state"] == "pending"):
        present = row["old"] in (CLI if row["old"].startswith("--") else API)
        assert present, f"{row['old']} no longer appears: mark the row 'renamed' ({row})"


def test_no_british_spelling_outside_the_retired_table():
    allowed = {r["old"] for r in RETIRED}
    bad = sorted(n for n in API if BRITISH.search(n) and n not in allowed)
    bad += sorted(o for o in CLI if BRITISH.search(o.lstrip("-")) and o not in allowed)
    assert not bad, f"British spellings in public names: {bad}"


def test_every_glossary_term_is_used():
    used = set(API) | {o.lstrip("-").replace("-", "_") for o in CLI}
    # Terms that name values, not parameters (verdict words, Status values).
    values = {"N", "n", "P", "phi", "d"}
    dead = sorted(t for t in TERMS if t not in used and t not in values and "<" not in t)
    assert not dead, f"glossary terms no public name uses: {dead}"


def test_core_terms_mean_one_thing():
    """The words that were used in two senses now have one each."""
    # `margins` is y∘f (Problem.margins), `deltas` κ − y∘f (HingeMinimum.deltas).
    from ntkjam.jamming import HingeMinimum
    from ntkjam.problem import Problem

    assert "margins" in dir(Problem) and "deltas" in {f.name for f in
                                                      dataclasses.fields(HingeMinimum)}
    assert "n_unsat" in {f.name for f in dataclasses.fields(HingeMinimum)}
    # `parameterization` is the network's only: no solver uses the word any more.
    assert all(w.startswith("ntkjam.networks") or w.startswith("ntkjam.cli")
               for w in API.get("parameterization", ())), API.get("parameterization")
