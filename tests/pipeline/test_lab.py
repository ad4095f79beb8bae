"""JupyterLab leaves the repository clean: opening and saving a notebook through jupytext's contents manager (the one
``make lab`` runs) rewrites neither the ``.py`` header nor its cells and writes no paired ``.ipynb``."""

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.py"))


def git(folder, *args):
    return subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=test", "-c", "user.email=test@example.org", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


async def open_edit_and_save(root, path):
    """What a JupyterLab session does: open the text notebook, run a cell and fold a heading (metadata JupyterLab
    writes), add kernel metadata, save."""
    from jupytext import AsyncTextFileContentsManager

    manager = AsyncTextFileContentsManager(root_dir=str(root))
    model = await manager.get(path)
    assert model["type"] == "notebook"
    notebook = model["content"]
    code = next(cell for cell in notebook.cells if cell.cell_type == "code")
    code.execution_count = 1
    code.metadata |= {"scrolled": True, "execution": {"iopub.status.idle": "2026-01-01T00:00:00Z"}}
    markdown = next(cell for cell in notebook.cells if cell.cell_type == "markdown")
    markdown.metadata |= {"editable": True, "jp-MarkdownHeadingCollapsed": True}
    notebook.metadata |= {"language_info": {"name": "python", "version": "3.11.0"}, "widgets": {}}
    await manager.save({"type": "notebook", "format": "json", "content": notebook}, path)


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_opening_and_saving_in_jupyterlab_leaves_git_status_clean(source, tmp_path):
    shutil.copy2(ROOT / "jupytext.toml", tmp_path / "jupytext.toml")
    (tmp_path / "notebooks").mkdir()
    shutil.copy2(source, tmp_path / "notebooks" / source.name)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "copy")
    asyncio.run(open_edit_and_save(tmp_path, f"notebooks/{source.name}"))
    assert git(tmp_path, "status", "--porcelain", "--ignored") == "", git(tmp_path, "diff")


def test_make_lab_starts_as_root_too():
    """JupyterLab refuses to run as root without ``--allow-root`` (containers, CI); ``make lab`` adds it for uid 0."""
    import os

    result = subprocess.run(
        ["make", "-C", str(ROOT), "-n", "lab", "STAMP=Makefile"], capture_output=True, text=True, check=True
    )
    (command,) = [line for line in result.stdout.splitlines() if "jupyter lab" in line]
    assert command.endswith("--allow-root") == (os.getuid() == 0), command
