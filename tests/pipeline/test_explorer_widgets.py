"""The explorer's widgets, driven without a browser: a change reruns, redraws and fills the table; a refused run keeps
the last picture and says why."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from companion.pipeline import explorer_widgets  # noqa: E402

pytest.importorskip("ipywidgets")

PARAMS = dict(activation="erf", M=2, d=2, N=32, lam=0.02, tau=1e-4, eta=0.4, horizon=200.0, seed=0)


def fake_run(chosen):
    if chosen["eta"] > 0.9:
        raise ValueError("eta: diverges")
    return dict(params=chosen)


def fake_draw(results, fig):
    fig.clear()
    fig.add_subplot().plot([0, results["params"]["N"]], [0, 1])


def fake_rows(results):
    return [("width N", results["params"]["N"])]


def test_controls_carry_the_parameters():
    controls = explorer_widgets.controls_for(PARAMS, ("erf", "relu"), 4, (2, 3))
    assert {name: widget.value for name, widget in controls.items()} == PARAMS
    assert controls["M"].max == 4 and controls["d"].options == (2, 3)


def test_a_change_reruns_and_a_refused_run_keeps_the_picture():
    controls = explorer_widgets.controls_for(PARAMS, ("erf", "relu"), 4, (2, 3))
    explorer = explorer_widgets.build_explorer(controls, fake_run, fake_draw, fake_rows, refused=(ValueError,))
    assert explorer["results"]["params"] == PARAMS and explorer["image"].value and len(explorer["timings"]) == 1
    first = explorer["image"].value
    controls["N"].value = 64
    assert explorer["results"]["params"]["N"] == 64 and "<b>64</b>" in explorer["numbers"].value
    assert explorer["image"].value != first and "updated in" in explorer["status"].value
    shown = explorer["image"].value
    controls["eta"].value = 1.0
    assert "not run: eta: diverges" in explorer["status"].value and explorer["image"].value == shown
    assert explorer["box"].children[0].layout.min_width == "320px"


def test_given_results_are_drawn_without_a_run():
    calls = []
    controls = explorer_widgets.controls_for(PARAMS, ("erf",), 4, (2, 3))
    explorer = explorer_widgets.build_explorer(
        controls,
        lambda chosen: calls.append(chosen),
        fake_draw,
        fake_rows,
        refused=(ValueError,),
        results=dict(params=PARAMS),
    )
    assert calls == [] and explorer["timings"] == [] and explorer["image"].value
