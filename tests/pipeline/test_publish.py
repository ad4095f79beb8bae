"""Executed notebooks for readers: volatile metadata stripped stably, published by standard runs only, a raising
run keeps the last good one; the README links them and launches Binder only from a GitHub remote."""

import difflib
import re

import nbformat
import pytest

from companion.pipeline import publish, report, runner

# What a rerun may change in the outputs: the elapsed time in the claims line (the pattern also admits lines naming
# the cache).
GENUINE_CHANGES = re.compile(r"\(profile standard\) \(\d+\.\d s\)|cache")


def synthetic_executed():
    """An executed notebook as papermill leaves it: timestamps, random ids, the kernel's execution counts."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["papermill"] = {
        "parameters": {"profile": "standard"},
        "start_time": "2026-12-01T10:00:00",
        "duration": 3.2,
        "input_path": "/tmp/a/x.ipynb",
        "output_path": "/tmp/b.ipynb",
    }
    markdown = nbformat.v4.new_markdown_cell("# Title")
    first = nbformat.v4.new_code_cell("1 + 1", execution_count=7)
    first.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=7)]
    first.metadata.update(
        papermill={"duration": 0.1, "status": "completed"}, execution={"iopub.execute_input": "2026-12-01T10:00:01"}
    )
    unexecuted = nbformat.v4.new_code_cell("x = 1")
    second = nbformat.v4.new_code_cell("print(3)", execution_count=12)
    second.outputs = [nbformat.v4.new_output("stream", name="stderr", text="/work/repo/companion/x.py:3: Warning\n")]
    notebook.cells = [markdown, first, unexecuted, second]
    return notebook


def test_strip_volatile_keeps_outputs_and_parameters_and_numbers_the_executed_cells():
    notebook = publish.strip_volatile(synthetic_executed(), root="/work/repo")
    assert notebook.metadata["papermill"] == {"parameters": {"profile": "standard"}}
    assert [cell.get("execution_count") for cell in notebook.cells] == [None, 1, None, 2]
    assert notebook.cells[1].outputs[0]["execution_count"] == 1 and notebook.cells[1].outputs[0]["data"] == {
        "text/plain": "2"
    }
    assert notebook.cells[3].outputs[0]["text"] == "companion/x.py:3: Warning\n"
    assert [cell["id"] for cell in notebook.cells] == ["cell-0", "cell-1", "cell-2", "cell-3"]
    assert all("papermill" not in cell.metadata and "execution" not in cell.metadata for cell in notebook.cells)
    nbformat.validate(notebook)


def test_publishing_twice_gives_identical_bytes(tmp_path):
    first, second = tmp_path / "a" / "x.ipynb", tmp_path / "b" / "x.ipynb"
    for destination in (first, second):
        executed = tmp_path / "executed.ipynb"
        nbformat.write(synthetic_executed(), executed)  # fresh random cell ids each time
        publish.publish_executed(executed, destination)
    assert first.read_bytes() == second.read_bytes()
    assert "2026-12-01" not in first.read_text() and "/tmp/" not in first.read_text()


def run(source, profile, figures, build):
    return runner.execute_notebook(source, profile, figures, build)


@pytest.mark.notebook
def test_standard_runs_publish_stably_and_quick_or_raising_runs_never_replace(
    tmp_path, monkeypatch, throwaway_notebook
):
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend, as under `make figures`
    publishable = dict(
        stem="98_pub", title="98 — A throwaway published notebook", claim="points drawn", caption="A line.", lo=1, hi=10
    )
    figures, build = tmp_path / "figures", tmp_path / "build"
    published = publish.executed_path(figures, "98_pub")

    source = throwaway_notebook(tmp_path / "nbs", **publishable, broken="1")
    run(source, "standard", figures, build)
    first = published.read_text()
    notebook = nbformat.reads(first, as_version=4)
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert any("image/png" in output.get("data", {}) for output in outputs), "the figure is embedded"
    assert any("points drawn" in output.get("text", "") for output in outputs)
    assert [cell.execution_count for cell in notebook.cells if cell.cell_type == "code"] == [1, 2, 3, 4, 5]
    for volatile in ("start_time", "end_time", "duration", "iopub.", str(build)):
        assert volatile not in first, volatile

    run(source, "standard", figures, build)
    second = published.read_text()
    changed = [
        line
        for line in difflib.unified_diff(first.splitlines(), second.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert all(GENUINE_CHANGES.search(line) for line in changed), changed

    run(source, "quick", tmp_path / "quick", build)
    assert not (tmp_path / "quick" / publish.EXECUTED_FOLDER).exists()

    throwaway_notebook(tmp_path / "nbs", **publishable, broken="1 / 0")
    with pytest.raises(runner.NotebookFailed, match="ZeroDivisionError"):
        run(source, "standard", figures, build)
    assert published.read_text() == second
    assert [folder.name for folder in report.notebook_folders(figures)] == ["98_pub"]


def test_notebooks_table_links_only_the_published_executed_notebooks(tmp_path):
    sources = []
    for stem in ("00_a", "01_b"):
        sources.append(tmp_path / "notebooks" / f"{stem}.py")
        sources[-1].parent.mkdir(exist_ok=True)
        sources[-1].write_text(f"# %% [markdown]\n# # {stem}\n")
    figures = tmp_path / "figures"
    publish.executed_path(figures, "01_b").parent.mkdir(parents=True)
    publish.executed_path(figures, "01_b").write_text("{}")
    links = report.executed_links(figures, sources, tmp_path / "README.md")
    assert links == {"01_b": "figures/notebooks/01_b.ipynb"}
    table = report.notebooks_table(sources, {}, links)
    assert "| [`00_a.py`](notebooks/00_a.py) | 00_a |" in table
    assert "| [`01_b.py`](notebooks/01_b.py) · [executed](figures/notebooks/01_b.ipynb) | 01_b |" in table


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/someone/mup-companion.git",
        "https://github.com/someone/mup-companion",
        "git@github.com:someone/mup-companion.git",
        "ssh://git@github.com/someone/mup-companion.git",
        "https://token@github.com/someone/mup-companion/",
    ],
)
def test_a_github_origin_gives_the_binder_badge_of_that_repository(url):
    assert report.github_repository(url) == "someone/mup-companion"
    assert report.launch_text(url) == (
        "[![Binder](https://mybinder.org/badge_logo.svg)]"
        "(https://mybinder.org/v2/gh/someone/mup-companion/HEAD?urlpath=lab/tree/notebooks)"
    )


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "/work/main",
        "https://gitlab.com/someone/mup-companion.git",
        "https://github.com/only-owner",
        "git@example.org:someone/x.git",
    ],
)
def test_without_a_github_origin_there_is_no_link_but_the_local_launch(url):
    assert report.github_repository(url) is None
    text = report.launch_text(url)
    assert "mybinder.org" not in text and "`make lab`" in text and "`repo2docker .`" in text


def test_origin_url_reads_the_remote_of_the_repository(tmp_path):
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert report.origin_url(tmp_path) is None
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", "git@github.com:someone/x.git"], check=True)
    assert report.origin_url(tmp_path) == "git@github.com:someone/x.git"
    readme = tmp_path / "README.md"
    readme.write_text(
        "<!-- BEGIN launch -->\n<!-- END launch -->\n<!-- BEGIN notebooks -->\n<!-- END notebooks -->\n"
        "<!-- BEGIN claims -->\n<!-- END claims -->\n"
    )
    report.update_readme(readme, [], {}, [], remote=report.origin_url(tmp_path))
    assert "mybinder.org/v2/gh/someone/x/HEAD" in readme.read_text()
