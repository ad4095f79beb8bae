"""A throwaway notebook for the runner and publishing tests: one figure, one claim whose bounds the test chooses, a
warning like the cache's, and a line that can be made to raise."""

import pytest

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


@pytest.fixture
def throwaway_notebook():
    """:func:`write_throwaway`, for tests that execute a small real notebook."""
    return write_throwaway
