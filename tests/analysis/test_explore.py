"""The live explorer: its run-and-analysis function (companion.analysis.explore) against independent computations,
and notebook 06's widgets driven without a browser (values set on the widget objects, redraws checked)."""

import math
import re
import time
from pathlib import Path

import jupytext
import matplotlib
import numpy as np
import pytest
import scipy.optimize
import torch

from companion.analysis import explore as ex
from companion.analysis.barron import teacher_network
from companion.engine.activations import get_activation

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "06_explore.py"


@pytest.mark.parametrize(
    "change, name",
    [
        (dict(d=4), "d"),
        (dict(M=0), "M"),
        (dict(M=ex.M_MAX + 1), "M"),
        (dict(activation="sigmoid"), "activation"),
        (dict(N=0), "N"),
        (dict(lam=0.0), "lam"),
        (dict(tau=-1e-4), "tau"),
        (dict(eta=0.0), "eta"),
        (dict(horizon=1e6), "horizon"),
        (dict(seed=-1), "seed"),
        (dict(tau=float("nan")), "tau"),
    ],
)
def test_bad_parameters_are_refused_by_name(change, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        ex.check_params({**ex.DEFAULTS, **change})


def test_parameters_need_exactly_the_default_keys():
    with pytest.raises(ValueError, match=r"^params: .*missing \['seed'\].*unknown \['width'\]"):
        ex.check_params({**{k: v for k, v in ex.DEFAULTS.items() if k != "seed"}, "width": 3})
    with pytest.raises(TypeError, match=r"^params:"):
        ex.check_params([1, 2])


def test_regularised_optimum_is_the_teacher_without_weight_decay():
    target = teacher_network("erf", 2, 2)
    optimum = ex.regularised_optimum("erf", target, 0.0)
    np.testing.assert_allclose(optimum.masses, [0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(optimum.weights, target.b.numpy(), atol=1e-9)
    np.testing.assert_allclose(optimum.positions, target.U.numpy(), atol=1e-9)
    assert optimum.risk < 1e-18 and optimum.converged


def test_regularised_optimum_of_one_neuron_matches_a_quadrature_minimisation():
    """M = 1: by symmetry the optimum is one particle (a, r·u), F(a, r) = ½E(aσ(rz) − σ(z))² + (λ/2)(a² + r²) with
    z ~ N(0, 1), minimised here by Gauss–Hermite quadrature (no engine kernel) and Nelder–Mead."""
    lam = 0.05
    z, weights = np.polynomial.hermite_e.hermegauss(120)
    weights = weights / weights.sum()
    erf = get_activation("erf").fn

    def free_energy(x):
        a, r = x
        values = erf(torch.as_tensor(r * z)).numpy()
        return 0.5 * np.sum(weights * (a * values - erf(torch.as_tensor(z)).numpy()) ** 2) + 0.5 * lam * (a * a + r * r)

    reference = scipy.optimize.minimize(
        free_energy, [1.0, 1.0], method="Nelder-Mead", options=dict(xatol=1e-10, fatol=1e-14, maxiter=5000)
    )
    optimum = ex.regularised_optimum("erf", teacher_network("erf", 1, 2), lam)
    a, w = optimum.particles[0, 0], optimum.particles[0, 1:]
    np.testing.assert_allclose([a, np.linalg.norm(w)], reference.x, rtol=1e-5)
    np.testing.assert_allclose(w / np.linalg.norm(w), [1.0, 0.0], atol=1e-8)
    assert optimum.free_energy == pytest.approx(reference.fun, rel=1e-8)


@pytest.mark.parametrize("activation, depths", [("relu", (2.0, 2.0)), ("erf", (3.0, 3.0))])
def test_learning_depths_agree_with_notebook_05s_table(activation, depths):
    """Notebook 05's committed table (S = 2 atoms, d = 2): ReLU (2, 2), erf (3, 3)."""
    assert ex.learning_depths(activation, 2, 2) == depths


@pytest.fixture
def one_thread():
    """One torch thread, as the notebooks run (small particle systems: more threads only oversubscribe)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_explore_extracts_the_teachers_atoms_at_small_sizes(one_thread):
    results = ex.explore(dict(ex.DEFAULTS, N=32))
    assert results["cloud"].shape == (32, 3) and results["risk"].shape == results["times"].shape
    assert results["risk"][-1] < 0.1 * results["risk"][0]
    assert results["atoms"].count == 2 and results["optimum_match"].max_angle < 0.1
    cell = results["cell"]
    assert cell["w_star"] == 0.5 and cell["eps"] == pytest.approx(math.sqrt(2 * results["risk"][-1]))


def html_number(html, quantity):
    """The value shown for ``quantity`` in the explorer's numbers table."""
    match = re.search(rf"<td>{re.escape(quantity)}</td><td><b>([^<]*)</b></td>", html)
    assert match, f"{quantity!r} not in {html!r}"
    return match.group(1)


@pytest.fixture(scope="module")
def notebook_namespace(tmp_path_factory):
    """Notebook 06's code cells executed here in the quick profile, without a widget front-end (so its last cell
    displays nothing); figures into a temporary folder."""
    matplotlib.use("Agg")
    folder = tmp_path_factory.mktemp("figures")
    patch = pytest.MonkeyPatch()
    patch.setenv("COMPANION_FIGURES", str(folder))
    patch.setenv("COMPANION_PROGRESS", "0")
    threads = torch.get_num_threads()  # setup_notebook sets one thread; given back afterwards
    namespace = {"__name__": "notebook_06"}
    for cell in jupytext.read(NOTEBOOK).cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, str(NOTEBOOK), "exec"), namespace)
            if "parameters" in cell.metadata.get("tags", []):
                namespace["profile"] = "quick"
    yield namespace
    patch.undo()
    torch.set_num_threads(threads)


@pytest.mark.notebook
def test_explorer_widgets_redraw_when_values_are_set(notebook_namespace, capsys):
    ns = notebook_namespace
    explorer = ns["build_explorer"](ns["DEFAULTS"], ns["results"])
    controls, image, numbers = explorer["controls"], explorer["image"], explorer["numbers"]
    assert set(controls) == set(ex.DEFAULTS) and image.value and explorer["timings"] == []
    # The controls keep their column next to a shrinking picture (with the file browser open at 1280 px they used
    # to collapse to ~30 px): a fixed-width panel, a picture that may shrink, wrapping below when there is no room.
    panel, picture = explorer["box"].children
    assert panel.layout.min_width == "320px" and panel.layout.flex == "0 0 320px"
    assert picture is image and image.layout.min_width == "0" and image.layout.object_fit == "contain"
    assert explorer["box"].layout.flex_flow == "row wrap"
    assert html_number(numbers.value, "D*_var (2 atoms)") == "3"
    pictures, timings = [image.value], {}

    started = time.perf_counter()
    controls["N"].value = 64
    timings["N = 64"] = time.perf_counter() - started
    assert explorer["results"]["cloud"].shape == (64, 3) and image.value not in pictures
    pictures.append(image.value)

    started = time.perf_counter()
    controls["activation"].value = "relu"
    timings["σ = relu (new D*)"] = time.perf_counter() - started
    assert explorer["results"]["params"]["activation"] == "relu" and image.value not in pictures
    assert html_number(numbers.value, "D*_var (2 atoms)") == "2"
    pictures.append(image.value)

    started = time.perf_counter()
    controls["d"].value = 3
    timings["d = 3"] = time.perf_counter() - started
    assert explorer["results"]["cloud"].shape == (64, 4) and image.value not in pictures
    assert html_number(numbers.value, "extracted atoms") == str(explorer["results"]["atoms"].count)
    pictures.append(image.value)

    assert len(explorer["timings"]) == 3 and "updated in" in explorer["status"].value

    controls["activation"].value = "quadratic"
    before = image.value
    controls["eta"].value = 1.0  # quadratic σ at η = 1 diverges: the explorer reports it and keeps the last picture
    assert "not run" in explorer["status"].value and image.value == before
    with capsys.disabled():
        print(
            "\nexplorer seconds per update (run + draw + PNG):",
            {name: round(seconds, 2) for name, seconds in timings.items()},
        )
