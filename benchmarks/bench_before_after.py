"""Every activation's population step, the explorer's update and a reduced ReLU chaos batch of notebook 01, in this
tree against a git revision (``--against``, exported with ``git archive``), in the same run: the two trees are timed
in alternating subprocesses with one torch thread (steps: ``--rounds`` each, best of ``--repeats`` calls per round;
explorer and chaos: one run each), so load on the machine hits both alike. Wall and CPU (process) time are both
recorded: on a loaded machine the CPU time of a one-thread run is the steadier of the two.

Steps: float64, d = 4, network initialisation (scale 0.5, a_scale 1), erf teacher with two ridges, at R = 16,
N = 256 and R = 1, N = 2048 (the issue's goal sizes), per replica. Explorer: one ``explore`` at its defaults with
tanh and GELU. Chaos: notebook 01's ``coupled_run`` with ReLU in the strong regime (λ = 0.5, τ = 0.05, η = 0.1) at
R = 4, N_ref = 256, N ∈ {8, 16, 32, 64}, 50 steps.

    python benchmarks/bench_before_after.py --against 0d95cf8 [--json benchmarks/before_after.json]
"""

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEP_CASES = [(16, 256), (1, 2048)]
ACTIVATIONS = ("erf", "relu", "tanh", "gelu", "quadratic")
EXPLORER = ("tanh", "gelu")

CHILD = r"""
import json, math, sys, time, torch
torch.set_num_threads(1)
from companion.engine.gradients import population_grad
from companion.engine.init import init_particles
from companion.engine.targets import teacher
kind, repeats = sys.argv[1], int(sys.argv[2])
gen = torch.Generator().manual_seed(0)
U = torch.randn(2, 4, generator=gen, dtype=torch.float64) / 2
target = teacher("erf", torch.tensor([0.5, -0.5], dtype=torch.float64), U)

def best(fn, repeats, warm=True):
    # best wall and best CPU (process) time of `repeats` calls (after a warm-up call where `warm`)
    if warm:
        fn()
    wall = cpu = float("inf")
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
    return wall, cpu

if kind == "step":
    act, R, N = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    theta = init_particles("gaussian", R, N, 4, scale=0.5, a_scale=1.0, rng=1, dtype=torch.float64)
    grad, _ = population_grad(theta, act, target)
    wall, cpu = best(lambda: population_grad(theta, act, target), repeats)
    print(json.dumps(dict(seconds=wall / R, cpu=cpu / R, grad=grad[0, :64].flatten().tolist())))
elif kind == "explorer":
    from companion.analysis import explore as ex
    wall, cpu = best(lambda: ex.explore(dict(ex.DEFAULTS, activation=sys.argv[3])), 1, warm=False)
    print(json.dumps(dict(seconds=wall, cpu=cpu)))
else:
    from companion.analysis import coupling
    b, V = torch.tensor([1.0, 1.0], dtype=torch.float64), torch.eye(4, dtype=torch.float64)[:2]
    common = dict(R=4, N_ref=256, sizes=[8, 16, 32, 64], init_seed=0, seed=1, eta=0.1, steps=50,
                  record_steps=[0, 50], lam=0.5, tau=0.05)
    try:  # value objects (issue 21)
        from companion.engine import StartingLaw, problem
        run = lambda: coupling.coupled_run(problem("relu", teacher("erf", b, V)), **common,
                                           law=StartingLaw(scale=0.5, a_scale=1.0))
    except ImportError:  # the signature before them
        run = lambda: coupling.coupled_run(activation="relu", target=teacher("erf", b, V), d=4, scale=0.5,
                                           a_scale=1.0, **common)
    wall, cpu = best(run, 1, warm=False)
    print(json.dumps(dict(seconds=wall, cpu=cpu)))
"""


def _run(tree, *args):
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", CHILD, *map(str, args)], env=env, cwd=tree, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", required=True, help="git revision of the baseline")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "before_after.json"))
    args = parser.parse_args()
    cases = (
        [("step", args.repeats, act, R, N) for R, N in STEP_CASES for act in ACTIVATIONS]
        + [("explorer", 0, act) for act in EXPLORER]
        + [("chaos", 0)]
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "base.tar"
        subprocess.run(["git", "archive", "-o", str(archive), args.against, "companion"], cwd=ROOT, check=True)
        base = Path(tmp) / "base"
        with tarfile.open(archive) as tar:
            tar.extractall(base)
        for case in cases:
            best = {key: float("inf") for key in ("before", "after", "before_cpu", "after_cpu")}
            results = {}
            for _ in range(args.rounds if case[0] == "step" else 1):
                for label, tree in (("before", base), ("after", ROOT)):
                    results[label] = _run(tree, *case)
                    best[label] = min(best[label], results[label]["seconds"])
                    best[label + "_cpu"] = min(best[label + "_cpu"], results[label]["cpu"])
            row = dict(
                case=case[0],
                args=list(case[2:]),
                before_s=best["before"],
                after_s=best["after"],
                speedup=best["before"] / best["after"],
                before_cpu_s=best["before_cpu"],
                after_cpu_s=best["after_cpu"],
                speedup_cpu=best["before_cpu"] / best["after_cpu"],
            )
            if case[0] == "step":
                g0, g1 = results["before"]["grad"], results["after"]["grad"]
                row["max_grad_change_rel"] = max(abs(a - b) for a, b in zip(g0, g1)) / max(abs(b) for b in g1)
            rows.append(row)
            print(json.dumps(row), flush=True)
    with open(args.json, "w") as fh:
        json.dump(dict(against=args.against, rounds=args.rounds, repeats=args.repeats, rows=rows), fh, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
