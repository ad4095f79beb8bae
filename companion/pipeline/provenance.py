"""Figures with provenance: PNG and PDF, the plotted data as CSV, and a JSON record of how they were made."""

import contextlib
import fcntl
import json
import math
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from companion import __version__
from companion.pipeline.paths import REPO_ROOT

STEM_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
RECORDED_PACKAGES = ("torch", "numpy", "scipy", "POT", "seaborn", "matplotlib", "pandas")
FIGURE_SUFFIXES = (".png", ".pdf", ".csv", ".json")
GENERATED_BLOCK = re.compile(r"(<!-- BEGIN ([\w-]+) -->\n).*?(<!-- END \2 -->)", re.S)
LOCK_NAME = "install.lock"


def validate_stem(stem, parameter="stem"):
    """Return ``stem`` if it is a plain ASCII file stem (letters, digits, ``_``, ``-``); else raise ValueError."""
    if not isinstance(stem, str) or not STEM_PATTERN.fullmatch(stem):
        raise ValueError(
            f"{parameter}: {stem!r} is not an ASCII file stem "
            "(start with a letter or digit, then letters, digits, '_' or '-', at most 100 characters)"
        )
    return stem


def jsonable(value, parameter):
    """``value`` as plain JSON data (dicts with str keys, lists, str, int, float, bool, None); else ValueError.

    NumPy scalars and arrays become numbers and lists, torch dtypes and devices and paths become strings,
    non-finite floats the strings ``"nan"``, ``"inf"``, ``"-inf"``.
    """
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, np.generic):
        return jsonable(value.item(), parameter)
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist(), parameter)
    if isinstance(value, (torch.dtype, torch.device, Path)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(item, parameter) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError(f"{parameter}: dictionary keys must be strings, got {list(value)!r}")
        return {k: jsonable(v, parameter) for k, v in value.items()}
    raise ValueError(
        f"{parameter}: a value of type {type(value).__name__} has no JSON form; use numbers, strings, lists, dicts"
    )


def package_versions():
    """Versions of Python, the numerical packages and the companion itself."""
    versions = {"python": platform.python_version(), "companion": __version__}
    for package in RECORDED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def without_generated_blocks(text):
    """``text`` with the body of every ``<!-- BEGIN name -->`` ... ``<!-- END name -->`` block emptied."""
    return GENERATED_BLOCK.sub(r"\1\3", text)


def git_state(root=REPO_ROOT):
    """``{"revision": sha or None, "dirty": bool or None}`` of the repository at ``root``.

    What the pipeline itself writes does not make the tree dirty: ``figures/`` is left out of the check, and
    README.md counts as changed only outside its generated blocks. None means git could not tell.
    """

    def git(*args):
        result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
        return result.stdout if result.returncode == 0 else None

    try:
        revision = git("rev-parse", "HEAD")
        status = git("status", "--porcelain", "--", ".", ":(exclude)figures", ":(exclude)README.md")
        committed_readme = git("show", "HEAD:README.md")
    except OSError:
        return {"revision": None, "dirty": None}
    if revision is None or status is None:
        return {"revision": revision and revision.strip(), "dirty": None}
    readme = Path(root) / "README.md"
    current_readme = readme.read_text() if readme.is_file() else None
    readme_changed = (committed_readme is None) != (current_readme is None) or (
        current_readme is not None
        and without_generated_blocks(current_readme) != without_generated_blocks(committed_readme)
    )
    return {"revision": revision.strip(), "dirty": bool(status.strip()) or readme_changed}


@contextlib.contextmanager
def figures_lock(root):
    """Hold an exclusive ``fcntl`` lock on ``<root>/install.lock`` (released on exit, or when the process dies).

    Every change to a figures root (installing a notebook's folder, merging claims, run times, READMEs) happens
    under it, so parallel runs (``make -j``) never see each other's half-done installs.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_NAME, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield root
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


MAX_ANIMATION_BYTES = 3 * 2**20


def _checked_caption(caption, what):
    if not isinstance(caption, str) or not caption.strip():
        raise ValueError(f"caption: a {what} needs a non-empty caption")
    return caption.strip()


def _checked_data(data, what):
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data: expected the {what}'s data as a pandas DataFrame, got {type(data).__name__}")
    return data


def legend_labels(fig):
    """The labels of every legend of ``fig`` (axes legends, then figure legends), in drawing order."""
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    return [text.get_text() for legend in legends if legend is not None for text in legend.get_texts()]


def axes_labels(fig):
    """``[{"title", "xlabel", "ylabel"}]`` of every axes of ``fig`` that draws something (colour bars included)."""
    return [
        {"title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel()}
        for ax in fig.axes
        if ax.get_visible()
    ]


def _write_record(path, record, stem, caption, kind, files):
    full_record = {
        **jsonable(record, "record"),
        "stem": stem,
        "kind": kind,
        "caption": caption,
        "files": {Path(name).suffix.lstrip("."): name for name in [*files, path.name]},
    }
    path.write_text(json.dumps(full_record, indent=2, sort_keys=True, allow_nan=False) + "\n")
    return path


def save_figure(fig, directory, stem, *, data, caption, record):
    """Write ``stem``.png, .pdf, .csv (``data``) and .json (``record`` plus caption, file names, the legend
    labels and axes labels of ``fig``) into ``directory``.

    Returns the path of the JSON record. ``record`` must be JSON-serializable.
    """
    validate_stem(stem)
    data, caption = _checked_data(data, "figure"), _checked_caption(caption, "figure")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {suffix: directory / f"{stem}{suffix}" for suffix in FIGURE_SUFFIXES}
    fig.savefig(paths[".png"], metadata={"Software": None})
    fig.savefig(paths[".pdf"], metadata={"CreationDate": None, "Creator": None, "Producer": None})
    data.to_csv(paths[".csv"], index=False)
    record = {**record, "legend": legend_labels(fig), "axes": axes_labels(fig)}
    return _write_record(
        paths[".json"],
        record,
        stem,
        caption,
        "figure",
        [path.name for suffix, path in paths.items() if suffix != ".json"],
    )


def markdown_table(table, float_format="{:.4g}"):
    """``table`` (a DataFrame) as a GitHub Markdown table: numbers by ``float_format``, ``|`` escaped."""

    def cell(value):
        text = float_format.format(value) if isinstance(value, float) else str(value)
        return text.replace("|", "\\|")

    header = "| " + " | ".join(cell(column) for column in table.columns) + " |"
    rows = ["| " + " | ".join(cell(value) for value in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, "|" + "---|" * len(table.columns), *rows]) + "\n"


def save_table(table, directory, stem, *, caption, record, float_format="{:.4g}"):
    """Write the DataFrame ``table`` as ``stem``.csv (full precision), ``stem``.md (Markdown, numbers by
    ``float_format``) and ``stem``.json (``record`` plus caption) into ``directory``; returns the JSON path."""
    validate_stem(stem)
    table, caption = _checked_data(table, "table"), _checked_caption(caption, "table")
    if table.empty:
        raise ValueError("table: a saved table needs at least one row")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    table.to_csv(directory / f"{stem}.csv", index=False)
    (directory / f"{stem}.md").write_text(markdown_table(table, float_format))
    return _write_record(directory / f"{stem}.json", record, stem, caption, "table", [f"{stem}.csv", f"{stem}.md"])


def save_animation(animation, directory, stem, *, data, caption, record, fps=10, dpi=80):
    """Write the matplotlib ``animation`` as ``stem``.gif (Pillow writer; no ffmpeg needed), ``stem``.mp4 where
    ffmpeg is installed, its data as ``stem``.csv and ``stem``.json; returns the JSON path.

    Each file must stay under :data:`MAX_ANIMATION_BYTES` (3 MiB): a larger one is removed and a ValueError says
    which knob (frames, ``dpi``, ``fps``) to turn.
    """
    from matplotlib import animation as mpl_animation

    validate_stem(stem)
    data, caption = _checked_data(data, "animation"), _checked_caption(caption, "animation")
    if not isinstance(animation, mpl_animation.Animation):
        raise ValueError(f"animation: expected a matplotlib.animation.Animation, got {type(animation).__name__}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = [directory / f"{stem}.gif"]
    animation.save(files[0], writer=mpl_animation.PillowWriter(fps=fps), dpi=dpi)
    if mpl_animation.writers.is_available("ffmpeg"):
        files.append(directory / f"{stem}.mp4")
        writer = mpl_animation.FFMpegWriter(
            fps=fps, codec="libx264", extra_args=["-pix_fmt", "yuv420p", "-fflags", "+bitexact"]
        )
        animation.save(files[1], writer=writer, dpi=dpi)
    for path in files:
        size = path.stat().st_size
        if size > MAX_ANIMATION_BYTES:
            path.unlink()
            raise ValueError(
                f"animation: {path.name} is {size / 2**20:.1f} MiB, over the 3 MiB limit; use fewer "
                f"frames, a lower dpi (now {dpi}) or a smaller figure"
            )
    data.to_csv(directory / f"{stem}.csv", index=False)
    names = [path.name for path in files] + [f"{stem}.csv"]
    record = {**record, "fps": fps, "dpi": dpi}
    return _write_record(directory / f"{stem}.json", record, stem, caption, "animation", names)


def inline_gif(path, alt):
    """The GIF at ``path`` as an ``IPython.display.HTML`` ``<img src="data:image/gif;base64,...">``: an output that
    JupyterLab, ``jupyter nbconvert --to html``, the site and the repository host all show (an ``image/gif`` output
    is dropped by nbconvert's HTML export). The GIF must be under :data:`MAX_ANIMATION_BYTES`, which
    :func:`save_animation` enforces."""
    import base64
    import html

    from IPython.display import HTML

    payload = Path(path).read_bytes()
    if payload[:6] not in (b"GIF87a", b"GIF89a"):
        raise ValueError(f"path: {path} is not a GIF")
    if len(payload) > MAX_ANIMATION_BYTES:
        raise ValueError(f"path: {path} is {len(payload) / 2**20:.1f} MiB, over the 3 MiB that a notebook embeds")
    encoded = base64.b64encode(payload).decode("ascii")
    return HTML(
        f'<img src="data:image/gif;base64,{encoded}" alt="{html.escape(str(alt), quote=True)}" '
        f'style="max-width: 100%; height: auto;">'
    )
