"""Every README shell block marked runnable (``<!-- runnable -->`` on the line before a ```` ```sh ```` fence)
runs exactly as written in a fresh clone of HEAD, with this environment's virtual environment as ``.venv``."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- runnable -->"
MARKER_LINE = re.compile(r"^<!-- runnable -->$", re.M)
RUNNABLE = re.compile(r"^<!-- runnable -->\n```sh\n(.*?)^```$", re.M | re.S)
# make setup's inputs: set older than the environment's install stamp, so that make installs nothing in the clone.
SETUP_INPUTS = ("pyproject.toml", "requirements.lock", "postBuild")


def runnable_blocks(text):
    """The shell blocks of ``text`` marked runnable; ValueError when a marker line is not followed by a ```sh
    block (a marker quoted inside a line of prose is not a marker)."""
    blocks, markers = RUNNABLE.findall(text), len(MARKER_LINE.findall(text))
    if len(blocks) != markers:
        raise ValueError(
            f"text: each '{MARKER}' line must be followed by a ```sh fenced block "
            f"({markers} markers, {len(blocks)} blocks)"
        )
    return blocks


def test_runnable_blocks_are_found_and_a_stray_marker_is_refused():
    text = f"a, quoting {MARKER} in prose\n{MARKER}\n```sh\necho 1\necho 2\n```\n\n```sh\nnot marked\n```\n{MARKER}\n```sh\nls\n```\n"
    assert runnable_blocks(text) == ["echo 1\necho 2\n", "ls\n"]
    with pytest.raises(ValueError, match="text"):
        runnable_blocks(f"{MARKER}\n    indented\n")


def fresh_clone(folder):
    """A clone of HEAD in ``folder`` whose ``.venv`` is this environment's, already installed (no pip runs)."""
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(folder)], check=True)
    (folder / ".venv").symlink_to(Path(sys.prefix))
    for name in SETUP_INPUTS:
        os.utime(folder / name, (0, 0))
    stamp_ready = subprocess.run(["make", "-C", str(folder), "-q", ".venv/.companion-installed"], check=False)
    assert stamp_ready.returncode == 0, f"{sys.prefix} has no .companion-installed stamp: `make setup` makes it"
    return folder


@pytest.mark.notebook
def test_every_runnable_readme_block_works_in_a_fresh_clone(tmp_path):
    clone = fresh_clone(tmp_path / "clone")
    blocks = runnable_blocks((clone / "README.md").read_text())
    assert len(blocks) >= 3, "the rerun-one-notebook recipes are marked runnable"
    environment = {**os.environ, "PYTHONPATH": str(clone)}  # the kernel imports the clone's package
    environment.pop("COMPANION_FIGURES", None)
    for block in blocks:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=clone,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"README block failed:\n{block}\n{result.stdout}\n{result.stderr}"
    assert (clone / "build" / "figures" / "quick" / "00_mup_mean_field" / "claims.json").is_file()
    assert (clone / "build" / "00.out.ipynb").is_file()
    assert (clone / "build" / "figures" / "00_mup_mean_field" / "claims.json").is_file()
    changed = subprocess.run(
        ["git", "-C", str(clone), "status", "--porcelain", "--", "figures", "README.md"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert changed == "", f"quick runs changed committed files:\n{changed}"
