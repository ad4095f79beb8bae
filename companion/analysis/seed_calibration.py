"""Calibrate notebook 04's slope intervals on the runs of ``make robustness`` (one batch per seed).

Reads ``<out>/seed-<s>/figures/04_error_decomposition/components_vs_knobs.csv`` (the replica values the notebook saves
with that figure) for every seed found, and writes ``calibration_04.md`` / ``.csv``
(:func:`companion.analysis.decomposition.slope_calibration`) into the table folder. Needs K ≥ 8 seeds.

``python -m companion.analysis.seed_calibration --out build/robustness --table figures/robustness``
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

from .decomposition import slope_calibration

NOTEBOOK = "04_error_decomposition"
MIN_SEEDS = 8


def seed_frames(out):
    """The saved replica values of every seed folder under ``out`` (column ``seed`` added), by seed."""
    frames = []
    for folder in sorted(Path(out).glob("seed-*"), key=lambda p: int(p.name.split("-")[1])):
        path = folder / "figures" / NOTEBOOK / "components_vs_knobs.csv"
        if path.exists():
            frames.append(pd.read_csv(path).assign(seed=int(folder.name.split("-")[1])))
    return frames


def markdown(table):
    """The calibration table as Markdown with what its columns mean."""
    return (
        "# Calibration of notebook 04's slope intervals over independent seeds\n\n"
        "One batch per seed (independent random streams, R replicas each). `covered`/`coverage`: how many batches' "
        "90% bootstrap intervals hold the pooled slope, against `expected` (the nominal level corrected for the "
        "batch being part of the pool), with its Clopper–Pearson interval and an exact binomial p-value; "
        "`spread_ratio`: the standard deviation of the batch slopes over their mean bootstrap standard error "
        "(about 1 when the bootstrap's width is right).\n\n" + table.to_markdown(index=False, floatfmt=".3g") + "\n"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="build/robustness", help="folder holding the seed-<s>/ runs")
    parser.add_argument("--table", default=None, help="folder of the table (default <out>/table)")
    args = parser.parse_args(argv)
    frames = seed_frames(args.out)
    if len(frames) < MIN_SEEDS:
        print(
            f"seed_calibration: {len(frames)} seeds of notebook 04 under {args.out}; the calibration needs "
            f">= {MIN_SEEDS} (make robustness ROBUST_SEEDS=8)",
            file=sys.stderr,
        )
        return 1
    table = slope_calibration(pd.concat(frames, ignore_index=True))
    folder = Path(args.table or Path(args.out) / "table")
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / "calibration_04.csv", index=False)
    (folder / "calibration_04.md").write_text(markdown(table))
    print(markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
