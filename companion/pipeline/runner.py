"""Execute one notebook source: jupytext to ``.ipynb``, papermill with the profile, figures installed when it ends.

``python -m companion.pipeline.runner notebooks/02_x.py --profile quick`` is what ``make figures`` runs for each
notebook. The notebook writes its figures into a staging folder (through ``$COMPANION_FIGURES``). When it runs to
the end, that folder replaces ``<figures root>/<stem>/`` and the merged ``claims.json`` is rewritten, also when some
claims failed (a failed claim is a result: it is recorded with ``passed: false``); a ``standard`` run also
publishes its executed notebook, outputs included, as ``<figures root>/notebooks/<stem>.ipynb``
(:mod:`companion.pipeline.publish`). When a cell raises anything else, the last good figures and executed
notebook stay.

A failed claim never raises in the kernel: ``nb.finish()`` writes ``claims.json`` and returns, so the executed
notebook holds no error output; the runner reads the staged records and sets the exit status
(:data:`EXIT_STATUSES`): 0 all claims and checks pass, 3 the run ended with failed claims (installed and recorded),
1 the notebook did not run to the end (a cell raised, no ``nb.finish()``, a folder that cannot be written: one line
on stderr), 2 a usage error (argparse). ``make figures`` accepts only 3 besides 0.

Before the kernel starts, the figures root, the build folder and the cache root must be writable (one line naming
the folder otherwise). The kernel keeps its IPython, matplotlib, Jupyter runtime and torch compile state under
``<build>/state/`` (:data:`STATE_VARIABLES`), so a run writes nothing to ``$HOME``.
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
import papermill
from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpecManager

from companion.pipeline import claims
from companion.pipeline.cache import ENTRY_SUFFIX, atomic_write_bytes, size_line
from companion.pipeline.device import resolve_device
from companion.pipeline.install import install_folder
from companion.pipeline.paths import COMMITTED_PROFILE, PROFILES, build_root, cache_root
from companion.pipeline.paths import figures_root as default_figures_root
from companion.pipeline.provenance import figures_lock, git_state, validate_stem
from companion.pipeline.publish import EXECUTED_FOLDER, executed_path, publish_executed
from companion.pipeline.report import write_merged_claims

KERNEL = "companion"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
CLAIMS_FAILED_STATUS = 3
EXIT_STATUSES = {
    0: "all claims and checks pass",
    1: "the notebook did not run to the end",
    2: "usage error (argparse)",
    CLAIMS_FAILED_STATUS: "ran to the end; some claims or checks failed",
}
# Where the kernel's tools keep state, relative to <build>/state: nothing of a run goes to $HOME or the system temp.
STATE_VARIABLES = {
    "IPYTHONDIR": "ipython",
    "MPLCONFIGDIR": "matplotlib",
    "JUPYTER_RUNTIME_DIR": "jupyter-runtime",
    "TORCHINDUCTOR_CACHE_DIR": "torch-inductor",
    "TRITON_CACHE_DIR": "triton",
}
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
WARNING_LINE = re.compile(r"\b\w*Warning: ")


class NotebookFailed(RuntimeError):
    """A notebook did not run to the end; the message names the notebook, the cell and its failing line."""


def ipc_kernel_manager(folder):
    """A kernel manager class that talks to the kernel over IPC sockets in ``folder`` instead of plain TCP.

    The socket paths are absolute (``<folder>/kernel-<n>``), so the kernel (working in the notebook's folder)
    and the runner find the same files, and concurrent runs with their own folders never collide.
    """

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.transport = "ipc"
            self.ip = str(Path(folder).resolve() / "kernel")

    return IPCKernelManager


@dataclass(frozen=True)
class Run:
    """A notebook that ran to the end: its installed figures folder, its claim records and what changed against the
    results installed before it (:mod:`companion.pipeline.install`)."""

    folder: Path
    claims: list
    changes: list = ()

    @property
    def failed(self):
        """The claims that did not pass."""
        return claims.failed_claims(self.claims)


def parameters_cell_count(notebook):
    """How many cells of ``notebook`` carry the ``parameters`` tag."""
    return sum("parameters" in cell.get("metadata", {}).get("tags", []) for cell in notebook.cells)


def convert(source, destination):
    """Write the jupytext notebook ``source`` as ``.ipynb`` at ``destination``; it must have one parameters cell."""
    notebook = jupytext.read(source)
    count = parameters_cell_count(notebook)
    if count != 1:
        raise ValueError(f"source: {source} has {count} cells tagged 'parameters'; papermill needs exactly one")
    atomic_write_bytes(destination, jupytext.writes(notebook, fmt="ipynb").encode())
    return destination


def failing_line(error):
    """``(line number in the cell, text of that line)`` where ``error`` (a papermill execution error) was raised.

    Read from the traceback's last frame in the failing cell (``Cell In[n], line k``); falls back to the cell's
    first non-blank line (line None) when the traceback names no line of that cell.
    """
    lines = str(error.source).splitlines()
    traceback = ANSI_ESCAPE.sub("", "\n".join(error.traceback or []))
    numbers = [
        int(k) for n, k in re.findall(r"Cell In\s*\[(\d+)\], line (\d+)", traceback) if str(n) == str(error.exec_count)
    ]
    if numbers and 1 <= numbers[-1] <= len(lines):
        return numbers[-1], lines[numbers[-1] - 1].strip()
    return None, next((line.strip() for line in lines if line.strip()), "")


def failing_cell(error, source=None):
    """The cell behind a papermill execution error: where it failed (the notebook source's line when ``source``
    holds the cell verbatim), the failing source line and the error."""
    number, text = failing_line(error)
    where = f"cell In [{error.exec_count}]"
    if number is not None:
        where += f", line {number}"
        file_text = Path(source).read_text() if source is not None else ""
        offset = file_text.find(str(error.source)) if error.source else -1
        if offset >= 0:
            where = f"{source}:{file_text[:offset].count(chr(10)) + number} ({where})"
    message = "\n".join(str(error.evalue).strip().splitlines()[:20])
    return f"{where} `{text}`: {error.ename}: {message}"


def notebook_warnings(executed):
    """The warning lines (``...Warning: ...``) that the cells of the executed notebook at ``executed`` wrote to
    stderr, in order, each once (the corrupt-cache warning among them)."""
    found = []
    for cell in nbformat.read(executed, as_version=4).cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                for line in output.get("text", "").splitlines():
                    if WARNING_LINE.search(line) and line.strip() not in found:
                        found.append(line.strip())
    return found


def remove_stale_staging(build_dir, stem):
    """Remove ``<build_dir>/<stem>.figures.<pid>.*`` staging folders whose process is gone (killed runs).

    A folder whose name carries no process id is from an older runner and is removed too.
    """
    for folder in Path(build_dir).glob(f"{stem}.figures.*"):
        parts = folder.name[len(stem) + len(".figures.") :].split(".", 1)
        if folder.is_dir() and not (parts[0].isdigit() and process_alive(int(parts[0]))):
            shutil.rmtree(folder, ignore_errors=True)


def process_alive(pid):
    """Whether a process with id ``pid`` exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def install_and_merge(staging, figures_root, stem, executed=None):
    """Under the figures root's lock: install ``staging`` as ``<figures_root>/<stem>`` keeping what the run
    reproduces (:func:`companion.pipeline.install.install_folder`), publish the executed notebook at ``executed``
    (if given) as ``<figures_root>/notebooks/<stem>.ipynb`` unless the previous one shows the same results
    (:func:`companion.pipeline.publish.publish_executed`), and rewrite the merged ``claims.json``.
    Returns ``(records, changes)``: the notebook's claim records and what changed against the previous results."""
    claims_path = Path(figures_root) / stem / "claims.json"
    with figures_lock(figures_root):
        changes = install_folder(staging, claims_path.parent)
        if executed is not None:
            publish_executed(executed, executed_path(figures_root, stem), results_changed=bool(changes))
        write_merged_claims(figures_root)
        return (claims.read_claims(claims_path) if claims_path.is_file() else []), changes


@contextlib.contextmanager
def tool_state(folder):
    """Point the tools' state folders (:data:`STATE_VARIABLES`) under ``folder`` for the duration of the run (the
    kernel inherits them), then restore the environment."""
    saved = {name: os.environ.get(name) for name in STATE_VARIABLES}
    try:
        for name, sub in STATE_VARIABLES.items():
            (Path(folder) / sub).mkdir(parents=True, exist_ok=True)
            os.environ[name] = str(Path(folder) / sub)
        yield Path(folder)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def check_writable(folder, parameter):
    """Create ``folder`` if needed and write and remove a small file in it; OSError as one line naming
    ``parameter`` and the folder otherwise (before any work is done)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".writable.") as probe:
            probe.write(b"x" * 4096)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as err:
        raise OSError(err.errno, f"{parameter}: cannot write to {folder} ({err.strerror or err})") from None
    return folder


def one_line(error):
    """An OSError as one line: its message and the file it concerns."""
    text = error.strerror or str(error)
    return f"{text}: {error.filename}" if error.filename and str(error.filename) not in text else text


def execute_notebook(source, profile="standard", figures_root=None, build_dir=None, kernel=KERNEL, parameters=None):
    """Run the notebook ``source`` with papermill under ``profile`` and install its figures.

    Executed notebooks go to ``build_dir`` (default ``<repo>/build``), figures to ``figures_root/<stem>/``
    (default :func:`companion.pipeline.paths.figures_root` of the profile); a ``standard`` run that reaches the
    end also publishes its executed notebook to ``figures_root/notebooks/<stem>.ipynb``, quick and paper runs never. ``parameters`` adds papermill
    parameters (``seed``, ``device``). Returns a :class:`Run` (its ``failed`` claims are installed and recorded);
    raises NotebookFailed naming the notebook, cell and line when a cell raised anything but failed claims.
    """
    source = Path(source)
    stem = validate_stem(source.stem, "source")
    if stem == EXECUTED_FOLDER:
        raise ValueError(f"source: the stem {stem!r} is reserved for the folder of executed notebooks")
    if not source.is_file():
        raise ValueError(f"source: {source} is not a file")
    if profile not in PROFILES:
        raise ValueError(f"profile: expected one of {PROFILES}, got {profile!r}")
    figures_root = Path(figures_root) if figures_root is not None else default_figures_root(profile)
    # Absolute: the kernel works in the notebook's folder, and writes to the staging folder inside build_dir.
    build_dir = (Path(build_dir) if build_dir is not None else build_root()).resolve()
    for folder, parameter in ((figures_root, "figures"), (build_dir, "build"), (cache_root(), "cache")):
        check_writable(folder, parameter)
    with tool_state(build_dir / "state"):
        return _execute(source, stem, profile, figures_root, build_dir, kernel, parameters)


def _execute(source, stem, profile, figures_root, build_dir, kernel, parameters):
    if kernel not in KernelSpecManager().find_kernel_specs():
        raise ValueError(f"kernel: no Jupyter kernel named {kernel!r}; `make setup` installs it into .venv")
    remove_stale_staging(build_dir, stem)
    converted = convert(source, build_dir / f"{stem}.source.ipynb")
    executed = build_dir / f"{stem}.ipynb"
    staging = Path(tempfile.mkdtemp(prefix=f"{stem}.figures.{os.getpid()}.", dir=build_dir))
    try:
        run_papermill(source, converted, executed, staging, kernel, {"profile": profile, **(parameters or {})})
        written = sorted(path.name for path in staging.iterdir())
        if written != [stem]:
            raise NotebookFailed(
                f"{source}: wrote figure folders {written}, expected ['{stem}'] "
                f"(setup_notebook's name must be the file stem)"
            )
        if not (staging / stem / "claims.json").is_file():
            raise NotebookFailed(
                f"{source}: ran to the end without nb.finish() (no claims.json); end the notebook with nb.finish()"
            )
        records, changes = install_and_merge(
            staging / stem, figures_root, stem, executed if profile == COMMITTED_PROFILE else None
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Run(figures_root / stem, records, changes)


def run_papermill(source, converted, executed, staging, kernel, parameters):
    """Execute ``converted`` into ``executed`` with figures going to ``staging`` (``$COMPANION_FIGURES``), and
    print the warnings its cells wrote. Returns normally when it ran to the end (failed claims are records, not
    errors); raises NotebookFailed (cell, line, error) otherwise."""
    executed.unlink(missing_ok=True)  # the warnings printed below must be this run's
    # The kernel inherits the environment: figures go to staging, no progress bars in executed notebooks and logs,
    # and the inline backend, so the executed notebook holds its figures even where MPLBACKEND=Agg is set.
    saved_environment = {
        name: os.environ.get(name) for name in ("COMPANION_FIGURES", "COMPANION_PROGRESS", "MPLBACKEND")
    }
    os.environ["COMPANION_FIGURES"] = str(staging)
    os.environ.setdefault("COMPANION_PROGRESS", "0")
    os.environ["MPLBACKEND"] = INLINE_BACKEND
    try:
        with tempfile.TemporaryDirectory(prefix="companion-kernel-") as sockets:
            papermill.execute_notebook(
                str(converted),
                str(executed),
                parameters=parameters,
                kernel_name=kernel,
                language="python",
                cwd=str(source.parent),
                progress_bar=False,
                kernel_manager_class=ipc_kernel_manager(sockets),
            )
    except papermill.PapermillExecutionError as error:
        raise NotebookFailed(
            f"{source} failed at {failing_cell(error, source)}\n  executed notebook: {executed}"
        ) from error
    except OSError as error:
        executed.unlink(missing_ok=True)  # a partial executed notebook
        raise OSError(error.errno, f"cannot execute {source} into {executed}: {one_line(error)}") from None
    finally:
        for name, value in saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        for line in notebook_warnings(executed) if executed.is_file() else []:
            print(f"[{source.stem}] {line}", file=sys.stderr, flush=True)


def claim_outcomes(folder):
    """``(claim, value, lo, hi, passed)`` of every claim recorded in ``folder``'s claims.json (empty if none)."""
    path = Path(folder) / "claims.json"
    records = claims.read_claims(path) if path.is_file() else []
    return [(r["claim"], r["value"], r["lo"], r["hi"], r["passed"]) for r in records]


def differences(recorded, rerun):
    """What differs between two figure folders of one notebook: the figures saved, the bytes of their CSV
    data, and the claims (values, ranges, verdicts). Empty when the rerun left every number unchanged."""
    data = [{path.name: path.read_bytes() for path in Path(folder).glob("*.csv")} for folder in (recorded, rerun)]
    found = []
    if sorted(data[0]) != sorted(data[1]):
        found.append(f"figures: recorded {sorted(data[0])}, rerun {sorted(data[1])}")
    found += [f"{name}: data differ" for name in sorted(set(data[0]) & set(data[1])) if data[0][name] != data[1][name]]
    if claim_outcomes(recorded) != claim_outcomes(rerun):
        found.append("claims.json: claim values or verdicts differ")
    return found


def record_verified(folder, revision):
    """Add ``revision`` to ``verified_unchanged_at`` of every figure record in ``folder`` (once; atomic writes)."""
    for path in sorted(Path(folder).glob("*.json")):
        if path.name == "claims.json":
            continue
        record = json.loads(path.read_text())
        if revision not in record.setdefault("verified_unchanged_at", []):
            record["verified_unchanged_at"].append(revision)
            atomic_write_bytes(path, (json.dumps(record, indent=2, sort_keys=True, allow_nan=False) + "\n").encode())


def verify_unchanged(source, profile, figures_root, build_dir, kernel, parameters):
    """Rerun ``source`` into ``<build_dir>/verify`` and, when its data and claims equal those recorded in
    ``figures_root/<stem>`` and the tree is clean, add HEAD to their ``verified_unchanged_at``.

    Returns the list of differences (empty: verified and recorded). ValueError when the tree has uncommitted
    changes (a verification must name a commit).
    """
    state = git_state()
    if state["dirty"] is not False or not state["revision"]:
        raise ValueError(
            "source: verifying needs a clean, committed tree (commit first); git reports "
            f"revision {state['revision']}, dirty {state['dirty']}"
        )
    build_dir = Path(build_dir) if build_dir is not None else build_root()
    recorded = (Path(figures_root) if figures_root is not None else default_figures_root(profile)) / Path(source).stem
    scratch = build_dir / "verify"
    shutil.rmtree(scratch / Path(source).stem, ignore_errors=True)
    run = execute_notebook(source, profile, scratch, build_dir, kernel, parameters)
    found = differences(recorded, run.folder)
    if not found:
        with figures_lock(recorded.parent):
            record_verified(recorded, state["revision"])
    return found


def cache_state(stem):
    """``"warm"`` when the notebook's cache folder holds entries before the run (its manifests do not count), else
    ``"cold"``."""
    folder = cache_root() / stem
    return "warm" if folder.is_dir() and any(path.is_file() for path in folder.glob(f"*{ENTRY_SUFFIX}")) else "cold"


def make_jobs(makeflags=None):
    """How many jobs ``make`` may run at once, read from ``$MAKEFLAGS``: 1 when serial or not under make,
    an int for ``-jN``, ``"unlimited"`` for a bare ``-j``."""
    makeflags = os.environ.get("MAKEFLAGS", "") if makeflags is None else makeflags
    match = re.search(r"(?:^|\s)-j(\d*)(?=\s|$)", makeflags)
    if match is None:
        return 1
    return int(match.group(1)) if match.group(1) else "unlimited"


def record_runtime(figures_root, stem, profile, seconds, device, cache="cold", jobs=1):
    """Log the wall time of a run in ``<figures root>/runtimes.json`` under (notebook, profile), labelled with
    the cache state at the start (``cold``/``warm``) and the ``make -j`` level it ran under (``jobs``).

    The figures root's lock is held while the file is rewritten, so parallel runs do not lose entries.
    """
    if cache not in ("cold", "warm"):
        raise ValueError(f"cache: expected 'cold' or 'warm', got {cache!r}")
    path = Path(figures_root) / "runtimes.json"
    with figures_lock(figures_root):
        runtimes = json.loads(path.read_text()) if path.is_file() else {}
        entry = {"seconds": round(seconds, 1), "device": device, "cpus": os.cpu_count(), "cache": cache, "jobs": jobs}
        previous = runtimes.get(stem, {}).get(profile)
        if not same_runtime(previous, entry):
            runtimes.setdefault(stem, {})[profile] = entry
            atomic_write_bytes(path, (json.dumps(runtimes, indent=2, sort_keys=True) + "\n").encode())
    return path


RUNTIME_FACTOR = 2.0


def same_runtime(previous, entry):
    """Whether the recorded run time ``previous`` stands for ``entry``: the same device, CPU count, cache state and
    concurrency, and seconds within a factor :data:`RUNTIME_FACTOR` (a rerun on a busy machine does not rewrite
    the published time; a change of configuration or a real speed-up does). A warm-cache time never replaces a
    cold-cache one of the same configuration: the cold time is what the notebook costs."""
    if not previous or any(previous.get(key) != entry[key] for key in ("device", "cpus", "jobs")):
        return False
    if (previous.get("cache"), entry["cache"]) == ("cold", "warm"):
        return True
    if previous.get("cache") != entry["cache"]:
        return False
    low, high = sorted((max(previous["seconds"], 0.1), max(entry["seconds"], 0.1)))
    return high <= RUNTIME_FACTOR * low


def main(argv=None):
    """Command line: run one notebook; exit status (:data:`EXIT_STATUSES`) 0, 3 (claims failed, recorded),
    1 (did not run to the end) or 2 (usage)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="notebook source, e.g. notebooks/00_mup_mean_field.py")
    parser.add_argument("--profile", default="standard", choices=PROFILES)
    parser.add_argument("--seed", type=int, help="override the notebook's seed parameter")
    parser.add_argument("--device", help="override the notebook's device parameter (auto, cpu, cuda)")
    parser.add_argument(
        "--figures",
        type=Path,
        help="figures root (default $COMPANION_FIGURES, else <repo>/figures for the standard "
        "profile and <repo>/build/figures/<profile> for the others)",
    )
    parser.add_argument("--build", type=Path, help="folder for executed notebooks (default <repo>/build)")
    parser.add_argument("--kernel", default=KERNEL, help="Jupyter kernel name (default: the project's)")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="rerun into <build>/verify and, if the data and claims equal the recorded ones, add "
        "HEAD to the recorded figures' verified_unchanged_at instead of replacing them",
    )
    args = parser.parse_args(argv)
    overrides = {name: value for name, value in (("seed", args.seed), ("device", args.device)) if value is not None}
    try:
        return verify_main(args, overrides) if args.verify else run_main(args, overrides)
    except (NotebookFailed, ValueError) as error:
        print(f"[{args.source.stem}] FAILED: {error}", file=sys.stderr, flush=True)
    except OSError as error:
        print(f"[{args.source.stem}] FAILED: {one_line(error)}", file=sys.stderr, flush=True)
    return 1


def changes_path(build_dir, stem):
    """Where a run writes what changed against the previous results: ``<build>/<stem>.changes.json``."""
    return (Path(build_dir) if build_dir is not None else build_root()) / f"{stem}.changes.json"


def write_changes(build_dir, stem, changes):
    """Write the run's list of changes (:func:`changes_path`), read by the report at the end of ``make figures``."""
    atomic_write_bytes(changes_path(build_dir, stem), (json.dumps(list(changes), indent=1) + "\n").encode())


def run_main(args, overrides):
    """Run ``args.source``, record its run time and what changed, print its failed claims; the exit status."""
    stem = args.source.stem
    changes_path(args.build, stem).unlink(missing_ok=True)  # a run that fails leaves no list of changes
    cache, jobs = cache_state(stem), make_jobs()
    started = time.perf_counter()
    print(
        f"[{stem}] running with profile {args.profile} ({cache} cache, {'serial' if jobs == 1 else f'make -j{jobs}'})",
        flush=True,
    )
    run = execute_notebook(args.source, args.profile, args.figures, args.build, args.kernel, overrides)
    seconds = time.perf_counter() - started
    write_changes(args.build, stem, run.changes)
    record_runtime(
        run.folder.parent, stem, args.profile, seconds, str(resolve_device(args.device or "auto")), cache, jobs
    )
    if run.failed:
        for record in run.failed:
            print(
                f"[{stem}] FAIL {claims.kind_of(record)}: {record['claim']}: {claims.value_text(record)} "
                f"(expected {claims.expected_range(record)})",
                file=sys.stderr,
                flush=True,
            )
        print(
            f"[{stem}] {len(run.failed)} of {len(run.claims)} claims and checks FAILED in {seconds:.0f} s; figures and "
            f"claims recorded in {run.folder}",
            file=sys.stderr,
            flush=True,
        )
        return CLAIMS_FAILED_STATUS
    print(f"[{stem}] done in {seconds:.0f} s; {len(run.claims)} claims pass; figures in {run.folder}", flush=True)
    print(f"[{stem}] {size_line()}", flush=True)  # here, not in the notebook: the totals change from run to run
    return 0


def verify_main(args, overrides):
    """``--verify``: status 0 when the rerun left the numbers unchanged (and HEAD was recorded), 1 otherwise."""
    stem = args.source.stem
    found = verify_unchanged(args.source, args.profile, args.figures, args.build, args.kernel, overrides)
    for line in found:
        print(f"[{stem}] changed: {line}", file=sys.stderr, flush=True)
    print(
        f"[{stem}] "
        + (
            "rerun differs; figures left as they were (regenerate them)"
            if found
            else "rerun leaves every number unchanged; HEAD added to verified_unchanged_at"
        ),
        flush=True,
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
