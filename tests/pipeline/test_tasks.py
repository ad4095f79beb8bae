"""Tasks: derived keys (what invalidates an entry and what does not), the hidden-state check, nb.map in-process,
run manifests and the stale-entry cleaning. The Dask tests and the notebook-00 reproduction: test_tasks_dask.py."""

import importlib.util
import json
import textwrap

import numpy as np
import pytest
import torch

from companion.pipeline import cache, fingerprint, tasks
from companion.pipeline.notebook import setup_notebook

CPU = torch.device("cpu")

# A notebook as a module: a task, a helper it calls and a "plotting cell" it does not reach.
NOTEBOOK_SOURCE = """
import numpy as np
import torch
from companion.engine.dynamics import simulate
from companion.engine.init import init_particles

WIDTH = 8


def scale_of(d):
    return 1 / np.sqrt(d)


def train(N, steps, X, y, seed, dtype):
    theta0 = init_particles("gaussian", 2, N, X.shape[1], scale=scale_of(X.shape[1]),
                            rng=np.random.default_rng(seed), dtype=dtype, device="cpu")
    return simulate(theta0, "erf", eta=0.1, steps=steps, engine="empirical", data=(X, y)).particles


def draw(N):
    return torch.arange(N)


def plot(ax):
    ax.plot([1, 2, 3])
"""


