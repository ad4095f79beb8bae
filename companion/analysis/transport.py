r"""Squared 2-Wasserstein distances: exact between particle clouds (POT's network simplex) and in closed form
between Gaussians.

Between empirical measures :math:`\frac1n\sum_i\delta_{x_i}` and :math:`\frac1m\sum_j\delta_{y_j}`,
:math:`W_2^2 = \min_{\pi} \sum_{ij}\pi_{ij}|x_i - y_j|^2` over couplings with uniform marginals (``ot.emd2``).
Between two samples of the same law in dimension D > 4 it decays only like :math:`n^{-2/D}` (Fournier–Guillin),
whatever the dynamics: a sampling floor, not a propagation-of-chaos rate.
"""

import numpy as np
import ot
import scipy.linalg

from ..engine.contract import Int, Tensor, validated
from ..engine.validation import float_array


def _cloud(name, x):
    """A checked array as a point cloud (n, D): a vector is n points on the line."""
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{name}: need a point cloud of shape (n, D) or (n,), got shape {x.shape}")
    return x


@validated(
    x=Tensor(array=True, max_abs=1e150),  # squared distances of larger entries overflow float64
    y=Tensor(array=True, max_abs=1e150),
    max_iter=Int(1, example_min=10**5),
    memory=lambda args: (8 * len(args["x"]) * len(args["y"]) * 3, "x"),
)
def w2_squared(x, y, max_iter=1_000_000):
    r"""Exact :math:`W_2^2` between the uniform empirical measures on the rows of x (n, D) and y (m, D) (a vector:
    points on the line)."""
    x, y = _cloud("x", x), _cloud("y", y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"y: dimension {y.shape[1]} does not match x's {x.shape[1]}")
    cost = ot.dist(x, y, metric="sqeuclidean")
    a = np.full(x.shape[0], 1 / x.shape[0])
    b = np.full(y.shape[0], 1 / y.shape[0])
    value, log = ot.emd2(a, b, cost, numItermax=max_iter, log=True)
    if log.get("warning"):
        raise RuntimeError(f"max_iter: the network simplex did not converge ({log['warning']}); raise max_iter")
    return float(value)


@validated(x=Tensor("R n D", array=True), y=Tensor("R m D", array=True), max_iter=Int(1, example_min=10**5))
def w2_squared_batch(x, y, max_iter=1_000_000):
    """:func:`w2_squared` for each replica of clouds x (R, n, D) and y (R, m, D): array (R,)."""
    return np.array([w2_squared(xr, yr, max_iter) for xr, yr in zip(x, y)])


def _psd_sqrt(S, name):
    S = np.atleast_2d(float_array(name, S))
    if S.ndim != 2 or S.shape[0] != S.shape[1] or not np.allclose(S, S.T):
        raise ValueError(f"{name}: need a symmetric square covariance matrix")
    values, vectors = np.linalg.eigh(S)
    if values.min() < -1e-12 * max(1.0, abs(values.max())):
        raise ValueError(f"{name}: covariance is not positive semi-definite")
    return (vectors * np.sqrt(values.clip(0))) @ vectors.T


def w2_squared_gaussian(m1, S1, m2, S2):
    r""":math:`W_2^2(N(m_1,S_1), N(m_2,S_2)) = |m_1-m_2|^2 + \mathrm{tr}(S_1 + S_2 - 2(S_2^{1/2} S_1 S_2^{1/2})^{1/2})`."""
    m1 = np.atleast_1d(float_array("m1", m1))
    m2 = np.atleast_1d(float_array("m2", m2))
    root2 = _psd_sqrt(S2, "S2")
    S1 = np.atleast_2d(np.asarray(S1, dtype=np.float64))
    _psd_sqrt(S1, "S1")
    if not (m1.shape == m2.shape == S1.shape[:1] == root2.shape[:1]):
        raise ValueError("m2: means and covariances must share one dimension")
    cross = scipy.linalg.sqrtm(root2 @ S1 @ root2).real
    return float(((m1 - m2) ** 2).sum() + np.trace(S1 + S2 - 2 * cross))
