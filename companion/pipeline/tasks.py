"""Experiments as tasks: pure functions of explicit arguments, cached under a derived key, run here or on Dask.

A **task** is a module-level function (in ``companion.engine``/``companion.analysis``, or defined in a notebook
cell) called with keyword arguments that are plain values (None, bool, int, float, str, lists, tuples, dicts with
str keys), torch tensors, NumPy arrays, torch dtypes or devices, or engine objects that say what determines them
through a ``cache_state()`` method (``Target``, ``Activation``). A notebook runs tasks through its
:class:`~companion.pipeline.notebook.Notebook`::

    def train(N, replicas, X, y, entropy, dtype, device):          # a notebook cell, module level
        theta0 = init_particles(..., rng=np.random.default_rng(np.random.SeedSequence(entropy)), dtype=dtype, ...)
        return simulate(theta0, ...).particles

    runs = nb.map(train, [dict(N=N, replicas=8, X=X, y=y, entropy=[nb.seed, N], dtype=nb.dtype, device=nb.device)
                          for N in widths])                        # results in the order of the calls
    one = nb.run(train, N=64, replicas=8, ...)                     # a single task

Seeds, dtype and device are arguments (never global state), so a task gives the same bits wherever it runs.

**The key is derived** (:func:`task_key`), never written: the function's module and qualified name, its source and
that of the notebook functions it calls, the digests of the engine/analysis modules it reaches (its globals that
are layer modules or layer functions, closed over their intra-package imports, :mod:`~companion.pipeline.fingerprint`),
every argument (defaults included; tensors and arrays by their bytes, dtype, shape and device), the notebook's
dtype and device, torch's default dtype and the versions of Python, torch, NumPy and SciPy. Editing any of these
recomputes; editing a plotting cell, the report or a pipeline module does not.

**No hidden state.** Before its first run a task's code is inspected (:func:`check_pure`, from the global names its
bytecode loads, nested code included): every global it reads must be a module, a builtin, a function or class
defined in another module, or another function of the same notebook (checked in turn, its source keyed). A notebook
global holding data (``X_train``, ``CONV_STEPS``), a closure or a global write raises :class:`HiddenStateError`
naming the function and the names: pass them as arguments instead.

**Where tasks run.** By default in the notebook's own process, one after the other. With ``scheduler`` (the
notebook takes ``$COMPANION_SCHEDULER``, e.g. ``tcp://host:8786``; ``make figures SCHEDULER=...`` sets it) the
missing tasks are submitted to that Dask scheduler through ``distributed.Client`` and gathered as they finish; each
result is stored in the cache as soon as it arrives, so after a crash, a killed worker or a lost connection a rerun
submits only what is missing. Workers run with the notebook's torch thread count and default dtype, and check that
they import the same engine/analysis source and versions as the key says, and the same source of the package
modules that run the task there (:func:`~companion.pipeline.fingerprint.runner_modules`: the package's
``__init__`` and the pipeline), else :class:`WorkerMismatch`. The client connects with the TLS security of
:func:`security_for` (``$COMPANION_TLS_*`` or Dask's configuration); plain TCP only to this machine unless
``$COMPANION_DASK_INSECURE=1``. A task
that raises fails with :class:`TaskFailed` naming the function, its arguments and the (remote) traceback.
"""

import builtins
import dis
import hashlib
import inspect
import json
import os
import time
import traceback
import types

import numpy as np
import torch

from companion.pipeline import cache, fingerprint

ALLOWED_SCALARS = (type(None), bool, int, str)


class HiddenStateError(TypeError):
    """A task function reads state that is not one of its arguments."""


class TaskFailed(RuntimeError):
    """A task raised; the message names the function, its arguments and the traceback."""


class WorkerMismatch(RuntimeError):
    """A Dask worker imports engine/analysis or pipeline source (or versions) that differ from the notebook's."""


