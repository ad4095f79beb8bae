"""Every public function carries a contract (``@validated``): each name of ``dir(companion)`` and each function the
notebooks call from :mod:`companion.analysis` / :mod:`companion.engine` (read from the notebooks' source, not from a
list). Classes validate at construction (``__post_init__``) or are exceptions; modules and constants are not called."""

import ast
import importlib
import inspect
import pathlib

import pytest
import torch

import companion

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[1] / "notebooks").glob("*.py"))
LAYERS = ("companion.analysis", "companion.engine")


def notebook_names():
    """{(module, name): notebook} for every name a notebook imports from, or reads as an attribute of a module of,
    companion.analysis / companion.engine."""
    found = {}
    for path in NOTEBOOKS:
        tree = ast.parse(path.read_text())
        modules = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(LAYERS):
                for alias in node.names:
                    try:  # a submodule (from companion.analysis import explore as ex)
                        modules[alias.asname or alias.name] = importlib.import_module(
                            f"{node.module}.{alias.name}"
                        ).__name__
                    except ModuleNotFoundError:
                        found.setdefault((node.module, alias.name), path.stem)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith(LAYERS):
                        modules[alias.asname or alias.name] = alias.name
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
                found.setdefault((modules[node.value.id], node.attr), path.stem)
    return found


def uncovered(obj):
    """Why ``obj`` breaks the rule, or None: a function without ``contract``; a class that neither is an exception
    nor validates at construction."""
    if inspect.isfunction(obj):
        return None if hasattr(obj, "contract") else "function without @validated"
    if inspect.isclass(obj):
        if issubclass(obj, Exception) or "__post_init__" in vars(obj):
            return None
        return "class that does not validate at construction"
    return None  # a module or a constant


def test_the_scan_reads_the_notebooks():
    names = notebook_names()
    assert len(NOTEBOOKS) >= 8 and len(names) > 50
    assert ("companion.analysis.decomposition", "simulate_chain") in names  # a from-import
    assert ("companion.analysis.calibration", "calibration_study") in names  # an attribute of an imported module


def test_every_function_the_notebooks_call_carries_a_contract():
    missing = []
    for (module, name), notebook in sorted(notebook_names().items()):
        why = uncovered(getattr(importlib.import_module(module), name))
        if why:
            missing.append(f"{module}.{name} ({notebook}): {why}")
    assert not missing, "\n".join(missing)


def test_every_public_name_of_the_package_carries_a_contract():
    missing = [f"companion.{name}: {why}" for name in dir(companion) if (why := uncovered(getattr(companion, name)))]
    assert not missing, "\n".join(missing)


def test_the_rule_fails_on_a_function_without_a_contract():
    def bare(x):
        return x

    assert uncovered(bare) == "function without @validated"
    assert uncovered(companion.simulate) is None
    assert uncovered(torch.nn.Module) == "class that does not validate at construction"


@pytest.mark.parametrize("name", ["Problem", "RunSpec", "StartingLaw", "Stream"])
def test_the_value_classes_refuse_a_bad_field_by_name(name):
    cls = getattr(companion, name)
    bad = {
        "Problem": lambda: cls("erf"),
        "RunSpec": lambda: cls(0.1, -1, 0.0, 0.0, "population", None, (0,), companion.Stream(0, "x")),
        "StartingLaw": lambda: cls(family="nope"),
        "Stream": lambda: cls(-1, "x"),
    }[name]
    field = {"Problem": "activation", "RunSpec": "steps", "StartingLaw": "family", "Stream": "seed"}[name]
    with pytest.raises((TypeError, ValueError), match=f"^{field}"):
        bad()
