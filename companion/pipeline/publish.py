"""Executed notebooks for readers: outputs kept, volatile metadata stripped, committed beside the figures.

A ``standard`` run that reaches the end (failed claims included: they are results) writes its executed notebook to
``<figures root>/notebooks/<stem>.ipynb``. What changes from one run to the next without the results changing is
removed or made stable, so that a rerun gives a diff only where an output changed:

- papermill's notebook metadata (input/output paths, environment) except the injected ``parameters``;
- each cell's papermill metadata (start/end times, durations, status) and ``execution`` timestamps;
- cell ids (nbformat makes random ones when jupytext converts): the i-th cell gets ``cell-<i>``;
- execution counts: the executed code cells are numbered 1, 2, ..., n in order (their ``execute_result`` outputs
  carry the same number), whatever the kernel counted;
- the checkout's absolute path in printed text (warnings name their source file): ``<repo>/companion/x.py``
  becomes ``companion/x.py``.
"""

from pathlib import Path

import nbformat

from companion.pipeline.cache import atomic_write_bytes
from companion.pipeline.paths import REPO_ROOT

EXECUTED_FOLDER = "notebooks"
VOLATILE_CELL_METADATA = ("papermill", "execution", "ExecuteTime")


def executed_path(figures_root, stem):
    """Where the published executed notebook of ``stem`` lives: ``<figures_root>/notebooks/<stem>.ipynb``."""
    return Path(figures_root) / EXECUTED_FOLDER / f"{stem}.ipynb"


def relative_text(text, root):
    """``text`` (a string or nbformat's list of lines) with every ``<root>/`` prefix removed."""
    prefix = f"{Path(root).resolve()}/"
    return [line.replace(prefix, "") for line in text] if isinstance(text, list) else text.replace(prefix, "")


def strip_volatile(notebook, root=REPO_ROOT):
    """Remove or renumber, in place, what differs between two runs with the same outputs, and make paths under
    the checkout ``root`` relative (module docstring); returns ``notebook``."""
    papermill = notebook.metadata.pop("papermill", None)
    if papermill and "parameters" in papermill:
        notebook.metadata["papermill"] = {"parameters": papermill["parameters"]}
    count = 0
    for index, cell in enumerate(notebook.cells):
        if "id" in cell:
            cell["id"] = f"cell-{index}"
        for name in VOLATILE_CELL_METADATA:
            cell.metadata.pop(name, None)
        if cell.cell_type != "code":
            continue
        if cell.get("execution_count") is None:
            continue
        count += 1
        cell["execution_count"] = count
        for output in cell.get("outputs", []):
            if output.get("output_type") == "execute_result":
                output["execution_count"] = count
            if "text" in output:
                output["text"] = relative_text(output["text"], root)
            if "text/plain" in output.get("data", {}):
                output["data"]["text/plain"] = relative_text(output["data"]["text/plain"], root)
    return notebook


def cell_sources(notebook):
    """The cells of ``notebook`` as ``(type, source)``: what the reader reads apart from the outputs."""
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def publish_executed(executed, destination, results_changed=True):
    """Write the executed notebook at ``executed`` to ``destination`` with :func:`strip_volatile` applied
    (atomically: readers see the previous file or the new one). Returns ``destination``.

    With ``results_changed`` False (every figure, table and claim of the run reproduced the installed ones within
    tolerance, :mod:`companion.pipeline.install`), a published notebook whose cells and injected parameters are
    the same is left as it is: its outputs show the same results, and a rerun does not rewrite its timings."""
    notebook = strip_volatile(nbformat.read(executed, as_version=4))
    destination = Path(destination)
    if not results_changed and destination.is_file():
        try:
            published = nbformat.read(destination, as_version=4)
        except (OSError, ValueError):
            published = None
        if (
            published is not None
            and cell_sources(published) == cell_sources(notebook)
            and published.metadata.get("papermill") == notebook.metadata.get("papermill")
        ):
            return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(destination, (nbformat.writes(notebook) + "\n").encode())
    return destination
