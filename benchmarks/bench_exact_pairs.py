"""Cost of the exact flagged pairs: one tanh population gradient step (R = 16, N = 256, d = 4, tanh teacher with 2
ridges) in this tree against a git revision before them (``--against``, exported with ``git archive``), in the same
run: the two trees are timed in alternating subprocesses (``--rounds`` each, best of ``--repeats`` calls per round,
one torch thread), so load on the machine hits both alike. Two particle clouds: Gaussian init scale 0.25 (norms ≲ 1,
the common case) and 1.0 (norms ≈ 2, where the series alone is off by up to ~1e-6 and many pairs are flagged).

    python benchmarks/bench_exact_pairs.py --against f2d7488
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

CHILD = r"""
import json, sys, time, torch
torch.set_num_threads(1)
from companion.engine.gradients import population_grad
from companion.engine.init import init_particles
from companion.engine.targets import teacher
scale, repeats = float(sys.argv[1]), int(sys.argv[2])
theta = init_particles("gaussian", 16, 256, 4, scale=scale, rng=1, dtype=torch.float64)
target = teacher("tanh", torch.tensor([0.5, -0.5], dtype=torch.float64), torch.eye(4, dtype=torch.float64)[:2])
grad, risk = population_grad(theta, "tanh", target)
best = float("inf")
for _ in range(repeats):
    start = time.perf_counter()
    population_grad(theta, "tanh", target)
    best = min(best, time.perf_counter() - start)
norms = theta[..., 1:].norm(dim=-1)
print(json.dumps(dict(seconds=best, grad=grad.flatten().tolist(), median_norm=norms.median().item(),
                      max_norm=norms.max().item())))
"""


def _time(tree, scale, repeats):
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(scale), str(repeats)],
        env=env,
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", required=True, help="git revision of the baseline (before the exact pairs)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "base.tar"
        subprocess.run(["git", "archive", "-o", str(archive), args.against, "companion"], cwd=ROOT, check=True)
        base = Path(tmp) / "base"
        with tarfile.open(archive) as tar:
            tar.extractall(base)
        for scale in (0.25, 1.0):
            best = {"before": float("inf"), "after": float("inf")}
            grads = {}
            for _ in range(args.rounds):
                for label, tree in (("before", base), ("after", ROOT)):
                    result = _time(tree, scale, args.repeats)
                    best[label] = min(best[label], result["seconds"])
                    grads[label] = result["grad"]
            diff = max(abs(a - b) for a, b in zip(grads["before"], grads["after"]))
            size = max(abs(b) for b in grads["after"])
            print(
                f"init scale {scale}: median |w| {result['median_norm']:.2f}, max {result['max_norm']:.2f}; "
                f"ms per step: before {1e3 * best['before']:.1f}, after {1e3 * best['after']:.1f}, "
                f"ratio after/before {best['after'] / best['before']:.2f}; "
                f"max |grad change| / max |grad| = {diff / size:.1e}",
                flush=True,
            )


if __name__ == "__main__":
    main()
