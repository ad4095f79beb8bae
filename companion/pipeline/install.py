"""Installing a run's results so that a regeneration changes only what changed, and saying what changed.

A notebook run writes a complete folder of results (staging). Installing it over the previous folder
(:func:`install_folder`) keeps each previous file whose content the rerun reproduces, and reports the rest:

- a **figure group** (the files ``<stem>.*``: PNG, PDF, GIF, MP4, CSV data, Markdown table, JSON record) keeps its
  previous files, images included, when (1) the same files exist, (2) every CSV agrees cell by cell, numbers within
  :data:`RTOL`/:data:`ATOL`, text exactly, (3) the JSON records agree the same way once the fields that describe the
  run rather than the result are set aside (:data:`RUN_FIELDS`: wall time, revision, package versions, ...), and
  (4) the code that could change it did not: the new record has the same ``git_revision`` and ``git_dirty`` as the
  previous one, or both are clean and the last commit that changed ``companion/`` or the notebook's source is
  contained in the previous revision. Otherwise the whole group is replaced, so each file keeps the revision that
  made it (``git_revision`` stays meaningful: a kept file was made, and reproduced, at code equal to today's);
- ``claims.json`` keeps its previous bytes when its whole document agrees: the same claims and checks with the same
  bounds and verdicts, values within tolerance, and the same glued prose numbers (their text exactly).

The images are not compared: they are drawn from the data by the code, and both are checked. :func:`claim_changes`
lists the claims whose value moved beyond tolerance or whose verdict flipped; ``make figures`` ends with those
lines for every notebook it ran (``python -m companion.pipeline.report --changes``), or "nothing changed".
"""

import math
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd

from companion.pipeline.paths import REPO_ROOT

RTOL, ATOL = 1e-9, 1e-12
RUN_FIELDS = ("wall_time_s", "git_revision", "git_dirty", "verified_unchanged_at", "packages")
CLAIM_NUMBERS = ("value",)


def close(a, b):
    """Whether two numbers agree within :data:`RTOL`/:data:`ATOL` (NaN agrees with NaN, infinities with
    themselves)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= ATOL + RTOL * max(abs(a), abs(b))


def _number(value):
    """``value`` as a float when it is a number or the text of one ("nan", "inf"), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    return None


def same_data(a, b):
    """Whether two JSON-like values agree: equal structure and text, numbers within tolerance."""
    x, y = _number(a), _number(b)
    if x is not None and y is not None:
        return close(x, y)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_data(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_data(p, q) for p, q in zip(a, b))
    return a == b


def same_csv(a, b):
    """Whether two CSV files hold the same table: same columns and rows, numbers within tolerance."""
    try:
        left, right = pd.read_csv(a, keep_default_na=False), pd.read_csv(b, keep_default_na=False)
    except (ValueError, pd.errors.ParserError):
        return Path(a).read_bytes() == Path(b).read_bytes()
    if list(left.columns) != list(right.columns) or left.shape != right.shape:
        return False
    return all(
        same_data(_cell(p), _cell(q))
        for column in left.columns
        for p, q in zip(left[column].tolist(), right[column].tolist())
    )


