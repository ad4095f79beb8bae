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
    theta0 = init_particles(
        "gaussian", 2, N, X.shape[1], scale=0.5, rng=np.random.default_rng(seed), dtype=dtype, device="cpu"
    )
    return simulate(
        theta0,
        "erf",
        eta=0.1,
        steps=steps,
        tau=0.01,
        engine="empirical",
        data=(X, y),
        seed=seed,
        record_steps=[0, steps],
    ).particles


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
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, scheduler_port=0
    ) as local:
        yield local
        client = tasks._CLIENTS.pop(local.scheduler_address, None)
        if client is not None:
            client.close()


def sweep(steps, count=6):
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(32, 4, generator=generator, dtype=torch.float64)
    return [
        {"N": 16 + 8 * i, "steps": steps, "X": X, "y": torch.tanh(X[:, 0]), "seed": 10 + i, "dtype": torch.float64}
        for i in range(count)
    ]


def run(calls, directory, scheduler=None, fn=noisy_run):
    return tasks.run_tasks(fn, calls, directory=directory, dtype=torch.float64, device=CPU, scheduler=scheduler)


def entries(directory):
    return {path.name: path.read_bytes() for path in sorted(Path(directory).glob("*.npz"))}


def test_cluster_gives_the_same_bits_and_cache_entries_as_in_process(cluster, tmp_path):
    calls = sweep(steps=20)
    here = run(calls, tmp_path / "here")
    there = run(calls, tmp_path / "there", cluster.scheduler_address)
    assert all(torch.equal(a, b) for a, b in zip(here, there))
    assert entries(tmp_path / "here") == entries(tmp_path / "there") and len(entries(tmp_path / "here")) == 6


def test_a_dataframe_task_gives_the_same_cache_entries_in_process_and_on_the_cluster(cluster, tmp_path):
    from companion.analysis.parametrizations import coordinate_check

    X, y = sweep(steps=1)[0]["X"], sweep(steps=1)[0]["y"]
    calls = [
        dict(parametrization=p, widths=[8, 16], seeds=[0, 1], X=X, y=y, activation="erf", eta=0.5, steps=2)
        for p in ("mup", "sp")
    ]
    here = tasks.run_tasks(coordinate_check, calls, directory=tmp_path / "here", dtype=torch.float64, device=CPU)
    there = tasks.run_tasks(
        coordinate_check,
        calls,
        directory=tmp_path / "there",
        dtype=torch.float64,
        device=CPU,
        scheduler=cluster.scheduler_address,
    )
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
        while not list(directory.glob("*.npz")) and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(victim, signal.SIGKILL)
        stored_at_kill.append(len(list(directory.glob("*.npz"))))

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
    future = tasks.client_for(cluster.scheduler_address).submit(
        tasks.execute, noisy_run, calls[0], 1, torch.float64, modules, environment, pure=False
    )
    with pytest.raises(tasks.WorkerMismatch, match="restart the workers" if other == "source" else "same pinned"):
        future.result()


# --- notebook 00 on the cluster, then the reproduction ------------------------------------------------


def run_notebook(runner, source, tmp_path, environment=None):
    """Run ``source`` under the runner (the ``runner`` fixture) in ``quick``; the text its cells printed."""
    build = tmp_path / "build"
    result = runner(source, tmp_path / "figures", build, {"OMP_NUM_THREADS": "1", **(environment or {})})
    assert result.returncode == 0, f"{source} failed:\n{result.stdout}\n{result.stderr}"
    notebook = json.loads((build / f"{Path(source).stem}.ipynb").read_text())
    return "".join("".join(output.get("text", "")) for cell in notebook["cells"] for output in cell.get("outputs", []))


@pytest.mark.notebook
def test_notebook_00_on_a_cluster_then_its_training_cell_edited_in_process(cluster, tmp_path, runner):
    """Notebook 00 runs end to end with COMPANION_SCHEDULER pointing at the LocalCluster. Then issue 12's
    reproduction: change the training data's stream name in the width-convergence cell and rerun (in-process)
    with the warm cache: the training runs recompute, the untouched coordinate check comes from the cluster's entries."""
    original = (ROOT / "notebooks" / "00_mup_mean_field.py").read_text()
    assert original.count('nb.stream("training data")') == 1
    copy = tmp_path / "notebooks" / "00_mup_mean_field.py"
    copy.parent.mkdir()
    copy.write_text(original)
    on_cluster = run_notebook(runner, copy, tmp_path, {"COMPANION_SCHEDULER": cluster.scheduler_address})
    assert f"train_width: 10 tasks, 0 from the cache, 10 computed on {cluster.scheduler_address}" in on_cluster
    copy.write_text(original.replace('nb.stream("training data")', 'nb.stream("training data, edited")'))
    edited = run_notebook(runner, copy, tmp_path)
    assert "coordinate_check: 6 tasks, 6 from the cache, 0 computed in-process" in edited
    assert "train_width: 10 tasks, 0 from the cache, 10 computed in-process" in edited
    # the initial particles do not depend on the training data: their distances are reused, the trained ones not
    assert "replica_distances: 16 tasks, 8 from the cache, 8 computed in-process" in edited

    def slope(outputs):
        return next(line for line in outputs.splitlines() if "fitted slope of E(f_N - f_ref)^2 vs N" in line)

    assert slope(on_cluster) != slope(edited)


