"""A throwaway notebook for the runner and publishing tests: one figure, one claim whose bounds the test chooses, a
warning like the cache's, and a line that can be made to raise."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

THROWAWAY = """\
# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (companion)
#     language: python
#     name: companion
# ---

# %% [markdown]
# # {title}

# %% tags=["parameters"]
profile = "standard"
seed = 0
device = "auto"

# %%
import warnings

import matplotlib.pyplot as plt
import pandas as pd

import companion.engine.dynamics  # imports tqdm.auto inside the kernel
from companion.pipeline.notebook import setup_notebook

nb = setup_notebook("{stem}", profile, seed, device)
n = nb.pick(quick=3, standard=5, paper=7)
fig, ax = plt.subplots()
ax.plot(range(n))
nb.save_figure(fig, "line", data=pd.DataFrame({{"x": range(n)}}), caption="{caption}", params={{"n": n}})
nb.claim("{claim}", n, {lo}, {hi}, "line", prediction="a test prediction")

# %%
warnings.warn("cache entry /tmp/x.pkl is unusable (checksum mismatch); recomputing it", RuntimeWarning)
checked = n + 1
broken = {broken}

# %%
nb.finish()
"""


def write_throwaway(
    folder,
    stem="99_tiny",
    title="99 — A throwaway notebook",
    claim="the quick profile draws three points",
    caption="Good run.",
    lo=3,
    hi=3,
    broken="checked",
):
    """Write the throwaway notebook as ``folder/<stem>.py`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"{stem}.py"
    source.write_text(
        THROWAWAY.format(stem=stem, title=title, claim=claim, caption=caption, lo=lo, hi=hi, broken=broken)
    )
    return source


def runner_command(source, figures, build, profile="quick"):
    """The command line that runs ``source`` under :mod:`companion.pipeline.runner` into ``figures`` and ``build``."""
    return [
        sys.executable,
        "-m",
        "companion.pipeline.runner",
        str(source),
        "--profile",
        profile,
        "--figures",
        str(figures),
        "--build",
        str(build),
    ]


def run_runner(source, figures, build, environment=None, *, env=None):
    """Run :func:`runner_command` (quick profile) and return the completed process, output captured, never raising
    on its exit status; ``environment``: variables added to ``os.environ``; ``env``: the whole environment instead."""
    env = env if env is not None else {**os.environ, **(environment or {})}
    return subprocess.run(runner_command(source, figures, build), capture_output=True, text=True, check=False, env=env)


def run_make_figures(tmp_path, *variables, profile="quick"):
    """``make figures NB=99 PROFILE=<profile>`` on the throwaway layout under ``tmp_path`` (notebooks in ``nbs``,
    figures in ``out``, ``build``, ``README.md``, an install stamp newer than pyproject.toml), ``variables`` added
    last (so that ``BUILD=`` overrides); the completed process, never raising on its exit status."""
    stamp = tmp_path / "installed"  # stands for .venv's install stamp
    stamp.touch()
    command = [
        "make",
        "-C",
        str(ROOT),
        "--no-print-directory",
        "figures",
        "NB=99",
        f"PROFILE={profile}",
        f"NOTEBOOK_DIR={tmp_path / 'nbs'}",
        f"FIGURES={tmp_path / 'out'}",
        f"BUILD={tmp_path / 'build'}",
        f"README={tmp_path / 'README.md'}",
        f"PY={sys.executable}",
        f"STAMP={stamp}",
        *variables,
    ]
    return subprocess.run(command, capture_output=True, text=True, check=False)


@pytest.fixture
def make_figures():
    """:func:`run_make_figures`, for tests of `make figures` on the throwaway notebook."""
    return run_make_figures


@pytest.fixture
def runner():
    """:func:`run_runner`, for tests that execute a notebook under the runner."""
    return run_runner


@pytest.fixture
def throwaway_notebook():
    """:func:`write_throwaway`, for tests that execute a small real notebook."""
    return write_throwaway
