"""The live explorer's widgets (notebook 06): one control per parameter, a callback that reruns the exploration,
redraws into a figure kept by the explorer and shows it as a PNG in an image widget, with a table of numbers and the
time of the update underneath. The exploration, the drawing and the numbers are passed in (the pipeline computes
none of them)."""

import io
import time

from matplotlib.figure import Figure


def controls_for(params, activations, m_max, dimensions):
    """The explorer's controls at ``params`` (activation, M, d, N, lam, tau, eta, horizon, seed), name → widget;
    sliders update on release."""
    import ipywidgets as widgets

    slider = dict(continuous_update=False, style={"description_width": "initial"})
    return dict(
        activation=widgets.Dropdown(options=activations, value=params["activation"], description="σ"),
        M=widgets.IntSlider(value=params["M"], min=1, max=m_max, description="teacher M", **slider),
        d=widgets.ToggleButtons(options=dimensions, value=params["d"], description="d"),
        N=widgets.SelectionSlider(options=[16, 32, 64, 128, 256, 512], value=params["N"], description="N", **slider),
        lam=widgets.FloatLogSlider(value=params["lam"], base=10, min=-3, max=-0.7, description="λ", **slider),
        tau=widgets.FloatLogSlider(value=params["tau"], base=10, min=-6, max=-2, description="τ", **slider),
        eta=widgets.FloatSlider(value=params["eta"], min=0.05, max=1.0, step=0.05, description="η", **slider),
        horizon=widgets.FloatSlider(
            value=params["horizon"], min=50, max=1000, step=50, description="horizon", **slider
        ),
        seed=widgets.BoundedIntText(value=params["seed"], min=0, max=10**6, description="seed"),
    )


def build_explorer(controls, run, draw, rows, refused, results=None):
    """Wire ``controls`` (name → widget) to ``run(values)`` (the values of every control → results): each change
    reruns it, ``draw(results, fig)`` redraws a kept 13 × 9 in figure shown as a PNG, ``rows(results)`` fills the
    table of (quantity, value). An exception of the types in ``refused`` leaves the last picture and says "not run"
    with its message. Drawn from ``results`` when given (no run until a control changes), else run once.
    Returns a dict: ``box`` (to display), ``controls``, ``image``, ``numbers``, ``status``, ``timings`` (seconds per
    update), ``results`` (the latest) and ``update`` (the callback)."""
    import ipywidgets as widgets

    live_fig = Figure(figsize=(13, 9))
    # Layout: the controls keep a fixed 320 px column, the picture takes the rest and shrinks with the window
    # (object-fit keeps its aspect), and below 680 px of room it wraps under the controls.
    picture = widgets.Image(
        format="png",
        layout=widgets.Layout(flex="1 1 360px", min_width="0", max_width="1040px", height="auto", object_fit="contain"),
    )
    state = dict(
        controls=controls, image=picture, numbers=widgets.HTML(), status=widgets.HTML(), timings=[], results=results
    )

    def show(res):
        draw(res, live_fig)
        buffer = io.BytesIO()
        live_fig.savefig(buffer, format="png", dpi=80, bbox_inches=None)  # a fixed frame: no second layout pass
        state["image"].value = buffer.getvalue()
        state["numbers"].value = (
            "<table>" + "".join(f"<tr><td>{q}</td><td><b>{v}</b></td></tr>" for q, v in rows(res)) + "</table>"
        )
        state["results"] = res

    def update(change=None):
        started = time.perf_counter()
        chosen = {name: widget.value for name, widget in controls.items()}
        state["status"].value = "running…"
        try:
            res = run(chosen)
        except refused as error:
            state["status"].value = f"<span style='color:#BB5566'>not run: {error}</span>"
            return
        show(res)
        seconds = time.perf_counter() - started
        state["timings"].append(seconds)
        state["status"].value = f"updated in {seconds:.2f} s"

    for widget in controls.values():
        widget.observe(update, names="value")
    if results is not None:
        show(results)
    else:
        update()
    state["update"] = update
    panel = widgets.VBox(
        list(controls.values()) + [state["status"], state["numbers"]],
        layout=widgets.Layout(flex="0 0 320px", min_width="320px", overflow="hidden"),
    )
    state["box"] = widgets.HBox(
        [panel, picture], layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start", width="100%")
    )
    return state
