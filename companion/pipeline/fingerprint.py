"""What a cached result depends on besides its arguments: package source it can reach, and the numerical stack.

Only the two computing layers count: :data:`LAYERS` = ``companion.engine`` and ``companion.analysis``. The pipeline
(figures, report, cache, this module) and the notebooks' plotting never change a result, so editing them never
invalidates the cache; a Dask worker must still run the same pipeline source as the notebook
(:func:`runner_modules`, checked by ``tasks.execute``). A module's dependencies are its imports inside these layers, read from its source with
:mod:`ast` (relative imports resolved, imports inside functions included), closed transitively.

A module is hashed once per process, from the source file as it is when first asked for: that is the code the
process imported (Python does not reload modules), so a kernel that outlives an edit keeps keying the code it runs.
"""

import ast
import functools
import hashlib
import importlib.util
import platform
from importlib import metadata
from pathlib import Path

LAYERS = ("companion.engine", "companion.analysis")
VERSIONED_PACKAGES = ("torch", "numpy", "scipy")


def in_layers(module_name):
    """Whether ``module_name`` is one of the computing layers or a module inside them."""
    return any(module_name == layer or module_name.startswith(layer + ".") for layer in LAYERS)


def module_source(module_name):
    """The source text of the package module ``module_name`` (read from its file)."""
    spec = _spec(module_name)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise ValueError(f"module_name: {module_name!r} is not a package module with a .py source file")
    return Path(spec.origin).read_text()


@functools.cache
def module_digest(module_name):
    """SHA-256 of the source of ``module_name`` (first read in this process)."""
    return hashlib.sha256(module_source(module_name).encode()).hexdigest()


def _spec(module_name):
    """The import spec of ``module_name``, None when it is no module (e.g. a function imported from a module)."""
    try:
        return importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return None


def _is_package(module_name):
    spec = _spec(module_name)
    return spec is not None and spec.submodule_search_locations is not None


def _absolute(module_name, node):
    """The absolute module named by the ImportFrom ``node`` found in ``module_name``."""
    if not node.level:
        return node.module
    package = module_name if _is_package(module_name) else module_name.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


@functools.cache
def direct_imports(module_name):
    """The modules of :data:`LAYERS` that ``module_name``'s source imports (``from p import m`` names the
    submodule ``p.m`` when it is one, else ``p`` itself)."""
    found = set()
    for node in ast.walk(ast.parse(module_source(module_name))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module_name, node)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if in_layers(candidate) and _spec(candidate) else base)
    return frozenset(name for name in found if in_layers(name))


def reachable_modules(roots):
    """``roots`` (modules of :data:`LAYERS`) and every layer module they import, directly or not, sorted."""
    seen, stack = set(), [name for name in roots if in_layers(name)]
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(direct_imports(name) - seen)
    return sorted(seen)


def layer_modules():
    """Every module of :data:`LAYERS` (the packages and their ``.py`` files), sorted."""
    names = set()
    for layer in LAYERS:
        folder = Path(importlib.util.find_spec(layer).origin).parent
        names.add(layer)
        names.update(f"{layer}.{path.stem}" for path in folder.glob("*.py") if path.stem != "__init__")
    return sorted(names)


def runner_modules():
    """The package modules that take part in running a task on a Dask worker besides the layers it reaches: the
    package's ``__init__`` and every pipeline module (``tasks.execute`` and what it imports), sorted. A worker whose
    copy of any of them differs is refused (they do not enter the cache key: in one process they are the same)."""
    folder = Path(importlib.util.find_spec("companion.pipeline").origin).parent
    return sorted(
        {
            "companion",
            "companion.pipeline",
            *(f"companion.pipeline.{path.stem}" for path in folder.glob("*.py") if path.stem != "__init__"),
        }
    )


def source_digests(module_names):
    """``{module: SHA-256 of its source}`` for ``module_names``."""
    return {name: module_digest(name) for name in module_names}


@functools.lru_cache(maxsize=1)
def environment():
    """Versions that can change a result: Python and :data:`VERSIONED_PACKAGES`."""
    return {
        "python": platform.python_version(),
        **{package: metadata.version(package) for package in VERSIONED_PACKAGES},
    }
