"""Notebooks read as narrative → experiment driver → plot: no notebook source over 800 lines and no code cell over 40
lines (issue 23). Long algorithms and plotting code belong in the package, where they are documented and tested."""

from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.py"))
MAX_NOTEBOOK_LINES = 800
MAX_CELL_LINES = 40


def percent_cells(text):
    """The cells of a jupytext py:percent source as (kind, first line number, source lines): kind "markdown" for
    ``# %% [markdown]``, "code" for any other ``# %%`` marker, "header" for the lines before the first marker. A
    cell's lines exclude its marker and its trailing blank lines."""
    cells, kind, start, lines = [], "header", 1, []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("# %%"):
            cells.append((kind, start, lines))
            kind, start, lines = ("markdown" if "[markdown]" in line else "code"), number, []
        else:
            lines.append(line)
    cells.append((kind, start, lines))
    trimmed = []
    for kind, start, lines in cells:
        while lines and not lines[-1].strip():
            lines = lines[:-1]
        trimmed.append((kind, start, lines))
    return trimmed


def long_code_cells(text, limit=MAX_CELL_LINES):
    """(first line number, length) of every code cell longer than ``limit`` lines."""
    return [(start, len(lines)) for kind, start, lines in percent_cells(text) if kind == "code" and len(lines) > limit]


def test_percent_cells_split_and_trim():
    text = '# ---\n# header\n\n# %% [markdown]\n# # Title\n\n# %%\nx = 1\n\ny = 2\n\n\n# %% tags=["a"]\nz = 3\n'
    cells = percent_cells(text)
    assert [(kind, start) for kind, start, _ in cells] == [("header", 1), ("markdown", 4), ("code", 7), ("code", 13)]
    assert cells[2][2] == ["x = 1", "", "y = 2"]
    assert long_code_cells(text, limit=2) == [(7, 3)]
    assert long_code_cells(text, limit=3) == []


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 8


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_shape(path):
    text = path.read_text()
    problems = []
    n_lines = len(text.splitlines())
    if n_lines > MAX_NOTEBOOK_LINES:
        problems.append(f"{n_lines} lines (at most {MAX_NOTEBOOK_LINES})")
    problems += [
        f"code cell at line {start}: {length} lines (at most {MAX_CELL_LINES})"
        for start, length in long_code_cells(text)
    ]
    assert not problems, f"{path.name}: " + "; ".join(problems)
