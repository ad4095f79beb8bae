"""The repository's folders and the profile names, in one place (imports nothing heavy: no torch, no numpy)."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
PROFILES = ("quick", "standard", "paper")
COMMITTED_PROFILE = "standard"


def committed_figures_root():
    """The committed results: ``<repo>/figures``, made with the ``standard`` profile."""
    return REPO_ROOT / "figures"


def figures_root(profile=COMMITTED_PROFILE):
    """Folder that holds one sub-folder per notebook for results of ``profile``.

    ``$COMPANION_FIGURES`` if set (asked explicitly); else ``<repo>/figures`` for the committed ``standard``
    profile and ``<repo>/build/figures/<profile>`` for the others, which thus never replace committed results.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile: expected one of {PROFILES}, got {profile!r}")
    explicit = os.environ.get("COMPANION_FIGURES")
    if explicit:
        return Path(explicit)
    return committed_figures_root() if profile == COMMITTED_PROFILE else build_root() / "figures" / profile


def notebook_figures_root():
    """Where a notebook's kernel writes its figures and claims: ``$COMPANION_FIGURES`` if set (the runner sets it to
    its staging folder, whose result it installs under :func:`figures_root`), else ``<repo>/build/figures/interactive``:
    a notebook run by hand (JupyterLab's Run All, ``python``) never writes the committed results in ``figures/``."""
    explicit = os.environ.get("COMPANION_FIGURES")
    return Path(explicit) if explicit else build_root() / "figures" / "interactive"


def cache_root():
    """Folder of the cache: ``$COMPANION_CACHE`` if set, else ``<repo>/.cache``."""
    return Path(os.environ.get("COMPANION_CACHE") or REPO_ROOT / ".cache")


def build_root():
    """Folder of executed notebooks and staging areas: ``<repo>/build``."""
    return REPO_ROOT / "build"