# --- a worker with another pipeline, and TLS ------------------------------------------------------------------


def worker_process(address, package_root, environment=None):
    """A Dask worker (no nanny) importing the companion package from ``package_root``."""
    command = [
        sys.executable,
        "-m",
        "distributed.cli.dask_worker",
        address,
        "--nworkers",
        "1",
        "--nthreads",
        "1",
        "--no-nanny",
        "--no-dashboard",
    ]
    path = os.pathsep.join([str(package_root), str(Path(__file__).parent)])  # this module, for what it pickles
    return subprocess.Popen(
        command,
        env={**os.environ, "PYTHONPATH": path, **(environment or {})},
        cwd=package_root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_worker_whose_pipeline_differs_is_refused(tmp_path):
    import shutil

    copy = tmp_path / "checkout"
    shutil.copytree(ROOT / "companion", copy / "companion", ignore=shutil.ignore_patterns("__pycache__"))
    tasks_source = copy / "companion" / "pipeline" / "tasks.py"
    tasks_source.write_text(tasks_source.read_text() + "\n# a worker-side edit of the pipeline\n")
    with LocalCluster(n_workers=0, processes=True, dashboard_address=None, scheduler_port=0) as local:
        worker = worker_process(local.scheduler_address, copy)
        try:
            client = tasks.client_for(local.scheduler_address)
            client.wait_for_workers(1, timeout=60)
            with pytest.raises(tasks.WorkerMismatch, match=r"\['companion.pipeline.tasks'\] differs"):
                run(sweep(steps=2, count=1), tmp_path / "cache", local.scheduler_address)
            assert not list((tmp_path / "cache").glob("*.npz"))  # nothing stored under the notebook's key
        finally:
            worker.kill()
            worker.wait()
            tasks._CLIENTS.pop(local.scheduler_address).close()


def test_security_follows_the_environment_and_refuses_unauthenticated_remote_schedulers(tmp_path):
    files = {name: tmp_path / name for name in ("ca.pem", "cert.pem", "key.pem")}
    for path in files.values():
        path.write_text("x")
    tls = {
        "COMPANION_TLS_CA_FILE": str(files["ca.pem"]),
        "COMPANION_TLS_CERT": str(files["cert.pem"]),
        "COMPANION_TLS_KEY": str(files["key.pem"]),
    }
    security = tasks.security_for("tls://scheduler:8786", tls)
    assert security.require_encryption and security.tls_client_cert == str(files["cert.pem"])
    with pytest.raises(ValueError, match="use a tls:// address"):
        tasks.security_for("tcp://scheduler:8786", tls)
    with pytest.raises(ValueError, match="^COMPANION_TLS_KEY: TLS needs all"):
        tasks.security_for("tls://scheduler:8786", {k: v for k, v in tls.items() if k != "COMPANION_TLS_KEY"})
    with pytest.raises(ValueError, match="^COMPANION_TLS_CERT: '/nope' is not a file"):
        tasks.security_for("tls://scheduler:8786", {**tls, "COMPANION_TLS_CERT": "/nope"})
    with pytest.raises(ValueError, match="unencrypted, unauthenticated"):
        tasks.security_for("tcp://10.0.0.5:8786", {})
    assert not tasks.security_for("tcp://10.0.0.5:8786", {"COMPANION_DASK_INSECURE": "1"}).require_encryption
    assert not tasks.security_for("tcp://127.0.0.1:8786", {}).require_encryption
    with pytest.raises(ValueError, match="no certificates are configured"):
        tasks.security_for("tls://scheduler:8786", {})


def make_certificates(folder):
    """A certificate authority and one certificate it signed (for scheduler, worker and client), by openssl."""
    import shutil

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make test certificates")

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=companion-test-ca",
    )
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.csr", "-subj", "/CN=node")
    openssl(
        "x509",
        "-req",
        "-in",
        "cert.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "1",
    )
    return {name: str(folder / name) for name in ("ca.pem", "cert.pem", "key.pem")}


def test_tasks_run_on_a_tls_cluster_with_the_environment_s_certificates(tmp_path, monkeypatch):
    from distributed.security import Security

    pem = make_certificates(tmp_path)
    cluster_security = Security(
        tls_ca_file=pem["ca.pem"],
        tls_scheduler_cert=pem["cert.pem"],
        tls_scheduler_key=pem["key.pem"],
        tls_worker_cert=pem["cert.pem"],
        tls_worker_key=pem["key.pem"],
        tls_client_cert=pem["cert.pem"],
        tls_client_key=pem["key.pem"],
        require_encryption=True,
    )
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_port=0,
        protocol="tls://",
        security=cluster_security,
    ) as local:
        address = local.scheduler_address
        assert address.startswith("tls://")
        monkeypatch.setenv("COMPANION_TLS_CA_FILE", pem["ca.pem"])
        monkeypatch.setenv("COMPANION_TLS_CERT", pem["cert.pem"])
        monkeypatch.setenv("COMPANION_TLS_KEY", pem["key.pem"])
        try:
            assert run([{"N": 2, "label": "a"}], tmp_path / "cache", address, fn=fragile) == [2]
        finally:
            tasks._CLIENTS.pop(address).close()
