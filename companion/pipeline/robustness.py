"""Seed robustness: run notebooks' claims under seeds 1…K and count, per claim, the seeds under which it passes.

Each seed s runs every selected notebook through the runner (``--seed s``, one profile) into
``<out>/seed-<s>/`` (executed notebooks) and ``<out>/seed-<s>/figures/`` (figures, claims), so its tasks go through
the same cache and, with ``COMPANION_SCHEDULER`` set, the same Dask scheduler as ``make figures``. Seeds s and s + 1
share no random stream, so the K runs are K independent batches. The table (Markdown + CSV) has one row per claim
(and per check): the seeds under which it passes, out of those that completed, and the range of its value.

The same batches calibrate notebook 04's slope intervals: ``python -m companion.analysis.seed_calibration`` (run by
``make robustness`` after this module) reads the seeds' saved replica values.

``python -m companion.pipeline.robustness --seeds 8 --profile standard --notebooks 01 01b 04``
"""

import argparse
import json
import platform
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from companion.pipeline.paths import REPO_ROOT
from companion.pipeline.provenance import git_state, package_versions, save_table
from companion.pipeline.runner import CLAIMS_FAILED_STATUS as CLAIMS_FAILED

NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def notebook_sources(prefixes, folder):
    """The notebook sources ``<folder>/<prefix>_*.py`` for each prefix (e.g. "01", "01b"); ValueError naming the
    prefix that matches no notebook or several."""
    sources = []
    for prefix in prefixes:
        matches = sorted(Path(folder).glob(f"{prefix}_*.py"))
        if len(matches) != 1:
            raise ValueError(f"notebooks: {prefix!r} matches {len(matches)} notebooks in {folder}")
        sources.append(matches[0])
    return sources


def seed_folder(out, seed):
    """The folder of seed ``seed``'s run: executed notebooks here, figures and claims under ``figures/``."""
    return Path(out) / f"seed-{seed}"


def run_seed(source, seed, profile, out, python=sys.executable):
    """Run one notebook under one seed through the runner; returns dict(notebook, seed, status, seconds). Status 0
    (all pass) and the runner's CLAIMS_FAILED_STATUS (claims failed, results recorded) are completed runs; anything
    else did not complete."""
    folder = seed_folder(out, seed)
    start = time.perf_counter()
    status = subprocess.call(
        [
            python,
            "-m",
            "companion.pipeline.runner",
            str(source),
            "--profile",
            profile,
            "--seed",
            str(seed),
            "--figures",
            str(folder / "figures"),
            "--build",
            str(folder),
        ],
        cwd=REPO_ROOT,
    )
    return dict(notebook=Path(source).stem, seed=seed, status=status, seconds=time.perf_counter() - start)


def pattern(text):
    """A claim's text with its numbers replaced by '#': the same claim under every seed, whatever it measured."""
    return NUMBER.sub("#", text)


def claim_records(out, seeds, notebooks):
    """Every claim and check recorded under each seed: one row per (seed, record), with its ``key``
    (notebook, kind, position among the notebook's records of that kind, pattern of its text)."""
    rows = []
    for seed in seeds:
        for notebook in notebooks:
            path = seed_folder(out, seed) / "figures" / notebook / "claims.json"
            if not path.exists():
                continue
            records = json.loads(path.read_text())["claims"]
            counts = {}
            for record in records:
                kind = record["kind"]
                counts[kind] = counts.get(kind, -1) + 1
                rows.append(
                    dict(
                        seed=seed,
                        notebook=notebook,
                        kind=kind,
                        position=counts[kind],
                        pattern=pattern(record["claim"]),
                        claim=record["claim"],
                        value=record["value"],
                        lo=record["lo"],
                        hi=record["hi"],
                        passed=bool(record["passed"]),
                    )
                )
    return pd.DataFrame(rows)


def _bound(value, open_end):
    """A window's bound as text; a missing (open) bound as ``open_end``."""
    return open_end if value is None or pd.isna(value) else f"{value:g}"


