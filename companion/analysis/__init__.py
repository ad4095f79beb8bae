"""Per-theorem analysis on top of the engine: w* and moments, transport and coupling, symmetries and
identifiability (with all solutions of the polynomial moment equations), Barron–Hermite sparsity and atoms, the four-term error decomposition, parametrizations.

It imports the engine, never :mod:`companion.pipeline`. The modules are the API (``from companion.analysis import
moments``); the names most scripts need are re-exported here as well. Modules load on first use, so that a script
using the coupling alone does not import pandas (decomposition, parametrizations) or POT (transport).
"""

import importlib

_SUBMODULES = (
    "atoms",
    "barron",
    "calibration",
    "coupling",
    "decomposition",
    "identifiability",
    "moment_systems",
    "moments",
    "parametrizations",
    "polynomial_systems",
    "relaxation",
    "statistics",
    "symmetry",
    "transport",
    "waring",
)
_EXPORTS = {
    "atoms": ("extract_atoms", "match_directions", "target_atoms"),
    "barron": ("atom_bound", "coefficient_threshold", "hermite_tensor_norms", "teacher_network"),
    "coupling": ("coupled_run", "coupling_error", "effective_size"),
    "identifiability": ("l2_distance2", "moment_map", "orbit_depth", "variety_depth"),
    "moments": ("estimate_w_star", "log_phi_w", "w_star_closed_form"),
    "statistics": ("bootstrap", "loglog_fit"),
    "symmetry": ("canonicalize", "matched_distance", "particles_from_atoms", "split_atom"),
    "transport": ("w2_squared",),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = [*_SUBMODULES, *_HOME]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _HOME:
        return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
