"""Per-theorem analysis on top of the engine: w* and moments, transport and coupling, symmetries and
identifiability, Barron–Hermite sparsity and atoms, the four-term error decomposition, parametrizations.

It imports the engine, never :mod:`companion.pipeline`. The modules are the API (``from companion.analysis import
moments``); the names most scripts need are re-exported here as well.
"""
from . import (atoms, barron, calibration, coupling, decomposition, identifiability, moments, parametrizations, statistics,
               symmetry, transport)
from .atoms import extract_atoms, match_directions
from .barron import atom_bound, coefficient_threshold, hermite_tensor_norms, teacher_network
from .coupling import coupled_run, coupling_error, effective_size
from .identifiability import l2_distance2, moment_map, orbit_depth, variety_depth
from .moments import estimate_w_star, log_phi_w, w_star_closed_form
from .statistics import bootstrap, loglog_fit
from .symmetry import canonicalize, matched_distance, particles_from_atoms, split_atom
from .transport import w2_squared