def load_notebook(folder, source=NOTEBOOK_SOURCE, name="cell_module"):
    """Import ``source`` from ``folder/<name>.py`` as a fresh module named ``name`` (a re-executed notebook)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fresh_digests():
    """Module digests are cached per process; clear them around a test that fakes edited sources."""
    fingerprint.module_digest.cache_clear()
    fingerprint.direct_imports.cache_clear()
    yield
    fingerprint.module_digest.cache_clear()
    fingerprint.direct_imports.cache_clear()


def data(n=16, d=3):
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(n, d, generator=generator, dtype=torch.float64)
    return X, torch.tanh(X[:, 0])


def call(**changes):
    X, y = data()
    return {"N": 8, "steps": 5, "X": X, "y": y, "seed": 1, "dtype": torch.float64, **changes}


def key(fn, kwargs, dtype=torch.float64, device=CPU):
    return tasks.task_key(fn, kwargs, dtype=dtype, device=device)


# --- what the key depends on ---------------------------------------------------------------------------------


def test_key_is_stable_and_changes_with_every_argument(tmp_path):
    module = load_notebook(tmp_path / "a")
    base = key(module.train, call())
    assert key(module.train, call()) == base
    X, y = data()
    changed = [
        call(N=16),
        call(steps=6),
        call(seed=2),
        call(seed=1.0),
        call(dtype=torch.float32),
        call(X=X + 1e-12),
        call(X=X.float()),
        call(X=X.reshape(3, 16)),
        call(y=y.clone().index_fill_(0, torch.tensor([3]), 0.5)),
    ]
    keys = [key(module.train, kwargs) for kwargs in changed]
    assert base not in keys and len(set(keys)) == len(keys)


def test_key_depends_on_dtype_device_default_dtype_and_versions(tmp_path, monkeypatch):
    module = load_notebook(tmp_path / "a")
    base = key(module.train, call())
    assert key(module.train, call(), dtype=torch.float32) != base
    assert key(module.train, call(), device=torch.device("cuda")) != base
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32 if previous == torch.float64 else torch.float64)
    try:
        assert key(module.train, call()) != base
    finally:
        torch.set_default_dtype(previous)
    monkeypatch.setattr(fingerprint, "environment", lambda: {"torch": "another", "numpy": "2", "scipy": "1"})
    assert key(module.train, call()) != base


def test_equal_arrays_give_equal_keys_and_arrays_are_keyed_by_bytes():
    expanded = torch.ones(1, dtype=torch.float64).expand(1)  # stride 0, "contiguous"
    assert tasks.canonical_value(expanded, "x") == tasks.canonical_value(torch.ones(1, dtype=torch.float64), "x")
    first = tasks.canonical_value(np.arange(6.0).reshape(2, 3), "x")
    assert first == tasks.canonical_value(np.arange(6.0).reshape(2, 3).copy(order="F"), "x")
    assert first != tasks.canonical_value(np.arange(6.0).reshape(3, 2), "x")
    assert first != tasks.canonical_value(np.arange(6.0, dtype=np.float32).reshape(2, 3), "x")
    assert tasks.canonical_value((1, 2), "x") != tasks.canonical_value([1, 2], "x")
    assert tasks.canonical_value(1, "x") != tasks.canonical_value(1.0, "x") != tasks.canonical_value(True, "x")
    assert tasks.canonical_value(torch.tensor(0.1 + 0.2, dtype=torch.float64), "x") != tasks.canonical_value(
        torch.tensor(0.3, dtype=torch.float64), "x"
    )


def test_targets_and_activations_are_task_arguments_keyed_by_what_determines_them():
    from companion.engine import get_activation, teacher

    one = tasks.canonical_value(teacher("erf", [1.0, 1.0], torch.eye(3)[:2]), "target")
    assert one == tasks.canonical_value(teacher("erf", [1.0, 1.0], torch.eye(3)[:2].clone()), "target")
    assert one != tasks.canonical_value(teacher("relu", [1.0, 1.0], torch.eye(3)[:2]), "target")
    assert one != tasks.canonical_value(teacher("erf", [1.0, 0.5], torch.eye(3)[:2]), "target")
    assert tasks.canonical_value(get_activation("he3"), "a") != tasks.canonical_value(get_activation("he4"), "a")
    with pytest.raises(TypeError, match="^target: a task argument"):
        tasks.canonical_value(object(), "target")


def test_editing_the_task_or_a_helper_it_calls_invalidates_editing_other_cells_does_not(tmp_path):
    base = key(load_notebook(tmp_path / "a").train, call())
    plotting_edited = NOTEBOOK_SOURCE.replace("ax.plot([1, 2, 3])", "ax.plot([3, 2, 1], 'k--')") + "\nZ = 1\n"
    assert key(load_notebook(tmp_path / "b", plotting_edited).train, call()) == base
    task_edited = NOTEBOOK_SOURCE.replace('"erf", eta=0.1', '"erf", eta=0.2')
    assert key(load_notebook(tmp_path / "c", task_edited).train, call()) != base
    helper_edited = NOTEBOOK_SOURCE.replace("return 1 / np.sqrt(d)", "return 2 / np.sqrt(d)")
    assert key(load_notebook(tmp_path / "d", helper_edited).train, call()) != base


def test_editing_a_reached_engine_module_invalidates_a_pipeline_module_does_not(tmp_path, monkeypatch, fresh_digests):
    module = load_notebook(tmp_path / "a")
    base, unreached, legacy = key(module.train, call()), key(module.draw, {"N": 3}), cache.package_fingerprint()
    assert tasks.check_pure(module.train)[1] == fingerprint.reachable_modules(
        ["companion.engine.dynamics", "companion.engine.init"]
    )
    assert "companion.engine.kernels" in tasks.check_pure(module.train)[1]  # dynamics imports kernels
    original = fingerprint.module_source

    def edited(*names):
        def source(name):
            return original(name) + ("\n# edited\n" if name in names else "")

        return source

    monkeypatch.setattr(
        fingerprint,
        "module_source",
        edited("companion.pipeline.report", "companion.pipeline.cache", "companion.pipeline.notebook"),
    )
    fingerprint.module_digest.cache_clear()
    assert key(module.train, call()) == base and cache.package_fingerprint() == legacy
    monkeypatch.setattr(fingerprint, "module_source", edited("companion.engine.kernels"))
    fingerprint.module_digest.cache_clear()
    assert key(module.train, call()) != base
    assert key(module.draw, {"N": 3}) == unreached  # draw reaches no package module
    assert cache.package_fingerprint() != legacy  # cache.cached keys see engine edits too


def test_layer_function_as_task_is_keyed_by_its_module(fresh_digests, monkeypatch):
    from companion.analysis.parametrizations import coordinate_check

    sources, modules = tasks.check_pure(coordinate_check)
    assert sources == {} and "companion.analysis.parametrizations" in modules
    assert "companion.pipeline.notebook" not in modules


def test_reachability_follows_relative_intra_package_imports():
    reached = fingerprint.reachable_modules(["companion.analysis.coupling"])
    assert {
        "companion.analysis.coupling",
        "companion.engine.dynamics",
        "companion.engine.kernels",
        "companion.engine.activations",
        "companion.engine.hermite",
    } <= set(reached)
    assert not any(name.startswith("companion.pipeline") for name in reached)
    assert set(fingerprint.reachable_modules(["companion.engine"])) >= {
        "companion.engine.init",
        "companion.engine.targets",
    }


# --- hidden state --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, names",
    [
        ("return N * STEPS", "STEPS"),
        ("return [x * SCALE for x in range(N)]", "SCALE"),  # inside a comprehension's own code object
        ("return N + target(N)", "target"),
        ("return N + Thing().value", "Thing"),
    ],
)
def test_a_task_reading_notebook_data_raises_before_it_runs(tmp_path, body, names):
    source = f"""
import numpy as np
STEPS, SCALE = 3, 2.0
class Thing:
    value = 1
