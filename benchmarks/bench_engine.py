"""Time the particle engine against what a user would otherwise write, side by side in one run on this machine.

Population engine (exact arcsine kernel, erf teacher, d = 4): the explicit gradient
(``gradients.population_grad``) against its autograd reference (``dynamics._population_grad``), a
``jax.jit(jax.vmap(jax.grad(risk)))`` step with the same closed-form kernel (dense) and a KeOps LazyTensor reduction
of the same kernel (autograd through KeOps), per replica at R = 1 and R = 16, N ∈ {64, …, 4096}, float64 and float32;
the peak memory of one explicit step at N = 16384. JAX and KeOps are the optional ``bench`` extra: absent, they are
skipped with a message. Every activation (erf, ReLU, tanh, GELU, quadratic; network initialisation scale 0.5,
a_scale 1, erf teacher, float64): the explicit step against its autograd reference and, where the kernel has a closed
form (erf, ReLU, quadratic), a ``jax.jit`` step, per replica at R = 1 and R = 16, with its ratio to erf's; and the
explorer's update (``analysis.explore.explore`` at its defaults) per activation. Empirical engine (ReLU, d = 32,
float32): against a ``torch.nn`` module + autograd + SGD.

    python benchmarks/bench_engine.py [--quick] [--device cpu|cuda] [--threads 1]
                                  [--part all|population|activations|empirical] [--json benchmarks/results.json]
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

from companion.engine.dynamics import _population_grad, simulate
from companion.engine.gradients import population_grad
from companion.engine.init import init_particles
from companion.engine.targets import sample_data, teacher
from companion.pipeline.device import resolve_device

D_POP, D_EMP, ETA, LAM, TAU = 4, 32, 0.01, 1e-3, 1e-4
REFERENCE_ENTRIES = 2**24  # the dense references (autograd, JAX, KeOps) run where R·N² is at most this
HERE = Path(__file__).resolve().parent


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _best_of(fn, device, repeats, warm=True):
    """Best wall time of ``repeats`` calls after one warm-up call (the least-disturbed measurement on a noisy machine;
    7 repeats where R·N² ≤ 2²⁰, 3 up to 2²², 1 beyond, without warm-up for the explicit engine there)."""
    if warm:
        fn()
    best = math.inf
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def _population_problem(R, N, dtype, device):
    gen = torch.Generator().manual_seed(0)
    U = torch.randn(2, D_POP, generator=gen, dtype=torch.float64) / math.sqrt(D_POP)
    target = teacher("erf", torch.tensor([0.5, -0.5], dtype=torch.float64), U).to(device, dtype)
    theta = init_particles("gaussian", R, N, D_POP, scale=1.0, rng=1, dtype=dtype, device=device)
    return theta, target


def _jax_step(target, dtype):
    """jit(vmap(grad(risk))) of the same risk with the same closed-form arcsine kernel, dense; None without JAX."""
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    U = jnp.asarray(target.U.cpu().double().numpy(), dtype=dtype)
    b = jnp.asarray(target.b.cpu().double().numpy(), dtype=dtype)
    norm2 = float(target.norm2())

    def kernel(X, Y):
        ax, ay = 1 + 2 * (X * X).sum(-1), 1 + 2 * (Y * Y).sum(-1)
        return (2 / math.pi) * jnp.arcsin(2 * (X @ Y.T) / jnp.sqrt(ax[:, None] * ay[None, :]))

    def risk(theta):
        a, W = theta[:, 0], theta[:, 1:]
        N = theta.shape[0]
        return 0.5 * (a @ kernel(W, W) @ a / N**2 - 2 * a @ kernel(W, U) @ b / N + norm2)

    step = jax.jit(jax.vmap(jax.grad(risk)))
    return lambda theta: step(theta).block_until_ready()


def _keops_grad(target):
    """Autograd through a KeOps LazyTensor sum of the same arcsine kernel; None without pykeops."""
    try:
        from pykeops.torch import LazyTensor
    except ImportError:
        return None
    U, b = target.U, target.b

    def grad(theta):
        leaf = theta.detach().requires_grad_(True)
        a, W = leaf[..., 0], leaf[..., 1:]
        A = 1 + 2 * (W * W).sum(-1, keepdim=True)
        Wi, Wj = LazyTensor(W[:, :, None, :]), LazyTensor(W[:, None, :, :])
        Ai, Aj = LazyTensor(A[:, :, None, :]), LazyTensor(A[:, None, :, :])
        aj = LazyTensor(a[:, None, :, None])
        K = (2 * (Wi | Wj) * (Ai * Aj).rsqrt()).asin() * (2 / math.pi)
        quad = (K * aj).sum(dim=2)[..., 0]
        N = theta.shape[1]
        cross = (2 / math.pi) * torch.arcsin(2 * (W @ U.T) / torch.sqrt(A * (1 + 2 * (U * U).sum(-1))[None, None]))
        risk = 0.5 * ((a * quad).sum(-1) / N**2 - 2 * (cross @ b * a).sum(-1) / N + target.norm2())
        (g,) = torch.autograd.grad(risk.sum(), leaf)
        return g

    return grad


def bench_population(device, dtypes, widths, replicas, repeats, use_jax, use_keops):
    rows = []
    for dtype in dtypes:
        for R in replicas:
            for N in widths:
                theta, target = _population_problem(R, N, dtype, device)
                entries = R * N * N
                reps = repeats if entries <= 2**20 else (min(repeats, 3) if entries <= 2**22 else 1)
                row = dict(bench="population", dtype=str(dtype).split(".")[-1], R=R, N=N)
                explicit, _ = population_grad(theta, "erf", target)
                row["explicit_s"] = _best_of(
                    lambda: population_grad(theta, "erf", target), device, reps, warm=entries <= 2**22
                )
                if entries <= REFERENCE_ENTRIES:
                    act = target.activation
                    reference, _ = _population_grad(theta, act, target)
                    row["autograd_s"] = _best_of(lambda: _population_grad(theta, act, target), device, reps)
                    row["max_rel_diff_autograd"] = ((explicit - reference).norm() / reference.norm()).item()
                    if use_jax is not None and device.type == "cpu":
                        import numpy as np

                        step = use_jax(target, np.float64 if dtype == torch.float64 else np.float32)
                        if step is not None:
                            import jax.numpy as jnp

                            x = jnp.asarray(theta.cpu().numpy())
                            got = torch.as_tensor(np.asarray(step(x))).to(explicit) * N
                            row["jax_s"] = _best_of(lambda: step(x), device, reps)
                            row["max_rel_diff_jax"] = ((got - explicit).norm() / explicit.norm()).item()
                    if use_keops is not None:
                        keops = use_keops(target)
                        got = keops(theta) * N
                        row["keops_s"] = _best_of(lambda: keops(theta), device, reps)
                        row["max_rel_diff_keops"] = ((got - explicit).norm() / explicit.norm()).item()
                for key in ("explicit_s", "autograd_s", "jax_s", "keops_s"):
                    if key in row:
                        row[key.replace("_s", "_per_replica_ms")] = 1e3 * row[key] / R
                rows.append(row)
                print(_population_line(row), flush=True)
    return rows


ACTIVATIONS = ("erf", "relu", "tanh", "gelu", "quadratic")


def _closed_kernel(name, jnp):
    """The closed-form kernel of ``name`` in JAX (arcsine, arc-cosine, quadratic), or None (Mehler's series only)."""

    def erf(X, Y):
        ax, ay = 1 + 2 * (X * X).sum(-1), 1 + 2 * (Y * Y).sum(-1)
        return (2 / math.pi) * jnp.arcsin(2 * (X @ Y.T) / jnp.sqrt(ax[:, None] * ay[None, :]))

    def relu(X, Y):
        nx, ny = jnp.sqrt((X * X).sum(-1)), jnp.sqrt((Y * Y).sum(-1))
        rho = jnp.clip((X @ Y.T) / (nx[:, None] * ny[None, :]), -1.0, 1.0)
        return nx[:, None] * ny[None, :] * (jnp.sqrt(1 - rho * rho) + (math.pi - jnp.arccos(rho)) * rho) / (2 * math.pi)

    def quadratic(X, Y):
        return (X * X).sum(-1)[:, None] * (Y * Y).sum(-1)[None, :] + 2 * (X @ Y.T) ** 2

    return {"erf": erf, "relu": relu, "quadratic": quadratic}.get(name)


def _closed_cross(name, jnp):
    """The closed-form kernel of ``name`` against erf (the teacher): arcsine; ReLU's odd part is z/2, so its kernel
    with an odd σ_2 is c_1(|w|)c_1(|u|)ρ = w·u/√(π(1+2|u|²)); the quadratic's (even) vanishes."""

    def relu(X, U):
        return (X @ U.T) / jnp.sqrt(math.pi * (1 + 2 * (U * U).sum(-1)))[None, :]

    def quadratic(X, U):
        return jnp.zeros((X.shape[0], U.shape[0]), dtype=X.dtype)

    return {"relu": relu, "quadratic": quadratic, "erf": _closed_kernel("erf", jnp)}.get(name)


def _jax_activation_step(name, target, theta):
    """jit(vmap(grad(risk))) with the closed-form kernels of ``name`` (its own and against the erf teacher), dense;
    (None, the reason) where JAX is absent or the activation has no closed form (tanh, GELU: Mehler's series)."""
    try:
        import jax
    except ImportError:
        return None, "JAX not installed"
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    own, cross = _closed_kernel(name, jnp), _closed_cross(name, jnp)
    if own is None or cross is None:
        return None, "no closed-form kernel"
    U = jnp.asarray(target.U.cpu().double().numpy())
    b = jnp.asarray(target.b.cpu().double().numpy())
    norm2 = float(target.norm2())

    def risk(th):
        a, W = th[:, 0], th[:, 1:]
        N = th.shape[0]
        return 0.5 * (a @ own(W, W) @ a / N**2 - 2 * a @ cross(W, U) @ b / N + norm2)

    step = jax.jit(jax.vmap(jax.grad(risk)))
    return (lambda x: step(x).block_until_ready()), None


def _activation_problem(R, N, dtype, device):
    gen = torch.Generator().manual_seed(0)
    U = torch.randn(2, D_POP, generator=gen, dtype=torch.float64) / math.sqrt(D_POP)
    target = teacher("erf", torch.tensor([0.5, -0.5], dtype=torch.float64), U).to(device, dtype)
    theta = init_particles("gaussian", R, N, D_POP, scale=0.5, a_scale=1.0, rng=1, dtype=dtype, device=device)
    return theta, target


def bench_activations(device, cases, repeats, use_jax):
    """Explicit step per activation at each (R, N) of ``cases``, float64, against its autograd reference (R·N² ≤
    2²² for the closed forms, 2²⁰ for the series, whose autograd graph keeps a tensor per term) and a ``jax.jit`` step
    where one exists; ratio to erf's explicit step at the same (R, N)."""
    rows, erf_s = [], {}
    for R, N in cases:
        theta, target = _activation_problem(R, N, torch.float64, device)
        for name in ACTIVATIONS:
            row = dict(bench="activation", activation=name, dtype="float64", R=R, N=N)
            explicit, _ = population_grad(theta, name, target)
            row["explicit_s"] = _best_of(lambda: population_grad(theta, name, target), device, repeats)
            erf_s.setdefault((R, N), row["explicit_s"])
            row["x_erf"] = row["explicit_s"] / erf_s[(R, N)]
            if R * N * N <= (2**22 if name in ("erf", "relu") else 2**20):  # the series' autograd keeps every term
                reference, _ = _population_grad(theta, name, target)
                row["autograd_s"] = _best_of(lambda: _population_grad(theta, name, target), device, min(repeats, 3))
                row["max_rel_diff_autograd"] = ((explicit - reference).norm() / reference.norm()).item()
            if use_jax and device.type == "cpu":
                step, why = _jax_activation_step(name, target, theta)
                if step is None:
                    row["jax_skipped"] = why
                else:
                    import jax.numpy as jnp

                    x = jnp.asarray(theta.cpu().numpy())
                    row["jax_s"] = _best_of(lambda: step(x), device, repeats)
            for key in ("explicit_s", "autograd_s", "jax_s"):
                if key in row:
                    row[key.replace("_s", "_per_replica_ms")] = 1e3 * row[key] / R
            rows.append(row)
            auto = f"{row['autograd_per_replica_ms']:10.3f}" if "autograd_s" in row else f"{'-':>10}"
            jax_cell = f"{row['jax_per_replica_ms']:10.3f}" if "jax_s" in row else f"{'-':>10}"
            print(
                f"{name:<10}{R:>4}{N:>6}{row['explicit_per_replica_ms']:10.3f}{auto}{jax_cell}{row['x_erf']:8.2f}"
                + (f"   (jax: {row['jax_skipped']})" if "jax_skipped" in row else ""),
                flush=True,
            )
    return rows


def bench_explorer(activations):
    """Wall time of one explorer update (:func:`companion.analysis.explore.explore` at its defaults) per activation."""
    from companion.analysis import explore as ex

    rows = []
    for name in activations:
        start = time.perf_counter()
        ex.explore(dict(ex.DEFAULTS, activation=name))
        rows.append(dict(bench="explorer", activation=name, seconds=time.perf_counter() - start))
        print(f"explorer update, {name:<10}{rows[-1]['seconds']:8.2f} s", flush=True)
    return rows


def _population_line(row):
    def cell(key):
        return f"{row[key]:10.3f}" if key in row else f"{'-':>10}"

    def ratio(key):
        return f"{row[key] / row['explicit_s']:8.2f}" if key in row else f"{'-':>8}"

    return (
        f"{row['dtype']:<8}{row['R']:>4}{row['N']:>6}{cell('explicit_per_replica_ms')}{cell('autograd_per_replica_ms')}"
        f"{cell('jax_per_replica_ms')}{cell('keops_per_replica_ms')}{ratio('autograd_s')}{ratio('jax_s')}"
        f"{ratio('keops_s')}"
    )


def peak_memory(N, dtype):
    """Peak resident memory (MiB) of one explicit population step at width N, measured in a fresh process."""
    code = f"""
import resource, torch, sys
sys.path.insert(0, {str(HERE.parent)!r})
torch.set_num_threads(1)
from benchmarks.bench_engine import _population_problem
from companion.engine.gradients import population_grad
theta, target = _population_problem(1, {N}, torch.{dtype}, torch.device("cpu"))
population_grad(theta[:, :64], "erf", target)
before = int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0])
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")
population_grad(theta, "erf", target)
peak = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
print((peak - before) / 1024, before / 1024)
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(HERE.parent)},
    )
    step_mib, base_mib = map(float, out.stdout.split())
    return dict(
        bench="peak_memory",
        N=N,
        dtype=dtype,
        R=1,
        step_peak_mib=step_mib,
        process_mib=base_mib,
        dense_kernel_mib=N * N * (8 if dtype == "float64" else 4) / 2**20,
    )


def baseline_steps(X, y, theta, steps):
    """What a user would write: nn.Module + autograd + SGD(lr = ηN, weight_decay = λ) + Langevin noise."""
    N = theta.shape[1]
    model = torch.nn.Sequential(
        torch.nn.Linear(D_EMP, N, bias=False), torch.nn.ReLU(), torch.nn.Linear(N, 1, bias=False)
    ).to(device=X.device, dtype=X.dtype)
    with torch.no_grad():
        model[0].weight.copy_(theta[0, :, 1:])
        model[2].weight.copy_(theta[0, :, 0][None])
    opt = torch.optim.SGD(model.parameters(), lr=ETA * N, weight_decay=LAM / N)
    noise = math.sqrt(2 * ETA * TAU)

    def run():
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = 0.5 * ((model(X)[:, 0] / N - y) ** 2).mean()
            loss.backward()
            opt.step()
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(torch.randn_like(p), alpha=noise)

    return run


def bench_empirical(device, sizes, repeats):
    rows = []
    dtype = torch.float32
    tgt = teacher("relu", torch.ones(2) / 2, torch.randn(2, D_EMP) / math.sqrt(D_EMP)).to(device, dtype)
    for n, N in sizes:
        X, y = sample_data(tgt, n, generator=torch.Generator(device=device).manual_seed(0))
        theta = init_particles("gaussian", 1, N, D_EMP, scale=1 / math.sqrt(D_EMP), rng=0, dtype=dtype, device=device)
        steps = max(2, int(2e8 // (n * N)))
        engine = lambda: simulate(
            theta,
            "relu",
            eta=ETA,
            steps=steps,
            lam=LAM,
            tau=TAU,
            engine="empirical",
            data=(X, y),
            record_steps=[steps],
            keep_particles=False,
            progress=False,
        )
        t_engine = _best_of(engine, device, repeats) / steps
        t_base = _best_of(baseline_steps(X, y, theta, steps), device, repeats) / steps
        rows.append(
            dict(
                bench="empirical",
                dtype="float32",
                n=n,
                N=N,
                engine_ms=1e3 * t_engine,
                baseline_ms=1e3 * t_base,
                speedup=t_base / t_engine,
            )
        )
        print(
            f"empirical n = N = {N:>5}: engine {1e3 * t_engine:8.3f} ms, nn+autograd {1e3 * t_base:8.3f} ms, "
            f"ratio {t_base / t_engine:5.2f}",
            flush=True,
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the issue's measurements used 1)")
    parser.add_argument("--no-jax", action="store_true")
    parser.add_argument("--no-keops", action="store_true")
    parser.add_argument(
        "--part",
        choices=("all", "population", "activations", "empirical"),
        default="all",
        help="run only the erf population cases (and peak memory), only the activations (and the "
        "explorer) or only the empirical engine",
    )
    parser.add_argument("--json", default=str(HERE / "results.json"), help="where to write the results")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    use_jax = None if args.no_jax else _jax_step
    use_keops = None if args.no_keops else _keops_grad
    for name, factory, module in (("JAX", use_jax, "jax"), ("KeOps", use_keops, "pykeops")):
        if factory is not None:
            try:
                __import__(module)
            except ImportError:
                print(f"{name} is not installed (pip install -e '.[bench]'): skipped")
    if args.quick:
        widths, replicas, dtypes, repeats, sizes, memory_N = [64, 256], [1, 16], [torch.float64], 2, [(316, 316)], 2048
        activation_cases, explorer = [(1, 64), (16, 64), (1, 256), (16, 256)], ()
    else:
        widths, replicas, dtypes, repeats = [64, 256, 1024, 2048, 4096], [1, 16], [torch.float64, torch.float32], 7
        sizes, memory_N = [(316, 316), (1024, 1024), (4096, 4096)], 16384
        activation_cases = [(R, N) for R in (1, 16) for N in (64, 256, 1024, 2048) if R * N <= 16 * 1024]
        explorer = ACTIVATIONS
    print(
        f"device {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else platform.processor() or 'cpu'}), "
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, d = {D_POP} (population), {D_EMP} (empirical)"
    )
    rows = []
    if args.part in ("all", "population"):
        print("population step, ms per replica; ratios = other / explicit (> 1: the explicit engine is faster)")
        print(
            f"{'dtype':<8}{'R':>4}{'N':>6}{'explicit':>10}{'autograd':>10}{'jax':>10}{'keops':>10}{'x auto':>8}"
            f"{'x jax':>8}{'x keops':>8}"
        )
        rows += bench_population(device, dtypes, widths, replicas, repeats, use_jax, use_keops)
    if args.part in ("all", "activations"):
        print(
            "every activation (erf teacher, network init), float64, ms per replica; x erf = explicit / erf's explicit"
        )
        print(f"{'act':<10}{'R':>4}{'N':>6}{'explicit':>10}{'autograd':>10}{'jax':>10}{'x erf':>8}")
        rows += bench_activations(device, activation_cases, min(repeats, 3), use_jax is not None)
        rows += bench_explorer(explorer)
    if args.part in ("all", "empirical"):
        rows += bench_empirical(device, sizes, repeats)
    if device.type == "cpu" and args.part in ("all", "population"):
        rows.append(peak_memory(memory_N, "float64"))
        print(
            f"peak memory of one explicit step, N = {memory_N}, float64: {rows[-1]['step_peak_mib']:.0f} MiB "
            f"(a dense N x N kernel alone: {rows[-1]['dense_kernel_mib']:.0f} MiB)"
        )
    with open(args.json, "w") as fh:
        json.dump(
            dict(device=str(device), threads=torch.get_num_threads(), torch=torch.__version__, rows=rows), fh, indent=2
        )
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
