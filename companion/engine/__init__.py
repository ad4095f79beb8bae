"""The engine: Hermite calculus, activations, exact Gaussian kernels, targets, initial clouds and noisy GD under μP.

Everything a researcher needs to simulate the mean-field particle system lives here; it imports nothing from
:mod:`companion.analysis` or :mod:`companion.pipeline`.
"""

from .activations import ACTIVATIONS, Activation, get_activation, hermite_activation
from .dynamics import (
    ENGINES,
    DivergenceError,
    Trajectory,
    first_variation_grad,
    function_distance2,
    function_inner,
    log_time_grid,
    network,
    population_risk,
    simulate,
    simulate_mckean_vlasov,
    split,
)
from .gradients import ENTRY_BUDGET, population_grad, target_grad
from .hermite import gauss_hermite, hermite_coefficient_slopes, hermite_coefficients, hermite_e, hermite_orthonormal
from .init import FAMILIES, init_particles
from .kernels import cross_kernel, erf_kernel, gaussian_kernel, hermite_series, norms_and_cosines, relu_kernel
from .seeding import Stream, seed_sequence, stream_id
from .spec import Problem, RunSpec, StartingLaw, problem
from .targets import Target, ridge_target, sample_data, teacher
