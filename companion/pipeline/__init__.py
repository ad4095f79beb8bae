"""The notebook pipeline: paths and profiles, seeds and device, figures with provenance, the cache, claims, the
runner that executes notebooks and the report that writes the claims tables.

It imports no math module except :mod:`torch` to choose a device and dtype. Submodules load on first use, so that
``companion.pipeline.paths`` (profiles, folders) costs no torch import.
"""

import importlib

_SUBMODULES = ("cache", "claims", "device", "notebook", "paths", "provenance", "report", "runner", "style")
_EXPORTS = {"setup_notebook": "notebook", "Notebook": "notebook", "PROFILES": "paths", "resolve_device": "device"}
__all__ = [*_SUBMODULES, *_EXPORTS]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
