"""Time the particle engine against what a user would otherwise write, in one run on this machine.

Baseline: a plain ``torch.nn`` two-layer module (f = a·σ(Wx)/N), autograd, ``torch.optim.SGD`` with learning rate ηN
and weight decay, plus added Gaussian noise — the same noisy GD step as the engine. Ceiling: the matmul floor, three
products of 2·n·N·d flops at the sgemm rate measured here. Also R batched replicas against R sequential runs.

    python benchmarks/bench_engine.py [--quick] [--device cpu|cuda] [--json out.json]
"""
import argparse
import json
import math
import platform
import time

import torch

from companion.pipeline.device import resolve_device
from companion.engine.dynamics import simulate
from companion.engine.init import init_particles
from companion.engine.targets import sample_data, teacher

D, ETA, LAM, TAU = 32, 0.01, 1e-3, 1e-4


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _best_of(fn, device, repeats):
    """Best wall time of ``repeats`` calls (the least-disturbed measurement on a noisy machine)."""
    fn()
    best = math.inf
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def matmul_rate(device, dtype, size=2048):
    """Measured flop rate of a square matmul: the machine's ceiling for the engine."""
    A = torch.randn(size, size, device=device, dtype=dtype)
    B = torch.randn(size, size, device=device, dtype=dtype)
    return 2 * size**3 / _best_of(lambda: A @ B, device, 3)


def baseline_steps(X, y, theta, steps):
    """What a user would write: nn.Module + autograd + SGD(lr = ηN, weight_decay = λ) + Langevin noise."""
    N = theta.shape[1]
    model = torch.nn.Sequential(torch.nn.Linear(D, N, bias=False), torch.nn.ReLU(), torch.nn.Linear(N, 1, bias=False))
    model = model.to(device=X.device, dtype=X.dtype)
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


def engine_steps(theta, activation, target, steps, **kwargs):
    return lambda: simulate(theta, activation, target, eta=ETA, steps=steps, lam=LAM, tau=TAU, record_steps=[],
                            keep_particles=False, progress=False, **kwargs)


def bench_empirical(device, dtype, sizes, repeats):
    rows = []
    rate = matmul_rate(device, dtype)
    tgt = teacher("relu", torch.ones(2) / 2, torch.randn(2, D) / math.sqrt(D)).to(device, dtype)
    for n, N in sizes:
        X, y = sample_data(tgt, n, generator=torch.Generator(device=device).manual_seed(0))
        theta = init_particles("gaussian", 1, N, D, scale=1 / math.sqrt(D), rng=0, dtype=dtype, device=device)
        steps = max(2, int(2e8 // (n * N)))
        t_engine = _best_of(engine_steps(theta, "relu", None, steps, engine="empirical", data=(X, y)), device, repeats) / steps
        t_base = _best_of(baseline_steps(X, y, theta, steps), device, repeats) / steps
        floor = 3 * 2 * n * N * D / rate
        rows.append(dict(bench="empirical", n=n, N=N, engine_steps_per_s=1 / t_engine, baseline_steps_per_s=1 / t_base,
                         speedup=t_base / t_engine, engine_over_floor=t_engine / floor))
    return rows, rate


def bench_population(device, dtype, widths, repeats):
    rows = []
    tgt = teacher("erf", torch.ones(2) / 2, torch.randn(2, D) / math.sqrt(D)).to(device, dtype)
    for N in widths:
        theta = init_particles("gaussian", 1, N, D, scale=1 / math.sqrt(D), rng=0, dtype=dtype, device=device)
        steps = max(2, int(2e7 // N**2))
        t_engine = _best_of(engine_steps(theta, "erf", tgt, steps, engine="population"), device, repeats) / steps
        rows.append(dict(bench="population", n=0, N=N, engine_steps_per_s=1 / t_engine))
    return rows


def bench_replicas(device, dtype, R, N, steps, repeats):
    tgt = teacher("erf", torch.ones(2) / 2, torch.randn(2, D) / math.sqrt(D)).to(device, dtype)
    theta = init_particles("gaussian", R, N, D, scale=1 / math.sqrt(D), rng=0, dtype=dtype, device=device)
    batched = engine_steps(theta, "erf", tgt, steps, engine="population")
    sequential = lambda: [engine_steps(theta[r:r + 1], "erf", tgt, steps, engine="population")() for r in range(R)]
    t_batched = _best_of(batched, device, repeats)
    t_sequential = _best_of(sequential, device, repeats)
    return dict(bench="replicas", n=0, N=N, R=R, batched_s=t_batched, sequential_s=t_sequential,
                speedup=t_sequential / t_batched)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    device = resolve_device(args.device)
    dtype = torch.float32
    torch.manual_seed(0)
    if args.quick:
        sizes, widths, repeats = [(316, 316), (1024, 1024)], [128, 256], 2
    else:
        sizes, widths, repeats = [(316, 316), (1024, 1024), (4096, 4096), (10_000, 10_000)], [256, 1024, 2048], 3
    rows, rate = bench_empirical(device, dtype, sizes, repeats)
    rows += bench_population(device, dtype, widths, repeats)
    rows.append(bench_replicas(device, dtype, R=16, N=64, steps=20, repeats=repeats))
    print(f"device {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else platform.processor() or 'cpu'}), "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}, float32, d = {D}")
    print(f"matmul ceiling: {rate / 1e9:.1f} GFLOP/s")
    print(f"{'bench':<11}{'n':>7}{'N':>7}{'engine st/s':>13}{'autograd st/s':>15}{'ratio':>8}{'x floor':>9}")
    for row in rows:
        if row["bench"] == "replicas":
            print(f"replicas    R = {row['R']}, N = {row['N']}: batched {row['batched_s']:.3f} s, "
                  f"sequential {row['sequential_s']:.3f} s, ratio {row['speedup']:.1f}")
            continue
        base = f"{row['baseline_steps_per_s']:15.2f}{row['speedup']:8.2f}{row['engine_over_floor']:9.2f}" \
            if "speedup" in row else f"{'-':>15}{'-':>8}{'-':>9}"
        print(f"{row['bench']:<11}{row['n']:>7}{row['N']:>7}{row['engine_steps_per_s']:13.2f}{base}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(device=str(device), matmul_flops=rate, rows=rows), fh, indent=2)


if __name__ == "__main__":
    main()