def task_name(fn):
    """``module.qualname`` of the task function ``fn``."""
    return f"{fn.__module__}.{fn.__qualname__}"


# --- arguments -----------------------------------------------------------------------------------------------


def _array_digest(raw, dtype, shape, device):
    return {"array": hashlib.sha256(raw).hexdigest(), "dtype": dtype, "shape": list(shape), "device": device}


def canonical_value(value, name):
    """``value`` as tagged JSON data for the key: tensors and arrays by the SHA-256 of their bytes with dtype,
    shape and device; floats by ``repr`` (exact); tuples tagged apart from lists. Else TypeError naming ``name``."""
    if isinstance(value, ALLOWED_SCALARS):
        return value
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, np.generic):
        return {"numpy": str(value.dtype), "value": canonical_value(value.item(), name)}
    if isinstance(value, torch.Tensor):
        # A fresh dense copy: an expanded tensor (stride 0) can be "contiguous" yet not viewable as bytes.
        flat = torch.empty(value.numel(), dtype=value.dtype).copy_(value.detach().reshape(-1))
        raw = flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""
        return {"tensor": _array_digest(raw, str(value.dtype), value.shape, str(value.device))}
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError(f"{name}: object arrays have no byte form; use a numeric array")
        return {"ndarray": _array_digest(np.ascontiguousarray(value).tobytes(), str(value.dtype), value.shape, "cpu")}
    if isinstance(value, (torch.dtype, torch.device)):
        return {type(value).__name__: str(value)}
    if isinstance(value, list):
        return [canonical_value(item, f"{name}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, tuple):
        return {"tuple": [canonical_value(item, f"{name}[{i}]") for i, item in enumerate(value)]}
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError(f"{name}: dictionary keys must be strings, got {list(value)!r}")
        return {"dict": {key: canonical_value(item, f"{name}[{key!r}]") for key, item in sorted(value.items())}}
    if callable(getattr(value, "cache_state", None)):  # engine objects such as Target and Activation
        kind = f"{type(value).__module__}.{type(value).__qualname__}"
        return {"object": kind, "state": canonical_value(value.cache_state(), f"{name}.cache_state()")}
    raise TypeError(
        f"{name}: a task argument must be a plain value (None, bool, int, float, str, list, tuple, "
        f"dict), a tensor, an array, a dtype, a device or an object with cache_state() (a Target, an "
        f"Activation); got {type(value).__name__}"
    )


def _short(value):
    if isinstance(value, torch.Tensor):
        return f"tensor({str(value.dtype).removeprefix('torch.')}, {tuple(value.shape)}, {value.device})"
    if isinstance(value, np.ndarray):
        return f"array({value.dtype}, {value.shape})"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def describe_call(fn, kwargs):
    """``name(arg=value, ...)`` with tensors and arrays summarised, for messages."""
    return f"{task_name(fn)}({', '.join(f'{key}={_short(value)}' for key, value in kwargs.items())})"


def bind_arguments(fn, kwargs):
    """All of ``fn``'s arguments for the call ``fn(**kwargs)``, defaults applied; TypeError naming the task."""
    if not isinstance(kwargs, dict):
        raise TypeError(f"calls: each call of {task_name(fn)} must be a dict of keyword arguments, got {kwargs!r}")
    try:
        bound = inspect.signature(fn).bind(**kwargs)
    except TypeError as err:
        raise TypeError(f"{describe_call(fn, kwargs)}: {err}") from None
    bound.apply_defaults()
    return dict(bound.arguments)


# --- the function --------------------------------------------------------------------------------------------


def _code_objects(code):
    yield code
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _code_objects(constant)


def global_names(fn):
    """``(loaded, stored)``: global names the bytecode of ``fn`` (nested functions and comprehensions included)
    reads and writes."""
    loaded, stored = set(), set()
    for code in _code_objects(fn.__code__):
        for instruction in dis.get_instructions(code):
            if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                loaded.add(instruction.argval)
            elif instruction.opname in ("STORE_GLOBAL", "DELETE_GLOBAL"):
                stored.add(instruction.argval)
    return loaded, stored


def _is_task_function(fn):
    return isinstance(fn, types.FunctionType) and "<" not in fn.__qualname__


def _source(fn):
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError) as err:
        raise TypeError(
            f"fn: the source of {task_name(fn)} cannot be read ({err}); define it in a file or a notebook cell"
        ) from None


def check_pure(fn):
    """Inspect the task function ``fn``: ``(sources, modules)``, the source of ``fn`` and of the same-module
    functions it calls (``{qualname: source}``) and the sorted engine/analysis modules it reaches.

    Functions of the layers themselves are keyed by their module's source. Raises TypeError for something that is
    not a module-level function and :class:`HiddenStateError` for reads of data globals, closures or global writes.
    """
    if not _is_task_function(fn):
        raise TypeError(
            f"fn: a task must be a module-level function (no lambda, method or nested function), got {fn!r}"
        )
    if fingerprint.in_layers(fn.__module__):
        return {}, fingerprint.reachable_modules([fn.__module__])
    sources, roots, stack = {}, set(), [fn]
    while stack:
        current = stack.pop()
        if current.__qualname__ in sources:
            continue
        sources[current.__qualname__] = _source(current)
        if current.__closure__:
            raise HiddenStateError(
                f"{task_name(current)} closes over {current.__code__.co_freevars}: a task "
                "must be a module-level function of its arguments"
            )
        loaded, stored = global_names(current)
        if stored:
            raise HiddenStateError(
                f"{task_name(current)} writes the globals {sorted(stored)}: a task must not "
                "change state outside its result"
            )
        hidden = []
        for name in sorted(loaded):
            if name not in current.__globals__:
                if not hasattr(builtins, name):
                    hidden.append(name)
                continue
            value = current.__globals__[name]
            if isinstance(value, types.ModuleType):
                roots.add(value.__name__)
            elif _is_task_function(value) and value.__globals__ is current.__globals__:
                stack.append(value)
            elif (
                inspect.isfunction(value)
                or inspect.isbuiltin(value)
                or inspect.isclass(value)
                or isinstance(value, np.ufunc)
            ):
                module = getattr(value, "__module__", None) or ""
                if module == current.__module__:
                    hidden.append(name)  # a class (or odd callable) of the notebook itself: its code is not keyed
                roots.add(module)
            else:
                hidden.append(name)
        if hidden:
            raise HiddenStateError(
                f"{task_name(current)} reads the global(s) {hidden}, which are not its arguments (nor modules, "
                "builtins or functions): pass them as keyword arguments, or the cache could return a result "
                "computed from other values"
            )
    return sources, fingerprint.reachable_modules(roots)


# --- the key -------------------------------------------------------------------------------------------------


def task_key(fn, kwargs, *, dtype, device, inspected=None):
    """Canonical JSON text of the call ``fn(**kwargs)`` under the notebook's ``dtype`` and ``device``
    (see the module docstring); ``inspected`` is :func:`check_pure`'s result when already known."""
    sources, modules = inspected if inspected is not None else check_pure(fn)
    arguments = bind_arguments(fn, kwargs)
    document = {
        "task": task_name(fn),
        "sources": sources,
        "modules": fingerprint.source_digests(modules),
        "arguments": {name: canonical_value(value, name) for name, value in arguments.items()},
        "dtype": str(dtype),
        "device": str(device),
        "default_dtype": str(torch.get_default_dtype()),
        "environment": fingerprint.environment(),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


# --- running -------------------------------------------------------------------------------------------------


def execute(fn, kwargs, threads, default_dtype, modules, environment):
    """Run ``fn(**kwargs)`` with ``threads`` torch threads and ``default_dtype``, after checking that this process
    imports engine/analysis source with the digests ``modules`` and has the versions ``environment`` (the function
    Dask workers run; the notebook's key assumes both)."""
    differing = sorted(name for name, digest in modules.items() if fingerprint.module_digest(name) != digest)
    if differing:
        raise WorkerMismatch(
            f"this worker's source of {differing} differs from the notebook's: restart the "
            "workers on the notebook's checkout"
        )
    if fingerprint.environment() != environment:
        raise WorkerMismatch(
            f"this worker has {fingerprint.environment()}, the notebook {environment}: install "
            "the same pinned versions on the workers"
        )
    saved = torch.get_num_threads(), torch.get_default_dtype()
    torch.set_num_threads(threads)
    torch.set_default_dtype(default_dtype)
    try:
        return fn(**kwargs)
    finally:
        torch.set_num_threads(saved[0])
        torch.set_default_dtype(saved[1])


_CLIENTS = {}
TLS_VARIABLES = {
    "COMPANION_TLS_CA_FILE": "tls_ca_file",
    "COMPANION_TLS_CERT": "tls_client_cert",
    "COMPANION_TLS_KEY": "tls_client_key",
}
LOOPBACK = ("127.", "localhost", "[::1]", "::1")


def security_for(address, environ=None):
    """The ``distributed.security.Security`` the client connects to ``address`` with.

    ``$COMPANION_TLS_CA_FILE``, ``$COMPANION_TLS_CERT`` and ``$COMPANION_TLS_KEY`` (PEM files: the certificate
    authority that signed the scheduler's and workers' certificates, and this client's certificate and key) give
    mutual TLS with encryption required; the address must then be ``tls://``. Without them, Dask's own configuration
    applies (``distributed.comm.tls.*``, ``distributed.comm.require-encryption``: ``Security()`` reads it).
    A plain ``tcp://`` connection is accepted only to this machine (loopback), or with
    ``$COMPANION_DASK_INSECURE=1`` said explicitly: results come back from the workers as pickles, so a scheduler
    reached without authentication could send code. ValueError naming the variable otherwise."""
    from distributed.security import Security

    environ = os.environ if environ is None else environ
    given = {name: environ.get(name) for name in TLS_VARIABLES if environ.get(name)}
    scheme, _, host = address.partition("://")
    if given:
        missing = sorted(set(TLS_VARIABLES) - set(given))
        if missing:
            raise ValueError(f"{missing[0]}: TLS needs all of {sorted(TLS_VARIABLES)}; {missing} not set")
        for name, path in given.items():
            if not os.path.isfile(path):
                raise ValueError(f"{name}: {path!r} is not a file")
        if scheme != "tls":
            raise ValueError(f"scheduler: {address!r} with TLS configured ({sorted(given)}): use a tls:// address")
        return Security(require_encryption=True, **{TLS_VARIABLES[name]: path for name, path in given.items()})
    security = Security()
    if scheme == "tls" and not security.tls_ca_file:
        raise ValueError(
            f"scheduler: {address!r} is a TLS address but no certificates are configured: set "
            f"{', '.join(TLS_VARIABLES)} (or Dask's distributed.comm.tls configuration)"
        )
    if scheme == "tcp" and not host.startswith(LOOPBACK) and environ.get("COMPANION_DASK_INSECURE") != "1":
        raise ValueError(
            f"scheduler: {address!r} is an unencrypted, unauthenticated connection to another machine; "
            f"configure TLS ({', '.join(TLS_VARIABLES)} and a tls:// address) or set "
            "COMPANION_DASK_INSECURE=1 to accept it on a network you trust"
        )
    return security


def client_for(address):
    """A connected ``distributed.Client`` for the scheduler at ``address`` (reused while it stays connected),
    with the security of :func:`security_for`."""
    from distributed import Client

    client = _CLIENTS.get(address)
    if client is None or client.status != "running":
        client = _CLIENTS[address] = Client(
            address, timeout="30s", set_as_default=False, security=security_for(address)
        )
    return client


def _failure(fn, kwargs, where, error, trace):
    return TaskFailed(
        f"task {describe_call(fn, kwargs)} failed {where}: {type(error).__name__}: {error}\n{where} traceback:\n{trace}"
    )


def _run_here(fn, pending, settings):
    for canonical, kwargs in pending.items():
        try:
            value = execute(fn, kwargs, *settings)
        except Exception as error:
            raise _failure(fn, kwargs, "in-process", error, traceback.format_exc()) from error
        yield canonical, value


def _run_on_cluster(fn, pending, settings, address):
    from distributed import as_completed

    client = client_for(address)
    futures = {}
    for canonical, kwargs in pending.items():
        key = f"{fn.__name__}-{hashlib.sha256(canonical.encode()).hexdigest()}"
        futures[client.submit(execute, fn, kwargs, *settings, key=key, pure=False)] = canonical
    try:
        for future in as_completed(list(futures), loop=client.loop):
            canonical = futures[future]
            if future.status == "error":
                error = future.exception()
                if isinstance(error, WorkerMismatch):
                    raise WorkerMismatch(f"{error} (scheduler {address})") from None
                trace = "".join(traceback.format_tb(future.traceback()))
                raise _failure(fn, pending[canonical], f"on the Dask cluster at {address}", error, trace) from error
            value = future.result()
            future.release()  # the worker may drop it: the notebook stores it now
            yield canonical, value
    finally:
        client.cancel([future for future in futures if not future.done()])


def run_tasks(fn, calls, *, directory, dtype, device, scheduler=None, manifest=None, log=print):
    """The results of ``fn(**call)`` for each of ``calls``, in order, from the cache in ``directory`` or computed
    (in-process, or on the Dask scheduler at ``scheduler``) and stored as each one finishes.

    Identical calls run once. ``manifest`` (a :class:`~companion.pipeline.cache.RunManifest`) records the entries
    used. ``log`` receives one summary line (tasks, cache hits, where the rest ran, seconds).
    """
    calls = list(calls)
    if not calls:
        raise ValueError(f"calls: expected at least one dict of keyword arguments for {task_name(fn)}")
    inspected = check_pure(fn)
    # What the worker checks: the layer modules the task reaches and the package modules that run it there.
    modules = fingerprint.source_digests([*inspected[1], *fingerprint.runner_modules()])
    started = time.perf_counter()
    keys = [task_key(fn, kwargs, dtype=dtype, device=device, inspected=inspected) for kwargs in calls]
    values, pending = {}, {}
    for canonical, kwargs in zip(keys, calls):
        path = cache.entry_path(directory, canonical)
        if manifest is not None:
            manifest.record(path)
        if canonical in values or canonical in pending:
            continue
        found, value = cache.lookup(path, canonical)
        if found:
            values[canonical] = value
        else:
            pending[canonical] = kwargs
    hits = len(values)
    checked = cache.verification_sample(values)  # `make cache-verify`: hits recomputed and compared
    if pending or checked:
        settings = (torch.get_num_threads(), torch.get_default_dtype(), modules, fingerprint.environment())
        work = {**pending, **{canonical: calls[keys.index(canonical)] for canonical in checked}}
        stream = _run_here(fn, work, settings) if scheduler is None else _run_on_cluster(fn, work, settings, scheduler)
        for canonical, value in stream:
            path = cache.entry_path(directory, canonical)
            if canonical in checked:
                cache.report_verification(task_name(fn), path, values[canonical], value, log)
            cache.store_entry(path, canonical, value)
            values[canonical] = value
    where = "in-process" if scheduler is None else f"on {scheduler}"
    log(
        f"{fn.__qualname__}: {len(calls)} tasks, {hits} from the cache, {len(pending)} computed {where}"
        + (f", {len(checked)} cached results recomputed to verify them" if checked else "")
        + f" ({time.perf_counter() - started:.2f} s)"
    )
    return [values[canonical] for canonical in keys]
