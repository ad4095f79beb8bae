"""Claim checks: a measured value against its expected range, merged across notebooks, shown as a table."""
import json
import math
from pathlib import Path

from companion.pipeline.cache import atomic_write_bytes

COLUMNS = ("notebook", "claim", "value", "expected", "result", "figure", "profile")


class ClaimsFailed(AssertionError):
    """Raised by a notebook's ``nb.finish()`` after it recorded its claims, when some of them failed.

    The runner treats it as a result, not a crash: the run's figures and claims are installed.
    """


def _bound(value, parameter):
    if value is None:
        return None
    try:
        bound = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{parameter}: expected a number or None, got {value!r}") from err
    if math.isnan(bound):
        raise ValueError(f"{parameter}: NaN is not a bound; use None for no bound")
    return bound


def check_claim(notebook, claim, value, lo, hi, figure):
    """A claim record: ``passed`` is True when ``lo <= value <= hi`` (a None bound is open; NaN never passes)."""
    if not isinstance(claim, str) or not claim.strip():
        raise ValueError("claim: a claim needs a non-empty description")
    if not isinstance(figure, str) or not figure:
        raise ValueError(f"figure: expected the stem of the figure the claim supports, got {figure!r}")
    try:
        measured = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"value: expected a number, got {value!r}") from err
    lo, hi = _bound(lo, "lo"), _bound(hi, "hi")
    if lo is None and hi is None:
        raise ValueError("lo: a claim needs at least one bound (lo or hi)")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"hi: upper bound {hi} is below lower bound {lo}")
    passed = not math.isnan(measured) and (lo is None or measured >= lo) and (hi is None or measured <= hi)
    return {
        "notebook": notebook,
        "claim": claim.strip(),
        "value": measured if math.isfinite(measured) else str(measured),
        "lo": lo if lo is None or math.isfinite(lo) else str(lo),
        "hi": hi if hi is None or math.isfinite(hi) else str(hi),
        "passed": passed,
        "figure": figure,
    }


def failed_claims(records):
    """The records that did not pass."""
    return [record for record in records if not record["passed"]]


def write_claims(path, records):
    """Write ``records`` as ``{"claims": [...], "passed": n, "failed": m}`` to ``path`` (JSON)."""
    records = list(records)
    n_failed = len(failed_claims(records))
    document = {"claims": records, "passed": len(records) - n_failed, "failed": n_failed}
    path = Path(path)
    atomic_write_bytes(path, (json.dumps(document, indent=2, allow_nan=False) + "\n").encode())
    return path


def read_claims(path):
    """The claim records stored at ``path`` by :func:`write_claims`."""
    document = json.loads(Path(path).read_text())
    if not isinstance(document, dict) or not isinstance(document.get("claims"), list):
        raise ValueError(f"path: {path} is not a claims file (no 'claims' list)")
    return document["claims"]


def merge_claims(paths):
    """All records of the claims files at ``paths``, ordered by notebook, each notebook's order kept.

    A notebook found in two files is an error (it would be counted twice).
    """
    by_notebook = {}
    for path in paths:
        for record in read_claims(path):
            by_notebook.setdefault(record["notebook"], {}).setdefault(str(path), []).append(record)
    merged = []
    for notebook in sorted(by_notebook):
        sources = by_notebook[notebook]
        if len(sources) > 1:
            raise ValueError(f"paths: notebook {notebook!r} has claims in several files: {sorted(sources)}")
        merged.extend(next(iter(sources.values())))
    return merged


def _number(value):
    return value if isinstance(value, str) else f"{value:.4g}"


def expected_range(record):
    """The expected range as text: ``[lo, hi]``, ``>= lo`` or ``<= hi``."""
    lo, hi = record["lo"], record["hi"]
    if lo is None:
        return f"<= {_number(hi)}"
    if hi is None:
        return f">= {_number(lo)}"
    return f"[{_number(lo)}, {_number(hi)}]"


def table_rows(records):
    """One row of display strings per record, in the order of :data:`COLUMNS`."""
    return [
        (
            record["notebook"],
            record["claim"],
            _number(record["value"]),
            expected_range(record),
            "pass" if record["passed"] else "FAIL",
            record["figure"],
            record.get("profile") or "not recorded",
        )
        for record in records
    ]


def summary(records):
    """How many claims pass and fail, and under which profiles they were measured: ``3 pass, 1 fail (profile
    quick)``."""
    n_failed = len(failed_claims(records))
    profiles = sorted({record.get("profile") or "not recorded" for record in records})
    measured = f" (profile {', '.join(profiles)})" if profiles else ""
    return f"{len(records) - n_failed} pass, {n_failed} fail{measured}"


def render_text(records):
    """The claims as an aligned plain-text table, then the :func:`summary` line."""
    rows = [COLUMNS, *table_rows(records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.append(f"claims: {summary(records)}")
    return "\n".join(lines)


def render_markdown(records, columns=COLUMNS):
    """The claims as a Markdown table of ``columns`` (names from :data:`COLUMNS`, in the order given)."""
    indices = [COLUMNS.index(column) for column in columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in table_rows(records):
        lines.append("| " + " | ".join(row[i].replace("|", "\\|") for i in indices) + " |")
    return "\n".join(lines)
