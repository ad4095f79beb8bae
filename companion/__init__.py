"""Companion to "Feature Learning in Wide Neural Networks under μP": the mean-field engine and the notebook pipeline.

Three layers: :mod:`companion.engine` (activations, exact kernels, targets, initial clouds, noisy GD under μP),
:mod:`companion.analysis` (per-theorem measurements) and :mod:`companion.pipeline` (notebooks, figures, cache,
claims). The names a researcher uses in a script are re-exported here and load on first use::

    from companion import simulate, init_particles, teacher
"""

import importlib

__version__ = "0.1.0"

_API = {
    "engine": (
        "simulate",
        "init_particles",
        "teacher",
        "ridge_target",
        "sample_data",
        "get_activation",
        "gaussian_kernel",
        "function_distance2",
        "population_risk",
        "network",
        "log_time_grid",
        "DivergenceError",
        "Stream",
        "problem",
        "Problem",
        "StartingLaw",
        "RunSpec",
    ),
    "analysis": (
        "estimate_w_star",
        "w_star_closed_form",
        "coupled_run",
        "coupling_error",
        "canonicalize",
        "matched_distance",
        "extract_atoms",
        "target_atoms",
        "match_directions",
        "w2_squared",
        "bootstrap",
        "loglog_fit",
    ),
}
_HOME = {name: layer for layer, names in _API.items() for name in names}
__all__ = ["engine", "analysis", "pipeline", *_HOME]


def __getattr__(name):
    if name in ("engine", "analysis", "pipeline"):
        return importlib.import_module(f"{__name__}.{name}")
    if name in _HOME:
        return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
