"""Claims and checks: a measured value against its expected range, merged across notebooks, shown as tables.

Two kinds of record (``kind``):

- **claim**: a falsifiable statement about the mathematics: a measurement compared with a *prediction* from theory
  or from an independent computation; ``prediction`` says what was predicted and where the prediction comes from.
  A claim can fail.
- **check**: an implementation identity or a sanity bound (Parseval, a triangle inequality, agreement of two
  implementations of one formula). Checks guard the code; they are never counted as evidence.

Tables show the claims first and count the checks apart: ``12 claims pass, 0 fail; 5 checks pass, 0 fail``.
"""

import json
import math
from pathlib import Path

from companion.pipeline.cache import atomic_write_bytes

COLUMNS = ("notebook", "kind", "claim", "prediction", "value", "expected", "result", "figure", "profile")
KINDS = ("claim", "check")


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


def check_claim(notebook, claim, value, lo, hi, figure, kind="claim", prediction=None):
    """A record of ``kind`` "claim" or "check": ``passed`` is True when ``lo <= value <= hi`` (a None bound is open;
    NaN never passes). A claim needs its ``prediction`` (what theory or an independent computation predicts, and
    which); a check has none."""
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    if not isinstance(claim, str) or not claim.strip():
        raise ValueError(f"claim: a {kind} needs a non-empty description")
    if kind == "claim" and (not isinstance(prediction, str) or not prediction.strip()):
        raise ValueError(
            "prediction: a claim needs the prediction it is compared with and its source (theory or an "
            "independent computation); an implementation identity or sanity bound is a check instead"
        )
    if kind == "check" and prediction is not None:
        raise ValueError(f"prediction: a check compares with no prediction, got {prediction!r}; record it as a claim")
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
        "kind": kind,
        "claim": claim.strip(),
        "prediction": prediction.strip() if prediction is not None else None,
        "value": measured if math.isfinite(measured) else str(measured),
        "lo": lo if lo is None or math.isfinite(lo) else str(lo),
        "hi": hi if hi is None or math.isfinite(hi) else str(hi),
        "passed": passed,
        "figure": figure,
    }


def failed_claims(records):
    """The records that did not pass."""
    return [record for record in records if not record["passed"]]


def kind_of(record):
    """The record's kind; records written before kinds existed count as claims."""
    return record.get("kind", "claim")


def counts(records):
    """``{kind: {"passed": n, "failed": m}}`` for both kinds."""
    tally = {kind: {"passed": 0, "failed": 0} for kind in KINDS}
    for record in records:
        tally[kind_of(record)]["passed" if record["passed"] else "failed"] += 1
    return tally


def claims_first(records):
    """``records`` with the claims before the checks, each kind's order kept."""
    return sorted(records, key=lambda record: KINDS.index(kind_of(record)))


def write_claims(path, records, glue=None):
    """Write ``records`` as ``{"claims": [...], "passed": n, "failed": m, "counts": {kind: {...}}}`` to ``path``
    (JSON); ``passed``/``failed`` count every record, ``counts`` each kind apart. ``glue`` (a notebook's
    ``{name: {"value": v, "text": t}}``, :mod:`companion.pipeline.prose`) is stored under ``"glue"`` when given."""
    records = list(records)
    n_failed = len(failed_claims(records))
    document = {"claims": records, "passed": len(records) - n_failed, "failed": n_failed, "counts": counts(records)}
    if glue:
        document["glue"] = dict(glue)
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


def value_text(record):
    """The measured value as table text (4 significant digits)."""
    return _number(record["value"])


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
            kind_of(record),
            record["claim"],
            record.get("prediction") or "",
            value_text(record),
            expected_range(record),
            "pass" if record["passed"] else "FAIL",
            record["figure"],
            record.get("profile") or "not recorded",
        )
        for record in claims_first(records)
    ]


def summary(records):
    """How many claims and checks pass and fail, and under which profiles they were measured:
    ``claims: 3 pass, 1 fail; checks: 2 pass, 0 fail (profile quick)``."""
    tally = counts(records)
    profiles = sorted({record.get("profile") or "not recorded" for record in records})
    measured = f" (profile {', '.join(profiles)})" if profiles else ""
    return (
        "; ".join(f"{kind}s: {tally[kind]['passed']} pass, {tally[kind]['failed']} fail" for kind in KINDS) + measured
    )


def render_text(records):
    """The claims as an aligned plain-text table, then the :func:`summary` line."""
    rows = [COLUMNS, *table_rows(records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.append(summary(records))
    return "\n".join(lines)


def render_markdown(records, columns=COLUMNS):
    """The claims as a Markdown table of ``columns`` (names from :data:`COLUMNS`, in the order given)."""
    indices = [COLUMNS.index(column) for column in columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in table_rows(records):
        lines.append("| " + " | ".join(row[i].replace("|", "\\|") for i in indices) + " |")
    return "\n".join(lines)
