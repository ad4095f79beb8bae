"""Follow one parameter object through the calls of a public entry (issue 21's "walks").

Method: ``sys.setprofile`` sees every Python call; a call is on the walk when one of its arguments is the followed
object, or holds it one level down (a dataclass field, a tuple/list/dict entry). "stays" counts those calls (outside
the entry itself); "returns" counts the calls that enter a module file the walk had left before (A → B → A counts
once). Also counted: every call of ``activations.get_activation`` during the entry, and every call of
``activations.lookup`` (what ``get_activation`` and the contracts' ``ActivationName`` resolve through; absent in trees
before the contracts: "-"). Run with PYTHONPATH set to the
tree to measure (the API of that tree is detected):

    PYTHONPATH=/path/to/tree python benchmarks/walks.py
"""

import dataclasses
import inspect
import os
import sys

import numpy as np
import torch

import companion
from companion.analysis import coupling, decomposition
from companion.engine import get_activation, init_particles, simulate, teacher


def _holds(value, obj):
    if value is obj:
        return True
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(getattr(value, f.name, None) is obj for f in dataclasses.fields(value))
    if isinstance(value, (tuple, list)):
        return any(item is obj for item in value)
    if isinstance(value, dict):
        return any(item is obj for item in value.values())
    return False


def walk(obj, entry, *args, **kwargs):
    """(stays, returns, get_activation calls, lookup calls) of ``obj`` through ``entry(*args, **kwargs)``."""
    root = os.path.dirname(companion.__file__)
    files, counts = [], {"get_activation": 0, "lookup": 0}

    def profile(frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        if code.co_name in counts and code.co_filename.endswith("activations.py"):
            counts[code.co_name] += 1
        if not code.co_filename.startswith(root):
            return
        names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        if any(_holds(frame.f_locals.get(name), obj) for name in names):
            files.append(os.path.relpath(code.co_filename, root))

    sys.setprofile(profile)
    try:
        entry(*args, **kwargs)
    finally:
        sys.setprofile(None)
    files = files[1:]  # the entry itself
    left, returns = set(), 0
    for previous, current in zip([None] + files[:-1], files):
        if current != previous:
            if current in left:
                returns += 1
            if previous is not None:
                left.add(previous)
    from companion.engine import activations

    lookups = counts["lookup"] if hasattr(activations, "lookup") else "-"
    return len(files), returns, counts["get_activation"], lookups


def main():
    torch.set_num_threads(1)
    act = get_activation("erf")
    target = teacher(act, torch.tensor([1.0, 1.0]), torch.eye(3)[:2])
    theta0 = init_particles("gaussian", 2, 8, 3, rng=0)
    X = torch.randn(2, 16, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    data = {16: (X, target(X))}
    rows = {}
    rows["simulate : activation"] = walk(act, simulate, theta0, act, target, eta=0.1, steps=3, tau=0.01, progress=False)
    new_api = "problem" in inspect.signature(coupling.coupled_run).parameters
    scale = float(np.float64(0.5) + 1e-17)  # a float object of its own
    if new_api:
        from companion.engine.spec import StartingLaw, problem

        prob = problem(act, target)
        rows["coupled_run : target"] = walk(
            target,
            coupling.coupled_run,
            prob,
            R=2,
            N_ref=8,
            sizes=[4],
            init_seed=0,
            seed=0,
            eta=0.1,
            steps=3,
            record_steps=[0, 3],
            tau=0.01,
        )
        law = StartingLaw(scale=scale)
        rows["simulate_chain : scale"] = walk(
            scale,
            decomposition.simulate_chain,
            prob,
            R=2,
            N_ref=8,
            init_seed=0,
            law=law,
            N_values=[4],
            datasets=data,
            pairs=[(16, 4)],
            eta=0.1,
            times=[0.1, 0.3],
            t_inf=0.4,
            window=0.2,
            lam=0.1,
            tau=0.01,
            snapshots=2,
        )
        chain = decomposition.simulate_chain(
            prob,
            R=2,
            N_ref=8,
            init_seed=0,
            N_values=[4],
            datasets=data,
            pairs=[(16, 4)],
            eta=0.1,
            times=[0.1, 0.3],
            t_inf=0.4,
            window=0.2,
            lam=0.1,
            tau=0.01,
            snapshots=2,
        )
        rows["decomposition_table : activation"] = walk(
            chain.problem.activation, decomposition.decomposition_table, chain
        )
    else:
        rows["coupled_run : target"] = walk(
            target,
            coupling.coupled_run,
            activation=act,
            target=target,
            R=2,
            N_ref=8,
            d=3,
            sizes=[4],
            init_seed=0,
            seed=0,
            eta=0.1,
            steps=3,
            record_steps=[0, 3],
            tau=0.01,
        )
        rows["simulate_chain : scale"] = walk(
            scale,
            decomposition.simulate_chain,
            act,
            target,
            R=2,
            N_ref=8,
            d=3,
            init_seed=0,
            scale=scale,
            N_values=[4],
            datasets=data,
            pairs=[(16, 4)],
            eta=0.1,
            times=[0.1, 0.3],
            t_inf=0.4,
            window=0.2,
            lam=0.1,
            tau=0.01,
            snapshots=2,
        )
        chain = decomposition.simulate_chain(
            act,
            target,
            R=2,
            N_ref=8,
            d=3,
            init_seed=0,
            N_values=[4],
            datasets=data,
            pairs=[(16, 4)],
            eta=0.1,
            times=[0.1, 0.3],
            t_inf=0.4,
            window=0.2,
            lam=0.1,
            tau=0.01,
            snapshots=2,
        )
        rows["decomposition_table : activation"] = walk(act, decomposition.decomposition_table, chain, act, target)
    print(f"{'entry : parameter':36s} stays returns get_activation lookup")
    for name, (stays, returns, calls, lookups) in rows.items():
        print(f"{name:36s} {stays:5d} {returns:7d} {calls:14d} {lookups:>6}")


if __name__ == "__main__":
    main()