def robustness_table(records, runs):
    """Per claim (claims first, then checks): the seeds under which it passes out of the seeds whose run of its
    notebook completed, the failing seeds, and the smallest, median and largest value."""
    completed = runs[runs["status"].isin([0, CLAIMS_FAILED])].groupby("notebook")["seed"].apply(set)
    rows = []
    for (notebook, kind, position, text), group in records.groupby(
        ["notebook", "kind", "position", "pattern"], sort=False
    ):
        seeds = completed.get(notebook, set())
        group = group[group["seed"].isin(seeds)]
        values = pd.to_numeric(group["value"], errors="coerce")
        same_text = group["claim"].nunique() == 1
        rows.append(
            dict(
                notebook=notebook,
                kind=kind,
                claim=group["claim"].iloc[0] if same_text else text,
                passes=int(group["passed"].sum()),
                seeds=len(seeds),
                failing_seeds=" ".join(str(s) for s in sorted(group.loc[~group["passed"], "seed"])),
                value_min=values.min(),
                value_median=values.median(),
                value_max=values.max(),
                window=f"[{_bound(group['lo'].iloc[0], '-inf')}, {_bound(group['hi'].iloc[0], 'inf')}]",
            )
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    order = table["kind"].map({"claim": 0, "check": 1})
    return table.assign(_order=order).sort_values(["_order", "notebook"], kind="stable").drop(columns="_order")


def summary(runs, profile, wall_seconds=None, jobs=1):
    """What was run and how long it took, as sentences: each notebook's runs summed, with ``wall_seconds`` the whole
    run's wall time with ``jobs`` runs at a time, and the runs that did not complete."""
    seeds = sorted(runs["seed"].unique())
    minutes = runs.groupby("notebook")["seconds"].sum() / 60
    timing = "Run time (all seeds of each notebook, summed over runs): " + ", ".join(
        f"{nb} {m:.1f} min" for nb, m in minutes.items()
    )
    if wall_seconds is not None:
        timing += f"; wall time {wall_seconds / 60:.1f} min with {jobs} run(s) at a time"
    sentences = [
        f"Seed robustness ({profile} profile, seeds {seeds[0]}…{seeds[-1]}).",
        "Each claim of the notebooks below, run under each seed (independent random streams): the seeds under "
        "which it passes, out of the seeds whose run completed. Windows are the notebooks' own, fixed in code.",
        timing + ".",
    ]
    failed = runs[~runs["status"].isin([0, CLAIMS_FAILED])]
    if not failed.empty:
        sentences.append(
            "Runs that did not complete: "
            + ", ".join(f"{r.notebook} seed {r.seed} (status {r.status})" for r in failed.itertuples())
            + "."
        )
    return sentences


def markdown(table, runs, profile, wall_seconds=None, jobs=1):
    """The table as Markdown, headed by :func:`summary`."""
    title, *rest = summary(runs, profile, wall_seconds, jobs)
    lines = [f"# {title.rstrip('.')}", ""] + [line for sentence in rest for line in (sentence, "")]
    shown = table.assign(passed=table["passes"].astype(str) + "/" + table["seeds"].astype(str))
    columns = [
        "notebook",
        "kind",
        "claim",
        "passed",
        "failing_seeds",
        "value_min",
        "value_median",
        "value_max",
        "window",
    ]
    lines.append(shown[columns].to_markdown(index=False, floatfmt=".4g"))
    return "\n".join(lines) + "\n"


def run_settings(out, seeds, notebooks):
    """``{"device": ..., "dtype": ...}`` the seeds' runs recorded in their figures' metadata (values joined with ", "
    where runs differ; "unknown" where none recorded one)."""
    found = {"device": set(), "dtype": set()}
    for seed in seeds:
        for notebook in notebooks:
            for path in (seed_folder(out, seed) / "figures" / notebook).glob("*.json"):
                if path.name != "claims.json":
                    record = json.loads(path.read_text())
                    for key in found:
                        if record.get(key):
                            found[key].add(str(record[key]))
    return {key: ", ".join(sorted(values)) or "unknown" for key, values in found.items()}


def write(table, runs, profile, folder, wall_seconds=None, jobs=1, settings=None):
    """Save the table as a result of the figures tree (:func:`companion.pipeline.provenance.save_table`:
    robustness.csv, robustness.md, and robustness.json with the caption — what was run and how long it took — and
    the provenance: profile, seeds, each run's status and seconds, wall time, git revision, package versions)."""
    state = git_state()
    seeds = sorted(int(seed) for seed in runs["seed"].unique())
    record = dict(
        notebook="robustness",
        profile=profile,
        seed=f"{seeds[0]}…{seeds[-1]}",
        seeds=seeds,
        **(settings or {"device": "unknown", "dtype": "unknown"}),
        runs=json.loads(runs.to_json(orient="records")),
        wall_time_s=wall_seconds,
        jobs=jobs,
        git_revision=state["revision"],
        git_dirty=state["dirty"],
        packages=package_versions(),
        machine=dict(platform=platform.platform(), processor=platform.machine()),
    )
    caption = " ".join(summary(runs, profile, wall_seconds, jobs))
    return save_table(table, folder, "robustness", caption=caption, record=record)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8, help="run seeds 1…K (K >= 4)")
    parser.add_argument("--profile", default="standard", choices=["quick", "standard", "paper"])
    parser.add_argument("--notebooks", nargs="+", default=["01", "01b", "04"], help="notebook prefixes")
    parser.add_argument("--notebook-dir", default=str(REPO_ROOT / "notebooks"))
    parser.add_argument("--out", default=str(REPO_ROOT / "build" / "robustness"))
    parser.add_argument("--table", default=None, help="folder of the table (default <out>/table)")
    parser.add_argument("--jobs", type=int, default=1, help="notebook runs at a time (each its own process)")
    args = parser.parse_args(argv)
    if args.seeds < 4:
        parser.error(f"--seeds: need K >= 4, got {args.seeds}")
    if args.jobs < 1:
        parser.error(f"--jobs: need at least 1, got {args.jobs}")
    sources = notebook_sources(args.notebooks, args.notebook_dir)
    seeds = list(range(1, args.seeds + 1))
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_seed, source, seed, args.profile, args.out) for seed in seeds for source in sources]
        runs = pd.DataFrame([future.result() for future in futures])
    wall_seconds = time.perf_counter() - start
    notebooks = [source.stem for source in sources]
    table = robustness_table(claim_records(args.out, seeds, notebooks), runs)
    settings = run_settings(args.out, seeds, notebooks)
    write(table, runs, args.profile, Path(args.table or Path(args.out) / "table"), wall_seconds, args.jobs, settings)
    print(markdown(table, runs, args.profile, wall_seconds, args.jobs))
    return 0 if runs["status"].isin([0, CLAIMS_FAILED]).all() else 1


if __name__ == "__main__":
    sys.exit(main())
