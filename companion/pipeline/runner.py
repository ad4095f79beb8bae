"""Execute one notebook source: jupytext to ``.ipynb``, papermill with the profile, figures moved in on success.

``python -m companion.pipeline.runner notebooks/02_x.py --profile quick`` is what ``make figures`` runs for each notebook.
The notebook writes its figures into a staging folder (through ``$COMPANION_FIGURES``); only when every cell
succeeded does that folder replace ``figures/<stem>/``, so a failed run keeps the last good figures.
"""
import argparse
import fcntl
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import papermill
from jupyter_client.kernelspec import KernelSpecManager

from companion.pipeline.cache import atomic_write_bytes
from companion.pipeline.device import resolve_device
from companion.pipeline.paths import PROFILES, build_root, figures_root as default_figures_root
from companion.pipeline.provenance import validate_stem

KERNEL = "companion"


class NotebookFailed(RuntimeError):
    """A notebook did not run to the end; the message names the notebook and the cell."""


def parameters_cell_count(notebook):
    """How many cells of ``notebook`` carry the ``parameters`` tag."""
    return sum("parameters" in cell.get("metadata", {}).get("tags", []) for cell in notebook.cells)


def convert(source, destination):
    """Write the jupytext notebook ``source`` as ``.ipynb`` at ``destination``; it must have one parameters cell."""
    notebook = jupytext.read(source)
    count = parameters_cell_count(notebook)
    if count != 1:
        raise ValueError(f"source: {source} has {count} cells tagged 'parameters'; papermill needs exactly one")
    jupytext.write(notebook, destination, fmt="ipynb")
    return destination


def failing_cell(error):
    """The cell behind a papermill execution error: its execution count, first source line and the error."""
    first_line = next((line.strip() for line in str(error.source).splitlines() if line.strip()), "")
    message = "\n".join(str(error.evalue).strip().splitlines()[:20])
    return f"cell In [{error.exec_count}] `{first_line}`: {error.ename}: {message}"


def install_figures(staging, destination):
    """Replace the folder ``destination`` by ``staging`` (the old one is removed only once the new one is there)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    previous = destination.with_name(f".{destination.name}.previous")
    shutil.rmtree(previous, ignore_errors=True)
    if destination.exists():
        os.replace(destination, previous)
    shutil.move(str(staging), str(destination))
    shutil.rmtree(previous, ignore_errors=True)


def execute_notebook(source, profile="standard", figures_root=None, build_dir=None, kernel=KERNEL, parameters=None):
    """Run the notebook ``source`` with papermill under ``profile`` and install its figures.

    Executed notebooks go to ``build_dir`` (default ``<repo>/build``), figures to ``figures_root/<stem>/``
    (default ``$COMPANION_FIGURES`` or ``<repo>/figures``). ``parameters`` adds papermill parameters (``seed``, ``device``).
    Returns the figures folder; raises NotebookFailed naming the notebook and cell.
    """
    source = Path(source)
    stem = validate_stem(source.stem, "source")
    if not source.is_file():
        raise ValueError(f"source: {source} is not a file")
    if profile not in PROFILES:
        raise ValueError(f"profile: expected one of {PROFILES}, got {profile!r}")
    if kernel not in KernelSpecManager().find_kernel_specs():
        raise ValueError(f"kernel: no Jupyter kernel named {kernel!r}; `make setup` installs it into .venv")
    figures_root = Path(figures_root) if figures_root is not None else default_figures_root()
    build_dir = Path(build_dir) if build_dir is not None else build_root()
    build_dir.mkdir(parents=True, exist_ok=True)
    converted = convert(source, build_dir / f"{stem}.source.ipynb")
    executed = build_dir / f"{stem}.ipynb"
    staging = Path(tempfile.mkdtemp(prefix=f"{stem}.figures.", dir=build_dir))
    saved_environment = os.environ.get("COMPANION_FIGURES")
    os.environ["COMPANION_FIGURES"] = str(staging)
    try:
        papermill.execute_notebook(
            str(converted),
            str(executed),
            parameters={"profile": profile, **(parameters or {})},
            kernel_name=kernel,
            language="python",
            cwd=str(source.parent),
            progress_bar=False,
        )
        written = sorted(path.name for path in staging.iterdir())
        if written != [stem]:
            raise NotebookFailed(
                f"{source}: wrote figure folders {written}, expected ['{stem}'] "
                f"(setup_notebook's name must be the file stem)"
            )
        install_figures(staging / stem, figures_root / stem)
    except papermill.PapermillExecutionError as error:
        raise NotebookFailed(f"{source} failed in {failing_cell(error)}\n  executed notebook: {executed}") from error
    finally:
        if saved_environment is None:
            os.environ.pop("COMPANION_FIGURES", None)
        else:
            os.environ["COMPANION_FIGURES"] = saved_environment
        shutil.rmtree(staging, ignore_errors=True)
    return figures_root / stem


def record_runtime(figures_root, stem, profile, seconds, device):
    """Log the wall time of a successful run in ``<figures root>/runtimes.json`` under (notebook, profile).

    The file is locked while it is rewritten, so parallel runs (``make -j``) do not lose each other's entries.
    """
    path = Path(figures_root) / "runtimes.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        runtimes = json.loads(path.read_text()) if path.is_file() else {}
        runtimes.setdefault(stem, {})[profile] = {"seconds": round(seconds, 1), "device": device,
                                                  "cpus": os.cpu_count()}
        atomic_write_bytes(path, (json.dumps(runtimes, indent=2, sort_keys=True) + "\n").encode())
    return path


def main(argv=None):
    """Command line: run one notebook; exit status 1 with a one-line reason when it fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="notebook source, e.g. notebooks/00_mup_mean_field.py")
    parser.add_argument("--profile", default="standard", choices=PROFILES)
    parser.add_argument("--seed", type=int, help="override the notebook's seed parameter")
    parser.add_argument("--device", help="override the notebook's device parameter (auto, cpu, cuda)")
    parser.add_argument("--figures", type=Path, help="figures root (default $COMPANION_FIGURES or <repo>/figures)")
    parser.add_argument("--build", type=Path, help="folder for executed notebooks (default <repo>/build)")
    parser.add_argument("--kernel", default=KERNEL, help="Jupyter kernel name (default: the project's)")
    args = parser.parse_args(argv)
    overrides = {name: value for name, value in (("seed", args.seed), ("device", args.device)) if value is not None}
    started = time.perf_counter()
    print(f"[{args.source.stem}] running with profile {args.profile}", flush=True)
    try:
        folder = execute_notebook(args.source, args.profile, args.figures, args.build, args.kernel, overrides)
    except (NotebookFailed, ValueError) as error:
        print(f"[{args.source.stem}] FAILED: {error}", file=sys.stderr, flush=True)
        return 1
    seconds = time.perf_counter() - started
    record_runtime(folder.parent, args.source.stem, args.profile, seconds, str(resolve_device(args.device or "auto")))
    print(f"[{args.source.stem}] done in {seconds:.0f} s; figures in {folder}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