def _cell(value):
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _git(*args, repo=REPO_ROOT):
    try:
        result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def same_code(previous, new, repo=REPO_ROOT):
    """Whether the code that could change a figure is the same for its ``previous`` and ``new`` JSON records
    (see the module docstring, condition 4)."""
    keys = ("git_revision", "git_dirty")
    if all(previous.get(key) == new.get(key) for key in keys) and previous.get("git_revision"):
        return True
    if previous.get("git_dirty") is not False or new.get("git_dirty") is not False or not previous.get("git_revision"):
        return False
    last = _git("log", "-1", "--format=%H", "--", "companion", f"notebooks/{new.get('notebook')}.py", repo=repo)
    if not last:
        return False
    return (
        subprocess.run(
            ["git", "-C", str(repo), "merge-base", "--is-ancestor", last, previous["git_revision"]],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )


def _record(path):
    import json

    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def group_reproduced(previous, staged, stem, names):
    """Whether the figure group ``stem`` (its file ``names``) in the ``previous`` folder is reproduced by the one in
    ``staged`` (module docstring). Returns ``(kept, why)``; ``why`` says what changed when not kept."""
    if not all((previous / name).is_file() for name in names) or sorted(
        path.name for path in previous.glob(f"{stem}.*")
    ) != sorted(names):
        return False, "new or different files"
    for name in names:
        if name.endswith(".csv") and not same_csv(previous / name, staged / name):
            return False, f"{name}: data changed"
    json_name = f"{stem}.json"
    if json_name in names:
        old, new = _record(previous / json_name), _record(staged / json_name)
        if old is None or new is None:
            return False, f"{json_name}: unreadable"
        strip = lambda record: {key: value for key, value in record.items() if key not in RUN_FIELDS}  # noqa: E731
        if not same_data(strip(old), strip(new)):
            return False, f"{json_name}: record changed"
        if not same_code(old, new):
            return False, f"code changed since {str(old.get('git_revision'))[:10]}"
    return True, ""


def claim_key(record):
    return record.get("kind", "claim"), record["claim"]


def claim_changes(previous, new):
    """Lines for the claims (and checks) whose value moved beyond tolerance, whose verdict flipped, or that
    appeared or disappeared between the record lists ``previous`` and ``new``."""
    old = {claim_key(record): record for record in previous}
    lines = []
    for record in new:
        kind, text = claim_key(record)
        before = old.pop((kind, text), None)
        if before is None:
            lines.append(f"new {kind}: {text}: {record['value']} ({'pass' if record['passed'] else 'FAIL'})")
            continue
        if before["passed"] != record["passed"]:
            verdicts = " -> ".join("pass" if r["passed"] else "FAIL" for r in (before, record))
            lines.append(f"{kind} verdict flipped ({verdicts}): {text}: {before['value']} -> {record['value']}")
        elif not same_data(before["value"], record["value"]):
            lines.append(f"{kind} value moved: {text}: {before['value']} -> {record['value']}")
        elif not same_data(
            {k: v for k, v in before.items() if k != "value"}, {k: v for k, v in record.items() if k != "value"}
        ):
            lines.append(f"{kind} bounds or prediction changed: {text}")
    lines += [f"{kind} removed: {text}" for kind, text in old]
    return lines


def _claims(path):
    from companion.pipeline.claims import read_claims

    return read_claims(path) if Path(path).is_file() else []


def install_folder(staging, destination):
    """Replace the folder ``destination`` by ``staging``, keeping the previous files that the new ones reproduce
    (module docstring). Call it under :func:`~companion.pipeline.provenance.figures_lock` of the parent.

    The new folder is assembled next to ``destination`` and swapped in by renames: an OSError (a full disk, a
    read-only folder) leaves the previous folder as it was and no partial file. Returns the list of changes
    (empty: nothing changed)."""
    staging, destination = Path(staging), Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    incoming = destination.with_name(f".{destination.name}.incoming.{os.getpid()}")
    previous = destination.with_name(f".{destination.name}.previous")
    shutil.rmtree(incoming, ignore_errors=True)
    changes = []
    groups = {}
    for path in sorted(staging.iterdir()):
        if path.is_file() and path.name != "claims.json":
            groups.setdefault(path.name.split(".", 1)[0], []).append(path.name)
    first = not destination.is_dir()
    if not first:
        gone = {path.name.split(".", 1)[0] for path in destination.iterdir() if path.is_file()} - set(groups)
        changes += [f"{stem}: removed" for stem in sorted(gone - {"claims"})]
    try:
        shutil.copytree(staging, incoming, copy_function=shutil.copy2)
        for stem, names in groups.items():
            kept, why = group_reproduced(destination, staging, stem, names) if destination.is_dir() else (False, "new")
            if kept:
                for name in names:
                    shutil.copy2(destination / name, incoming / name)
            else:
                changes.append(f"{stem}: {why}")
        old_claims, new_claims = _claims(destination / "claims.json"), _claims(staging / "claims.json")
        moved = claim_changes(old_claims, new_claims)
        old_document, new_document = _record(destination / "claims.json"), _record(staging / "claims.json")
        if old_document is not None and new_document is not None and same_data(old_document, new_document):
            shutil.copy2(destination / "claims.json", incoming / "claims.json")
        elif not moved and old_document is not None:
            moved = ["claims.json: glued prose numbers or counts changed"]
        changes += moved
        if first:  # nothing to compare with: one line, not one per file and claim
            changes = [f"new: {len(groups)} figures or tables, {len(new_claims)} claims and checks"]
        shutil.rmtree(previous, ignore_errors=True)
        if destination.exists():
            os.replace(destination, previous)
        os.replace(incoming, destination)
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        if previous.exists() and not destination.exists():
            os.replace(previous, destination)
        raise
    shutil.rmtree(previous, ignore_errors=True)
    return changes
