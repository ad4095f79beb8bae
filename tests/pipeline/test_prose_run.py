"""The glue mechanism end to end: a throwaway notebook says a glued number, the runner executes it, and the number
reaches the executed notebook (a Markdown output that nbconvert renders), ``claims.json`` and the literal check."""

import json

import jupytext
import pytest

from companion.pipeline import prose, runner

SAID = """
# %% [markdown]
# The mean is 2.00 here, typed by hand.

# %% tags=["remove-input"]
nb.say(f"The run drew $n = {nb.glue('n', n, 'd')}$ points of mean {nb.glue('mean', (n - 1) / 2, '.2f')}.")

# %%
nb.finish()
"""


@pytest.mark.notebook
def test_a_glued_number_reaches_the_output_the_claims_and_the_literal_check(tmp_path, throwaway_notebook):
    from nbconvert import HTMLExporter

    source = throwaway_notebook(tmp_path / "notebooks")
    source.write_text(source.read_text().replace("\n# %%\nnb.finish()\n", SAID))
    run = runner.execute_notebook(
        source, profile="quick", figures_root=tmp_path / "figures", build_dir=tmp_path / "build"
    )
    document = json.loads((run.folder / "claims.json").read_text())
    assert document["glue"] == {"n": {"value": 3.0, "text": "3"}, "mean": {"value": 1.0, "text": "1.00"}}
    executed = json.loads((tmp_path / "build" / f"{source.stem}.ipynb").read_text())
    (said,) = [cell for cell in executed["cells"] if "remove-input" in cell["metadata"].get("tags", [])]
    (output,) = said["outputs"]
    assert "".join(output["data"]["text/markdown"]) == "The run drew $n = 3$ points of mean 1.00."
    import nbformat

    html, _ = HTMLExporter().from_notebook_node(nbformat.reads(json.dumps(executed), as_version=4))
    assert "The run drew" in html and "points of mean 1.00." in html
    results = prose.recorded_results({**document, "glue": {**document["glue"], "mean": {"value": 2.0}}})
    cells = [(cell.cell_type, cell.source) for cell in jupytext.read(source).cells]
    assert [(literal, labels) for _, literal, labels in prose.stale_literals(cells, results)] == [
        ("2.00", ["glue: mean"])
    ]
