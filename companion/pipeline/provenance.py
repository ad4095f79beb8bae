"""Figures with provenance: PNG and PDF, the plotted data as CSV, and a JSON record of how they were made."""
import json
import math
import os
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
    raise ValueError(f"{parameter}: a value of type {type(value).__name__} has no JSON form; use numbers, strings, lists, dicts")


def package_versions():
    """Versions of Python, the numerical packages and the companion itself."""
    versions = {"python": platform.python_version(), "companion": __version__}
    for package in RECORDED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def git_state(root=REPO_ROOT):
    """``{"revision": sha or None, "dirty": bool or None}`` of the repository at ``root``.

    Generated figures do not make the tree dirty: ``figures/`` is left out of the check.
    """
    def git(*args):
        result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    try:
        revision = git("rev-parse", "HEAD")
        status = git("status", "--porcelain", "--", ".", ":(exclude)figures") if revision else None
    except OSError:
        revision, status = None, None
    return {"revision": revision, "dirty": None if status is None else bool(status)}


def save_figure(fig, directory, stem, *, data, caption, record):
    """Write ``stem``.png, .pdf, .csv (``data``) and .json (``record`` plus caption and file names) into ``directory``.

    Returns the path of the JSON record. ``record`` must be JSON-serializable.
    """
    validate_stem(stem)
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data: expected the plotted data as a pandas DataFrame, got {type(data).__name__}")
    if not isinstance(caption, str) or not caption.strip():
        raise ValueError("caption: a figure needs a non-empty caption")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {suffix: directory / f"{stem}{suffix}" for suffix in FIGURE_SUFFIXES}
    fig.savefig(paths[".png"], metadata={"Software": None})
    fig.savefig(paths[".pdf"], metadata={"CreationDate": None, "Creator": None, "Producer": None})
    data.to_csv(paths[".csv"], index=False)
    full_record = {
        **jsonable(record, "record"),
        "stem": stem,
        "caption": caption.strip(),
        "files": {suffix.lstrip("."): path.name for suffix, path in paths.items()},
    }
    paths[".json"].write_text(json.dumps(full_record, indent=2, sort_keys=True, allow_nan=False) + "\n")
    return paths[".json"]
