"""The pipeline pieces: profiles and seeds, figures with provenance, the cache, claims, the report, the runner."""

import base64
import json
import math
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import __version__
from companion.engine.seeding import Stream
from companion.pipeline import cache, claims, provenance, report
from companion.pipeline.notebook import PROFILES, setup_notebook


def line_figure(nb, stem="line", n=3):
    fig, ax = plt.subplots()
    ax.plot(range(n))
    path = nb.save_figure(fig, stem, data=pd.DataFrame({"x": range(n)}), caption=f"{n} points.", params={"n": n})
    plt.close(fig)
    return path


# --- profiles, seeds, device ---------------------------------------------------------------------------------


def test_setup_validates_its_parameters():
    with pytest.raises(ValueError, match="profile"):
        setup_notebook("00_x", profile="fast")
    with pytest.raises(ValueError, match="seed"):
        setup_notebook("00_x", seed=-1)
    with pytest.raises(ValueError, match="name"):
        setup_notebook("00 x/é")
    with pytest.raises(ValueError, match="dtype"):
        setup_notebook("00_x", dtype="float16")


@pytest.mark.parametrize("profile", PROFILES)
def test_pick_follows_the_profile(profile):
    nb = setup_notebook("00_x", profile=profile, device="cpu")
    assert nb.pick(quick="q", standard="s", paper="p") == profile[0]


def test_cpu_defaults_to_float64_and_dtype_can_be_chosen():
    assert setup_notebook("00_x", device="cpu").dtype == torch.float64
    assert setup_notebook("00_x", device="cpu", dtype="float32").dtype == torch.float32


def test_streams_are_reproducible_and_independent():
    nb = setup_notebook("00_x", seed=7, device="cpu")
    first = torch.randn(5, generator=nb.stream("a").generator(), dtype=nb.dtype)
    assert not torch.equal(first, torch.randn(5, generator=nb.stream("b").generator(), dtype=nb.dtype))
    assert torch.equal(first, torch.randn(5, generator=Stream(7, "a").generator(), dtype=nb.dtype))
    other_seed = setup_notebook("00_x", seed=8, device="cpu")
    assert not torch.equal(first, torch.randn(5, generator=other_seed.stream("a").generator(), dtype=nb.dtype))
    with pytest.raises(ValueError, match="seed"):
        setup_notebook("00_x", seed=-1, device="cpu")


# --- figures with provenance ---------------------------------------------------------------------------------


def test_save_figure_writes_png_pdf_csv_and_metadata(isolated_outputs):
    nb = setup_notebook("00_x", profile="quick", seed=3, device="cpu")
    json_path = line_figure(nb)
    folder = isolated_outputs / "figures" / "00_x"
    assert json_path == folder / "line.json"
    for suffix in ("png", "pdf", "csv", "json"):
        assert (folder / f"line.{suffix}").stat().st_size > 0
    assert pd.read_csv(folder / "line.csv")["x"].tolist() == [0, 1, 2]
    record = json.loads(json_path.read_text())
    assert record["notebook"] == "00_x" and record["profile"] == "quick" and record["seed"] == 3
    assert record["parameters"] == {"n": 3} and record["caption"] == "3 points."
    assert record["device"] == "cpu" and record["dtype"] == "float64" and record["wall_time_s"] >= 0
    assert {"torch", "numpy", "POT", "seaborn", "matplotlib", "python"} <= set(record["packages"])
    assert record["packages"]["companion"] == __version__
    assert "git_revision" in record and "git_dirty" in record


@pytest.mark.parametrize("stem", ["", "a/b", "figure é", "-lead", "x" * 101, "a.b"])
def test_figure_stems_must_be_plain_ascii(stem):
    nb = setup_notebook("00_x", device="cpu")
    with pytest.raises(ValueError, match="stem"):
        line_figure(nb, stem=stem)


def test_save_figure_needs_a_dataframe_and_a_caption():
    nb = setup_notebook("00_x", device="cpu")
    fig = plt.figure()
    with pytest.raises(ValueError, match="data"):
        nb.save_figure(fig, "f", data=[1, 2], caption="c")
    with pytest.raises(ValueError, match="caption"):
        nb.save_figure(fig, "f", data=pd.DataFrame({"x": [1]}), caption=" ")
    with pytest.raises(ValueError, match="params"):
        nb.save_figure(fig, "f", data=pd.DataFrame({"x": [1]}), caption="c", params={"f": object()})
    plt.close(fig)


# --- cache ---------------------------------------------------------------------------------------------------


