"""Numbers in the notebooks' prose come from the run: no markdown cell types a recorded result by hand.

For each notebook, every number written in its markdown cells (and in the literal text of its ``nb.say`` calls) is
compared with the results its committed standard run recorded in ``figures/<notebook>/claims.json`` (claim and check
values, glued values) at the literal's printed precision; the rule that says which literals count is in
:mod:`companion.pipeline.prose`. A stale literal is replaced by ``nb.say(f"... {nb.glue(name, value, fmt)} ...")``.
Run one notebook's check with ``pytest tests/pipeline/test_prose_numbers.py -k 01_``.
"""

import json
import os
from pathlib import Path

import jupytext
import pytest

from companion.pipeline import prose

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.py"))
FIGURES = Path(os.environ.get("COMPANION_LINT_FIGURES") or ROOT / "figures")


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_prose_quotes_no_recorded_result_literally(source):
    path = FIGURES / source.stem / "claims.json"
    if not path.is_file():
        pytest.skip(f"{path} is not committed yet (the standard run writes it)")
    document = json.loads(path.read_text())
    cells = [(cell.cell_type, cell.source) for cell in jupytext.read(source).cells]
    stale = prose.stale_literals(cells, prose.recorded_results(document), prose.recorded_windows(document))
    listing = "\n".join(
        f"  cell {index}: {literal!r} is the recorded "
        + "; ".join(label[:100] for label in labels[:3])
        + (" ..." if len(labels) > 3 else "")
        for index, literal, labels in stale
    )
    assert not stale, (
        f"{source.name}: {len(stale)} number(s) in the prose are results of the run typed by hand; "
        f'write them with nb.say(f"... {{nb.glue(name, value, fmt)}} ..."):\n{listing}'
    )
