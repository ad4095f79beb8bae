"""Lint of every saved figure, table and animation under the figures root (default the committed ``figures/``;
``$COMPANION_LINT_FIGURES`` points it at another run): each has its data, no empty or hidden legend entry, every
legend entry and every series a caption quotes is in the data, and labels use mathtext, not pseudo-LaTeX."""

import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from companion.pipeline.provenance import MAX_ANIMATION_BYTES
from companion.pipeline.style import PALETTE, grey_level

ROOT = Path(__file__).resolve().parents[2]
FIGURES = Path(os.environ.get("COMPANION_LINT_FIGURES") or ROOT / "figures")
QUOTED = re.compile(r"[\"“]([^\"”]+)[\"”]")
MATH = re.compile(r"\$[^$]*\$")
PSEUDO_LATEX = re.compile(r"[_^]\{|\\[A-Za-z]+")


def records():
    found = []
    for path in sorted(FIGURES.glob("*/*.json")):
        if path.name != "claims.json" and path.parent.name != "notebooks":
            found.append(pytest.param(path, id=f"{path.parent.name}/{path.stem}"))
    return found


def plain(text):
    """Text compared with the data: mathtext markers and braces removed, spaces collapsed."""
    return " ".join(re.sub(r"[${}\\]", "", str(text)).split())


def data_names(csv):
    table = pd.read_csv(csv)
    names = {plain(column) for column in table.columns}
    for column in table.columns:
        if table[column].dtype == object or pd.api.types.is_string_dtype(table[column]):
            names |= {plain(value) for value in table[column].dropna().unique()}
    return names


@pytest.mark.skipif(not records(), reason="no saved figures under the figures root")
@pytest.mark.parametrize("path", records())
def test_every_saved_result_has_its_data_and_honest_labels(path):
    record = json.loads(path.read_text())
    folder, files, kind = path.parent, record["files"], record.get("kind", "figure")
    expected = {"figure": ("png", "pdf", "csv"), "table": ("csv", "md"), "animation": ("gif", "csv")}[kind]
    for suffix in expected:
        assert suffix in files and (folder / files[suffix]).is_file(), f"{path.stem}: no {suffix} file"
    assert not pd.read_csv(folder / files["csv"]).empty, f"{path.stem}: its CSV has no rows"
    if kind == "animation":
        for suffix in ("gif", "mp4"):
            if suffix in files:
                assert (folder / files[suffix]).stat().st_size <= MAX_ANIMATION_BYTES
    names = data_names(folder / files["csv"])
    legend = record.get("legend", [])
    for label in legend:
        assert label.strip() and not label.startswith("_"), f"{path.stem}: empty or hidden legend entry {label!r}"
        assert plain(label) in names, f"{path.stem}: legend entry {label!r} is not a column or value of its CSV"
    for quoted in QUOTED.findall(record["caption"]):
        assert plain(quoted) in names | {plain(label) for label in legend}, (
            f"{path.stem}: the caption names the series {quoted!r}, which neither the legend nor the data has"
        )
    texts = legend + [text for axes in record.get("axes", []) for text in axes.values()]
    for text in texts:
        outside_math = MATH.sub("", text)
        assert not PSEUDO_LATEX.search(outside_math), (
            f"{path.stem}: {text!r} is pseudo-LaTeX; write it as mathtext between $...$"
        )


def test_the_first_four_colours_stay_apart_in_greyscale():
    levels = sorted(grey_level(colour) for colour in PALETTE[:4])
    assert min(b - a for a, b in zip(levels, levels[1:])) > 15  # CIE L* steps a printed grey keeps apart