class Counter:
    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        return self.value


def entries(directory):
    return sorted(directory.glob("*.npz"))


def test_cache_computes_once_per_key(tmp_path):
    compute = Counter(np.arange(4.0))
    for _ in range(2):
        np.testing.assert_array_equal(cache.cached({"n": 4, "lr": 0.1}, compute, tmp_path), np.arange(4.0))
    assert compute.calls == 1
    cache.cached({"lr": 0.1, "n": 4}, compute, tmp_path)  # same key, other order
    assert compute.calls == 1
    cache.cached({"n": 5, "lr": 0.1}, compute, tmp_path)
    assert compute.calls == 2 and len(entries(tmp_path)) == 2


def test_cache_key_includes_the_package(tmp_path, monkeypatch):
    compute = Counter(1)
    cache.cached({"n": 1}, compute, tmp_path)
    monkeypatch.setattr(cache, "package_fingerprint", lambda: "another version")
    cache.cached({"n": 1}, compute, tmp_path)
    assert compute.calls == 2


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "empty"])
def test_corrupt_cache_entry_is_detected_and_recomputed(tmp_path, damage):
    cache.cached({"n": 1}, Counter({"a": torch.ones(3)}), tmp_path)
    (path,) = entries(tmp_path)
    blob = path.read_bytes()
    damaged = {
        "flip": blob[:-5] + bytes([blob[-5] ^ 0xFF]) + blob[-4:],
        "truncate": blob[: len(blob) // 2],
        "garbage": b"not a cache entry",
        "empty": b"",
    }[damage]
    path.write_bytes(damaged)
    compute = Counter({"a": torch.zeros(3)})
    with pytest.warns(RuntimeWarning, match="recomputing"):
        value = cache.cached({"n": 1}, compute, tmp_path)
    assert compute.calls == 1 and torch.equal(value["a"], torch.zeros(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert torch.equal(cache.cached({"n": 1}, Counter(None), tmp_path)["a"], torch.zeros(3))


def test_interrupted_write_keeps_the_old_entry_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    cache.cached({"n": 1}, Counter("old"), tmp_path)
    (path,) = entries(tmp_path)
    canonical = cache.canonical_key({"n": 1})

    def interrupted(source, destination):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cache.store_entry(path, canonical, "new")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == [path]
    assert cache.load_entry(path, canonical) == "old"


def test_failed_computation_stores_nothing(tmp_path):
    def fail():
        raise RuntimeError("diverged")

    with pytest.raises(RuntimeError):
        cache.cached({"n": 1}, fail, tmp_path)
    assert not tmp_path.exists() or not list(tmp_path.iterdir())


PAYLOAD = "import pathlib; pathlib.Path({marker!r}).write_text('ran')"


class Exploit:
    """Unpickling this runs PAYLOAD (writes the marker file)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return exec, (PAYLOAD.format(marker=self.marker),)


def planted_entries(canonical, marker):
    """Crafted files at the entry's path: a raw pickle, and entries whose key is right but which hide a pickle in
    an object array, in an extra member, or in a compressed member."""
    import io
    import pickle
    import zipfile

    def archive(members, compression=zipfile.ZIP_STORED):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression) as handle:
            for name, data in members.items():
                handle.writestr(name, data)
        return buffer.getvalue()

    payload = pickle.dumps(Exploit(str(marker)))
    object_array = io.BytesIO()
    np.save(object_array, np.array([Exploit(str(marker))], dtype=object), allow_pickle=True)
    value = json.dumps({"format": cache.FORMAT, "value": {"ndarray": 0}})
    return {
        "raw pickle": payload,
        "object array": archive({"key.json": canonical, "value.json": value, "a0.npy": object_array.getvalue()}),
        "pickle member": archive(
            {"key.json": canonical, "value.json": value, "a0.npy": object_array.getvalue(), "payload.pkl": payload}
        ),
        "compressed": archive({"key.json": canonical, "value.json": value}, zipfile.ZIP_DEFLATED),
        "foreign class": archive(
            {
                "key.json": canonical,
                "value.json": json.dumps({"format": cache.FORMAT, "value": {"dataclass": "os:system", "fields": {}}}),
            }
        ),
    }


@pytest.mark.parametrize("kind", ["raw pickle", "object array", "pickle member", "compressed", "foreign class"])
def test_a_crafted_entry_never_runs_code_and_is_reported(tmp_path, kind):
    marker = tmp_path / "ran"
    canonical = cache.canonical_key({"n": 1})
    path = cache.entry_path(tmp_path / "cache", canonical)
    path.parent.mkdir()
    path.write_bytes(planted_entries(canonical, marker)[kind])
    compute = Counter(np.arange(3.0))
    with pytest.warns(RuntimeWarning, match="is unusable"):
        value = cache.cached({"n": 1}, compute, tmp_path / "cache")
    assert not marker.exists() and compute.calls == 1 and np.array_equal(value, np.arange(3.0))
    assert cache.load_entry(path, canonical).tolist() == [0.0, 1.0, 2.0]  # replaced by the recomputed value


def test_a_legacy_pickle_entry_is_never_read_and_counts_as_stale(tmp_path):
    import pickle

    marker = tmp_path / "ran"
    canonical = cache.canonical_key({"n": 1})
    folder = tmp_path / "cache" / "00_x"
    legacy = cache.entry_path(folder, canonical).with_suffix(".pkl")
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(pickle.dumps(Exploit(str(marker))))
    compute = Counter(1)
    cache.cached({"n": 1}, compute, folder)
    assert compute.calls == 1 and not marker.exists()
    (tmp_path / "nbs").mkdir()
    (tmp_path / "nbs" / "00_x.py").write_text("")
    assert cache.survey(tmp_path / "cache", tmp_path / "nbs")[1] == sorted(folder.glob("*.*"))


def test_the_key_is_checked_before_the_value_is_decoded(tmp_path, monkeypatch):
    canonical = cache.canonical_key({"n": 1})
    path = cache.entry_path(tmp_path, canonical)
    cache.store_entry(path, cache.canonical_key({"n": 2}), "the value of another key")
    monkeypatch.setattr(cache, "decode", lambda *args: pytest.fail("decoded before the key was checked"))
    with pytest.raises(cache.CorruptEntry, match="stored key differs"):
        cache.load_entry(path, canonical)


def test_values_round_trip_as_data_and_unknown_types_are_refused(tmp_path):
    import pandas as pd

    from companion.engine.activations import get_activation
    from companion.engine.dynamics import Trajectory

    frame = pd.DataFrame({"width": [8, 16], "label": ["a", "b"], "error": [0.5, float("nan")]}).set_index("label")
    trajectory = Trajectory(
        steps=np.arange(3),
        times=np.arange(3.0),
        particles=torch.ones(1, 2, 3),
        risk=np.zeros(3),
        final=torch.zeros(1, 2, 3),
        params={"eta": 0.1},
    )
    value = {
        "t": torch.arange(6.0).reshape(2, 3)[:, 1:],
        "b16": torch.ones(2, dtype=torch.bfloat16),
        "scalars": [1, 2.5, float("inf"), np.float32(0.25), np.int64(7), True, None, "x", (1, 2)],
        "frame": frame,
        "series": frame["width"],
        3: torch.float32,
        "device": torch.device("cpu"),
        "trajectory": trajectory,
        "activation": get_activation("erf"),
    }
    assert cache.dumps("k", value) == cache.dumps("k", value)  # equal values, equal bytes
    path = tmp_path / "e.npz"
    cache.store_entry(path, "k", value)
    back = cache.load_entry(path, "k")
    assert torch.equal(back["t"], value["t"]) and back["b16"].dtype == torch.bfloat16
    assert back["scalars"][:3] == [1, 2.5, float("inf")] and type(back["scalars"][3]) is np.float32
    assert back["scalars"][4:] == [7, True, None, "x", (1, 2)] and type(back["scalars"][4]) is np.int64
    assert back["frame"].equals(frame) and back["frame"].index.name == "label" and back["series"].equals(frame["width"])
    assert back[3] is torch.float32 and back["device"] == torch.device("cpu")
    assert isinstance(back["trajectory"], Trajectory) and torch.equal(back["trajectory"].final, trajectory.final)
    assert back["activation"] is get_activation("erf")  # rebuilt by name, functions included
    assert np.load(path, allow_pickle=False)["a0"].shape == (2, 2)  # a plain .npz
    for bad, where in (
        (object(), "value: a result of type builtins.object"),
        ({"a": [1, {2}]}, r"value\['a'\]\[1\]"),
        (np.array([None]), "object"),
    ):
        with pytest.raises(TypeError, match=where):
            cache.dumps("k", bad)


def test_cache_rejects_keys_without_a_canonical_form(tmp_path):
    with pytest.raises(ValueError, match="key"):
        cache.cached({"f": object()}, Counter(1), tmp_path)
    with pytest.raises(ValueError, match="key"):
        cache.cached({}, Counter(1), tmp_path)
    with pytest.raises(ValueError, match="compute"):
        cache.cached({"n": 1}, 3, tmp_path)


# --- claims --------------------------------------------------------------------------------------------------


@settings(deadline=None)
@given(
    value=st.floats(allow_nan=False, allow_infinity=False, width=32),
    lo=st.one_of(st.none(), st.floats(-10, 10)),
    hi=st.one_of(st.none(), st.floats(10, 20)),
)
def test_claim_passes_exactly_inside_its_range(value, lo, hi):
    if lo is None and hi is None:
        return
    record = claims.check_claim("00_x", "c", value, lo, hi, "f", "check")
    assert record["passed"] == ((lo is None or value >= lo) and (hi is None or value <= hi))


def test_claim_validation_and_nan():
    assert not claims.check_claim("00_x", "c", math.nan, 0, 1, "f", "check")["passed"]
    assert claims.check_claim("00_x", "c", torch.tensor(0.5), 0, 1, "f", "check")["value"] == 0.5
    with pytest.raises(ValueError, match="hi"):
        claims.check_claim("00_x", "c", 1, 2, 1, "f", "check")
    with pytest.raises(ValueError, match="lo"):
        claims.check_claim("00_x", "c", 1, None, None, "f", "check")
    with pytest.raises(ValueError, match="value"):
        claims.check_claim("00_x", "c", "big", 0, 1, "f", "check")
    with pytest.raises(ValueError, match="claim"):
        claims.check_claim("00_x", "", 1, 0, 1, "f", "check")


def test_a_claim_needs_its_prediction_and_a_check_has_none():
    record = claims.check_claim("00_x", "slope", -1.0, -1.2, -0.8, "f", "claim", "slope -1 (Theorem 1)")
    assert (record["kind"], record["prediction"]) == ("claim", "slope -1 (Theorem 1)")
    for missing in (None, " "):
        with pytest.raises(ValueError, match="^prediction: a claim needs"):
            claims.check_claim("00_x", "slope", -1.0, -1.2, -0.8, "f", "claim", missing)
    with pytest.raises(ValueError, match="^prediction: a check"):
        claims.check_claim("00_x", "Parseval", 0.0, None, 1e-12, "f", "check", "zero")
    with pytest.raises(ValueError, match="^kind: expected one of"):
        claims.check_claim("00_x", "slope", -1.0, -1.2, -0.8, "f", "evidence", "x")


def test_finish_records_failures_and_returns_without_raising(isolated_outputs, capsys):
    nb = setup_notebook("00_x", profile="quick", device="cpu")
    line_figure(nb)
    nb.claim("slope is -1", -1.02, -1.2, -0.8, "line", prediction="a test prediction")
    nb.claim("error is small", 0.5, None, 1e-3, "line", prediction="a test prediction")
    nb.claim(
        "error is small", 0.5, None, 1e-3, "line", prediction="a test prediction"
    )  # a re-run cell replaces, not duplicates
    capsys.readouterr()
    table = nb.finish()  # a failed claim is a result: no exception
    printed = capsys.readouterr().out
    assert "FAILED claim: error is small: 0.5 (expected <= 0.001)" in printed and "FAILED claim: slope" not in printed
    assert "00_x: claims: 1 pass, 1 fail; checks: 0 pass, 0 fail (profile quick)" in printed
    assert table["result"].tolist() == ["pass", "FAIL"]
    written = claims.read_claims(isolated_outputs / "figures" / "00_x" / "claims.json")
    assert [(r["claim"], r["passed"], r["profile"]) for r in written] == [
        ("slope is -1", True, "quick"),
        ("error is small", False, "quick"),
    ]


def test_finish_returns_the_table_and_checks_figure_names(isolated_outputs):
    nb = setup_notebook("00_x", device="cpu")
    line_figure(nb)
    nb.claim("ok", 1, 0, 2, "line", prediction="a test prediction")
    table = nb.finish()
    assert table["result"].tolist() == ["pass"]
    nb.claim("ghost", 1, 0, 2, "missing_figure", prediction="a test prediction")
    with pytest.raises(ValueError, match="missing_figure"):
        nb.finish()


def write_notebook_claims(root, notebook, values):
    records = [claims.check_claim(notebook, f"claim {i}", v, 0, 1, "line", "check") for i, v in enumerate(values)]
    return claims.write_claims(root / notebook / "claims.json", records)


def test_merge_orders_by_notebook_and_refuses_duplicates(tmp_path):
    paths = [write_notebook_claims(tmp_path, "02_b", [0.5]), write_notebook_claims(tmp_path, "01_a", [0.1, 2])]
    merged = claims.merge_claims(paths)
    assert [(r["notebook"], r["claim"]) for r in merged] == [
        ("01_a", "claim 0"),
        ("01_a", "claim 1"),
        ("02_b", "claim 0"),
    ]
    copy = tmp_path / "copy.json"
    copy.write_text(paths[0].read_text())
    with pytest.raises(ValueError, match="02_b"):
        claims.merge_claims([paths[0], copy])


def test_tables_show_every_claim_and_the_count():
    records = [
        claims.check_claim("01_a", "a | b", 0.5, 0, 1, "fig", "check"),
        claims.check_claim("01_a", "tail", 3.0, None, 1, "fig", "claim", "at most 1 (a bound)"),
    ]
    text = claims.render_text(records)
    assert "a | b" in text and "FAIL" in text and "<= 1" in text and "at most 1 (a bound)" in text
    assert text.index("tail") < text.index("a | b")  # claims before checks
    assert text.endswith("claims: 0 pass, 1 fail; checks: 1 pass, 0 fail (profile not recorded)")
    markdown = claims.render_markdown(records, ("result", "claim"))
    assert "a \\| b" in markdown and markdown.count("\n") == 3 and markdown.startswith("| result | claim |")
    records[0]["profile"], records[1]["profile"] = "quick", "standard"
    assert claims.summary(records) == "claims: 0 pass, 1 fail; checks: 1 pass, 0 fail (profile quick, standard)"
    assert claims.render_markdown(records[:1], ("profile", "result")).endswith("| quick | pass |")
    assert claims.counts(records) == {"claim": {"passed": 0, "failed": 1}, "check": {"passed": 1, "failed": 0}}


# --- report --------------------------------------------------------------------------------------------------


def test_report_merges_claims_and_lists_every_figure_with_its_claims(isolated_outputs, capsys):
    for name in ("01_a", "00_b"):
        nb = setup_notebook(name, device="cpu")
        line_figure(nb, "first")
        line_figure(nb, "second", n=4)
        nb.claim(f"{name} holds", 0.5, 0, 1, "second", prediction="a test prediction")
        nb.finish()
    root = isolated_outputs / "figures"
    assert report.main([]) == 0
    printed = capsys.readouterr().out
    assert "00_b holds" in printed and "claims: 2 pass, 0 fail; checks: 0 pass, 0 fail (profile standard)" in printed
    merged = json.loads((root / "claims.json").read_text())
    assert [r["notebook"] for r in merged["claims"]] == ["00_b", "01_a"] and merged["failed"] == 0
    readme = (root / "README.md").read_text()
    assert readme.index("## 00_b") < readme.index("## 01_a")
    assert readme.index("01_a/first.png") < readme.index("01_a/second.png") < readme.index("01_a holds")
    assert "4 points." in readme and "No claim or check rests on this figure." in readme
    assert "| kind | claim | prediction | value | expected | result | profile |" in readme
    assert "| claim | 01_a holds | a test prediction |" in readme


def test_report_fails_when_a_claim_fails(isolated_outputs):
    write_notebook_claims(isolated_outputs / "figures", "03_c", [5.0, 0.5])
    assert report.main([]) == report.CLAIMS_FAILED_STATUS == 3
    readme = (isolated_outputs / "figures" / "README.md").read_text()
    assert "claims: 0 pass, 0 fail; checks: 1 pass, 1 fail (profile not recorded)" in readme
    assert "Failed claims and checks:" in readme and "| 03_c | check | claim 0 |  | 5 | [0, 1] | FAIL |" in readme


# --- tables, animations, figure metadata ---------------------------------------------------------------------


def test_figure_record_keeps_legend_and_axes_labels(isolated_outputs):
    nb = setup_notebook("00_x", profile="quick", device="cpu")
    fig, ax = plt.subplots()
    ax.plot([0, 1], label="$N = 8$")
    ax.set(xlabel="$t$", ylabel="risk")
    ax.legend()
    record = json.loads(
        nb.save_figure(fig, "legend", data=pd.DataFrame({"series": ["$N = 8$"]}), caption="One line.").read_text()
    )
    plt.close(fig)
    assert record["kind"] == "figure" and record["legend"] == ["$N = 8$"]
    assert record["axes"] == [{"title": "", "xlabel": "$t$", "ylabel": "risk"}]


def test_tables_are_written_as_csv_and_markdown_and_shown_in_the_report(isolated_outputs):
    nb = setup_notebook("00_x", profile="quick", device="cpu")
    table = pd.DataFrame({"activation": ["erf", "a|b"], "w*": [0.5, 1 / 3]})
    nb.save_table(table, "cell", caption="The learning cell.")
    folder = isolated_outputs / "figures" / "00_x"
    assert (folder / "cell.md").read_text() == ("| activation | w* |\n|---|---|\n| erf | 0.5 |\n| a\\|b | 0.3333 |\n")
    assert pd.read_csv(folder / "cell.csv")["w*"].tolist() == [0.5, 1 / 3]  # full precision in the CSV
    nb.finish()
    report.main([])
    readme = (isolated_outputs / "figures" / "README.md").read_text()
    assert "| erf | 0.5 |" in readme and "[Markdown](00_x/cell.md)" in readme
    with pytest.raises(ValueError, match="^table: a saved table needs at least one row"):
        nb.save_table(table.iloc[:0], "empty", caption="Nothing.")


def test_animations_are_gifs_under_the_size_limit(isolated_outputs):
    from matplotlib.animation import FuncAnimation

    nb = setup_notebook("00_x", profile="quick", device="cpu")
    fig, ax = plt.subplots(figsize=(2, 2))
    (line,) = ax.plot([0, 1], [0, 0])
    animation = FuncAnimation(fig, lambda frame: line.set_ydata([0, frame]), frames=3)
    shown = nb.save_animation(animation, "moving", data=pd.DataFrame({"frame": range(3)}), caption="It moves.")
    plt.close(fig)
    gif = isolated_outputs / "figures" / "00_x" / "moving.gif"
    assert gif.read_bytes()[:6] == b"GIF89a"
    assert base64.b64encode(gif.read_bytes()).decode() in shown.data and 'alt="It moves."' in shown.data
    record = json.loads(gif.with_suffix(".json").read_text())
    assert record["kind"] == "animation" and record["files"]["gif"] == "moving.gif"
    nb.finish()
    report.main([])
    assert "![moving](00_x/moving.gif)" in (isolated_outputs / "figures" / "README.md").read_text()
    with pytest.raises(ValueError, match="^animation: expected a matplotlib.animation.Animation"):
        nb.save_animation(fig, "still", data=pd.DataFrame({"frame": [0]}), caption="Not an animation.")
    exported = exported_html(shown)
    assert f"data:image/gif;base64,{base64.b64encode(gif.read_bytes()).decode()}" in exported
    assert "IPython.core.display" not in exported
    with pytest.raises(ValueError, match="not a GIF"):
        provenance.inline_gif(gif.with_suffix(".csv"), alt="data")


def exported_html(shown):
    """``jupyter nbconvert --to html`` of a notebook whose one cell displayed ``shown`` (the output a kernel
    records: the object's display formats)."""
    import nbformat
    from IPython.core.formatters import DisplayFormatter
    from nbconvert import HTMLExporter

    data, metadata = DisplayFormatter().format(shown)
    cell = nbformat.v4.new_code_cell(
        "shown", execution_count=1, outputs=[nbformat.v4.new_output("display_data", data=data, metadata=metadata)]
    )
    body, _ = HTMLExporter().from_notebook_node(nbformat.v4.new_notebook(cells=[cell]))
    return body


def test_an_image_gif_output_is_what_nbconvert_drops():
    """Why :func:`provenance.inline_gif`: nbconvert's HTML shows an ``image/gif`` output as its text repr."""
    from IPython.display import Image

    body = exported_html(Image(data=b"GIF89a" + bytes(20), format="gif"))
    assert "IPython.core.display.Image object" in body and "data:image/gif" not in body


def test_a_claim_with_a_smoke_window_is_a_check_in_quick_only(isolated_outputs):
    for profile, kind in (("quick", "check"), ("standard", "claim")):
        nb = setup_notebook("00_x", profile=profile, device="cpu")
        record = nb.claim("slope", -0.7, -1.1, -0.9, "line", prediction="-1 (theory)", smoke=(-1.5, -0.5))
        assert record["kind"] == kind and record["passed"] == (profile == "quick")
        assert record["claim"].startswith("quick smoke run, not a claim: ") == (profile == "quick")
    with pytest.raises(ValueError, match="^smoke: expected a"):
        setup_notebook("00_x", profile="quick", device="cpu").claim("s", 1, 0, 2, "line", prediction="1", smoke=3)
