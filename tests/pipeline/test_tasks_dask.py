"""Tasks on a real Dask cluster (distributed.LocalCluster, two worker processes started here): the same bits and
cache entries as in-process, a killed worker loses nothing, a failing task names itself; notebook 00 under the runner
against the cluster, then the issue's reproduction (an edited training cell recomputes with a warm cache)."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
import torch
from distributed import LocalCluster

from companion.engine.dynamics import simulate
from companion.engine.init import init_particles
from companion.pipeline import fingerprint, tasks

ROOT = Path(__file__).resolve().parents[2]
CPU = torch.device("cpu")
# pytest imports this file under a name the workers cannot import: send its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def noisy_run(N, steps, X, y, seed, dtype):
    """A tiny noisy (τ > 0) empirical run: its result depends on every bit of the seeds and of the data."""
    theta0 = init_particles("gaussian", 2, N, X.shape[1], scale=0.5, rng=np.random.default_rng(seed), dtype=dtype,
                            device="cpu")
    return simulate(theta0, "erf", eta=0.1, steps=steps, tau=0.01, engine="empirical", data=(X, y), seed=seed,
                    record_steps=[0, steps]).particles


def fragile(N, label):
    if N == 3:
        raise ValueError(f"width {N} diverged")
    return N


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread, as a notebook on CPU: the workers take the caller's setting (two processes, two cores)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      scheduler_port=0) as local:
        yield local
        client = tasks._CLIENTS.pop(local.scheduler_address, None)
        if client is not None:
            client.close()


def sweep(steps, count=6):
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(32, 4, generator=generator, dtype=torch.float64)
    return [{"N": 16 + 8 * i, "steps": steps, "X": X, "y": torch.tanh(X[:, 0]), "seed": 10 + i,
             "dtype": torch.float64} for i in range(count)]


def run(calls, directory, scheduler=None, fn=noisy_run):
    return tasks.run_tasks(fn, calls, directory=directory, dtype=torch.float64, device=CPU, scheduler=scheduler)


def entries(directory):
    return {path.name: path.read_bytes() for path in sorted(Path(directory).glob("*.pkl"))}


def test_cluster_gives_the_same_bits_and_cache_entries_as_in_process(cluster, tmp_path):
    calls = sweep(steps=20)
    here = run(calls, tmp_path / "here")
    there = run(calls, tmp_path / "there", cluster.scheduler_address)
    assert all(torch.equal(a, b) for a, b in zip(here, there))
    assert entries(tmp_path / "here") == entries(tmp_path / "there") and len(entries(tmp_path / "here")) == 6


def test_a_dataframe_task_gives_the_same_cache_entries_in_process_and_on_the_cluster(cluster, tmp_path):
    from companion.analysis.parametrizations import coordinate_check

    X, y = sweep(steps=1)[0]["X"], sweep(steps=1)[0]["y"]
    calls = [dict(parametrization=p, widths=[8, 16], seeds=[0, 1], X=X, y=y, activation="erf", eta=0.5, steps=2)
             for p in ("mup", "sp")]
    here = tasks.run_tasks(coordinate_check, calls, directory=tmp_path / "here", dtype=torch.float64, device=CPU)
    there = tasks.run_tasks(coordinate_check, calls, directory=tmp_path / "there", dtype=torch.float64, device=CPU,
                            scheduler=cluster.scheduler_address)
    assert all(a.equals(b) for a, b in zip(here, there))
    assert entries(tmp_path / "here") == entries(tmp_path / "there") and len(entries(tmp_path / "here")) == 2


def test_only_missing_tasks_are_submitted(cluster, tmp_path, capsys):
    calls = sweep(steps=20)
    run(calls[:4], tmp_path)
    capsys.readouterr()
    run(calls, tmp_path, cluster.scheduler_address)
    assert f"noisy_run: 6 tasks, 4 from the cache, 2 computed on {cluster.scheduler_address}" in capsys.readouterr().out


def test_killing_a_worker_mid_sweep_still_completes_it_with_nothing_lost(cluster, tmp_path):
    calls = sweep(steps=400, count=8)  # about a quarter of a second per task
    directory = tmp_path / "cluster"
    client = tasks.client_for(cluster.scheduler_address)
    victim = list(client.run(os.getpid).values())[0]
    stored_at_kill = []

    def kill_after_the_first_result():
        deadline = time.monotonic() + 120
        while not list(directory.glob("*.pkl")) and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(victim, signal.SIGKILL)
        stored_at_kill.append(len(list(directory.glob("*.pkl"))))

    killer = threading.Thread(target=kill_after_the_first_result)
    killer.start()
    there = run(calls, directory, cluster.scheduler_address)
    killer.join()
    assert 1 <= stored_at_kill[0] < 8 and len(entries(directory)) == 8  # killed while tasks remained
    here = run(calls, tmp_path / "here")
    assert all(torch.equal(a, b) for a, b in zip(here, there))
    assert entries(directory) == entries(tmp_path / "here")
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker for the next tests


def test_a_task_raising_on_a_worker_names_the_task_its_arguments_and_the_remote_traceback(cluster, tmp_path):
    with pytest.raises(tasks.TaskFailed) as failure:
        run([{"N": 2, "label": "b"}, {"N": 3, "label": "c"}], tmp_path, cluster.scheduler_address, fn=fragile)
    message = str(failure.value)
    assert "fragile(N=3, label='c')" in message and f"on the Dask cluster at {cluster.scheduler_address}" in message
    assert "ValueError: width 3 diverged" in message
    assert 'raise ValueError(f"width {N} diverged")' in message  # the worker's traceback


@pytest.mark.parametrize("other", ["source", "versions"])
def test_a_worker_with_other_engine_source_or_versions_is_refused(cluster, other):
    calls = sweep(steps=2, count=1)
    modules = fingerprint.source_digests(tasks.check_pure(noisy_run)[1])
    environment = fingerprint.environment()
    if other == "source":
        modules = {name: "0" * 64 for name in modules}
    else:
        environment = {**environment, "torch": "0.0"}
    future = tasks.client_for(cluster.scheduler_address).submit(tasks.execute, noisy_run, calls[0], 1, torch.float64,
                                                                modules, environment, pure=False)
    with pytest.raises(tasks.WorkerMismatch, match="restart the workers" if other == "source" else "same pinned"):
        future.result()


# --- notebook 00 on the cluster, then the reproduction ------------------------------------------------


def run_notebook(source, tmp_path, environment=None):
    """Run ``source`` under the runner in ``quick``; the text its cells printed."""
    build = tmp_path / "build"
    command = [sys.executable, "-m", "companion.pipeline.runner", str(source), "--profile", "quick",
               "--figures", str(tmp_path / "figures"), "--build", str(build)]
    result = subprocess.run(command, capture_output=True, text=True, check=False,
                            env={**os.environ, "OMP_NUM_THREADS": "1", **(environment or {})})
    assert result.returncode == 0, f"{source} failed:\n{result.stdout}\n{result.stderr}"
    notebook = json.loads((build / f"{Path(source).stem}.ipynb").read_text())
    return "".join("".join(output.get("text", "")) for cell in notebook["cells"] for output in cell.get("outputs", []))


@pytest.mark.notebook
def test_notebook_00_on_a_cluster_then_its_training_cell_edited_in_process(cluster, tmp_path):
    """Notebook 00 runs end to end with COMPANION_SCHEDULER pointing at the LocalCluster. Then issue 12's
    reproduction: change the training data's stream name in the width-convergence cell and rerun (in-process)
    with the warm cache: the training runs recompute, the untouched coordinate check comes from the cluster's entries."""
    original = (ROOT / "notebooks" / "00_mup_mean_field.py").read_text()
    assert original.count('nb.stream("training data")') == 1
    copy = tmp_path / "notebooks" / "00_mup_mean_field.py"
    copy.parent.mkdir()
    copy.write_text(original)
    on_cluster = run_notebook(copy, tmp_path, {"COMPANION_SCHEDULER": cluster.scheduler_address})
    assert f"train_width: 10 tasks, 0 from the cache, 10 computed on {cluster.scheduler_address}" in on_cluster
    copy.write_text(original.replace('nb.stream("training data")', 'nb.stream("training data, edited")'))
    edited = run_notebook(copy, tmp_path)
    assert "coordinate_check: 6 tasks, 6 from the cache, 0 computed in-process" in edited
    assert "train_width: 10 tasks, 0 from the cache, 10 computed in-process" in edited
    # the initial particles do not depend on the training data: their distances are reused, the trained ones not
    assert "replica_distances: 16 tasks, 8 from the cache, 8 computed in-process" in edited

    def slope(outputs):
        return next(line for line in outputs.splitlines() if "fitted slope of E(f_N - f_ref)^2 vs N" in line)

    assert slope(on_cluster) != slope(edited)