class Callable:
    def __call__(self, n):
        return n
target = Callable()

def task(N):
    {body}
"""
    module = load_notebook(tmp_path, source)
    with pytest.raises(tasks.HiddenStateError, match=rf"cell_module\.task reads the global\(s\) \['{names}'\]"):
        tasks.run_tasks(module.task, [{"N": 1}], directory=tmp_path / "c", dtype=torch.float64, device=CPU)
    assert not (tmp_path / "c").exists()


def test_closures_lambdas_global_writes_and_bad_arguments_are_rejected(tmp_path):
    module = load_notebook(
        tmp_path,
        """
COUNT = 0
def counting(N):
    global COUNT
    COUNT += 1
    return N
def task(N, scale=1.0):
    return N * scale
""",
    )
    with pytest.raises(tasks.HiddenStateError, match="writes the globals"):
        tasks.check_pure(module.counting)
    with pytest.raises(TypeError, match="module-level function"):
        tasks.check_pure(lambda N: N)

    def nested(N):
        return N

    with pytest.raises(TypeError, match="module-level function"):
        tasks.check_pure(nested)
    with pytest.raises(TypeError, match=r"cell_module\.task\(M=1\)"):
        key(module.task, {"M": 1})
    with pytest.raises(TypeError, match="scale: a task argument must be a plain value"):
        key(module.task, {"N": 1, "scale": object()})
    assert key(module.task, {"N": 1}) == key(module.task, {"N": 1, "scale": 1.0})  # defaults are keyed


# --- nb.map in-process, manifests, stale entries -------------------------------------------------------------


def test_map_computes_each_missing_task_once_and_a_rerun_comes_from_the_cache(isolated_outputs, capsys):
    module = load_notebook(isolated_outputs / "nb")
    nb = setup_notebook("00_x", profile="quick", device="cpu")
    calls = [call(N=N) for N in (4, 8, 4)]
    first = nb.map(module.train, calls)
    assert "train: 3 tasks, 0 from the cache, 2 computed in-process" in capsys.readouterr().out
    assert len(list(nb.cache_dir.glob("*.npz"))) == 2 and torch.equal(first[0], first[2])
    assert torch.equal(first[1], module.train(**call(N=8)))
    rerun = setup_notebook("00_x", profile="quick", device="cpu")  # a re-executed notebook: new function objects
    again = rerun.map(load_notebook(isolated_outputs / "nb").train, calls)
    assert "train: 3 tasks, 2 from the cache, 0 computed" in capsys.readouterr().out
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert torch.equal(rerun.run(module.train, **call(N=8)), first[1])


def test_map_names_the_task_and_its_arguments_when_it_raises(isolated_outputs):
    module = load_notebook(
        isolated_outputs / "nb",
        """
def fragile(N, label):
    if N == 3:
        raise ValueError(f"width {N} diverged")
    return N
