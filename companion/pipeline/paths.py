"""The repository's folders and the profile names, in one place (imports nothing heavy: no torch, no numpy)."""
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
PROFILES = ("quick", "standard", "paper")


def figures_root():
    """Folder that holds one sub-folder per notebook: ``$COMPANION_FIGURES`` if set, else ``<repo>/figures``."""
    return Path(os.environ.get("COMPANION_FIGURES") or REPO_ROOT / "figures")


def cache_root():
    """Folder of the cache: ``$COMPANION_CACHE`` if set, else ``<repo>/.cache``."""
    return Path(os.environ.get("COMPANION_CACHE") or REPO_ROOT / ".cache")


def build_root():
    """Folder of executed notebooks and staging areas: ``<repo>/build``."""
    return REPO_ROOT / "build"