""",
    )
    nb = setup_notebook("00_x", profile="quick", device="cpu")
    with pytest.raises(
        tasks.TaskFailed,
        match=r"cell_module\.fragile\(N=3, label='c'\).*ValueError: width 3 "
        r"diverged",
    ) as failure:
        nb.map(module.fragile, [{"N": 2, "label": "b"}, {"N": 3, "label": "c"}])
    assert 'raise ValueError(f"width {N} diverged")' in str(failure.value)
    assert len(list(nb.cache_dir.glob("*.npz"))) == 1  # the task before the failure is kept


def test_map_until_stops_after_the_first_found_result_and_returns_all_when_none_is_found(isolated_outputs):
    module = load_notebook(isolated_outputs / "nb", "def square(N):\n    return N * N\n")
    nb = setup_notebook("00_x", profile="quick", device="cpu")
    calls = [{"N": N} for N in range(1, 7)]
    assert nb.map_until(module.square, calls, found=lambda value: value > 5) == [1, 4, 9]
    assert len(list(nb.cache_dir.glob("*.npz"))) == 3  # nothing after the first hit was computed
    assert nb.map_until(module.square, calls, found=lambda value: value > 100) == [1, 4, 9, 16, 25, 36]


def test_manifests_keep_current_entries_and_clean_stale_removes_the_rest(isolated_outputs):
    notebooks = isolated_outputs / "notebooks"
    notebooks.mkdir()
    (notebooks / "00_x.py").write_text("")
    module = load_notebook(isolated_outputs / "nb", "def square(N):\n    return N * N\n")

    def notebook_run(widths, profile="quick"):
        nb = setup_notebook("00_x", profile=profile, device="cpu")
        nb.map(module.square, [{"N": N} for N in widths])
        nb.manifest.complete()

    root = cache.cache_root()
    notebook_run([1, 2, 3])
    notebook_run([1, 2, 3], profile="standard")  # another configuration shares the entries
    notebook_run([2, 3, 4])  # the notebook was edited: N = 1 is no longer asked for in quick...
    assert cache.survey(root, notebooks)[1] == []  # ...but standard's last run still uses it
    notebook_run([5], profile="standard")
    entries, stale = cache.survey(root, notebooks)
    assert len(entries) == 5 and [path.name for path in stale] == [
        cache.entry_path(root / "00_x", tasks.task_key(module.square, {"N": 1}, dtype=torch.float64, device=CPU)).name
    ]
    assert "5 entries" in cache.size_line(root, notebooks) and "1 stale" in cache.size_line(root, notebooks)
    assert cache.clean_stale(root, notebooks) == stale and len(cache.survey(root, notebooks)[0]) == 4
    (notebooks / "00_x.py").unlink()  # a notebook that no longer exists: all its entries are stale
    assert len(cache.survey(root, notebooks)[1]) == 4


def test_an_interrupted_run_protects_what_it_used_until_the_next_run(isolated_outputs):
    notebooks = isolated_outputs / "notebooks"
    notebooks.mkdir()
    (notebooks / "00_x.py").write_text("")
    module = load_notebook(isolated_outputs / "nb", "def square(N):\n    return N * N\n")
    nb = setup_notebook("00_x", profile="quick", device="cpu")
    nb.map(module.square, [{"N": 1}, {"N": 2}])  # no finish: the run stopped here
    assert cache.survey(cache.cache_root(), notebooks)[1] == []
    assert (
        json.loads(nb.manifest.running_path.read_text())
        and not nb.manifest.folder.joinpath("quick-seed0-cpu-float64.json").exists()
    )


def test_cache_verify_recomputes_hits_and_reports_an_entry_with_a_wrong_value(tmp_path, monkeypatch):
    """An entry with the right key and a wrong value (issue 24) is found by verification and replaced."""
    module = load_notebook(tmp_path / "nb")
    calls = [{"N": n} for n in (2, 3, 4)]
    first = tasks.run_tasks(module.draw, calls, directory=tmp_path / "cache", dtype=torch.float64, device=CPU)
    wrong = tasks.task_key(module.draw, {"N": 3}, dtype=torch.float64, device=CPU)
    cache.store_entry(cache.entry_path(tmp_path / "cache", wrong), wrong, first[1] + 1)
    monkeypatch.setenv(cache.VERIFY_VARIABLE, "all")
    monkeypatch.setenv(cache.VERIFY_REPORT_VARIABLE, str(tmp_path / "report.jsonl"))
    lines = []
    again = tasks.run_tasks(
        module.draw, calls, directory=tmp_path / "cache", dtype=torch.float64, device=CPU, log=lines.append
    )
    assert all(torch.equal(a, b) for a, b in zip(first, again))  # the recomputed values, not the wrong one
    report = [json.loads(line) for line in (tmp_path / "report.jsonl").read_text().splitlines()]
    assert [line["same"] for line in report].count(False) == 1 and len(report) == 3
    assert "value: max |difference| 1" == next(line["difference"] for line in report if not line["same"])
    assert any("DIFFERS from its recomputation" in line for line in lines)
    assert "3 tasks, 3 from the cache, 0 computed in-process, 3 cached results recomputed to verify them" in lines[-1]
    monkeypatch.setenv(cache.VERIFY_VARIABLE, "1")
    assert len(cache.verification_sample({"a": 1, "b": 2})) == 1
    monkeypatch.setenv(cache.VERIFY_VARIABLE, "some")
    with pytest.raises(ValueError, match="COMPANION_CACHE_VERIFY"):
        cache.verification_sample({"a": 1})


def test_cache_verify_finds_the_recorded_configurations(tmp_path):
    (tmp_path / "nbs").mkdir()
    (tmp_path / "nbs" / "00_x.py").write_text("")
    for notebook, run in (
        ("00_x", "quick-seed0-cpu-float64"),
        ("00_x", "standard-seed3-cpu-float64"),
        ("00_x", "quick-seed0-cpu-float64.running"),
        ("09_gone", "quick-seed0-cpu-float64"),
    ):
        folder = tmp_path / "cache" / notebook / cache.MANIFESTS
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{run}.json").write_text("[]")
    assert cache.configurations(tmp_path / "cache", tmp_path / "nbs") == [
        (tmp_path / "nbs" / "00_x.py", "quick", 0, "cpu"),
        (tmp_path / "nbs" / "00_x.py", "standard", 3, "cpu"),
    ]
