"""Filesystem faults fail fast with one clear line and leave no partial file; a run writes nothing to $HOME.

The read-only folder is a read-only tmpfs and the full disk a 64 KiB tmpfs, both mounted by the test (root, as
here and in the CI container, can write through ``chmod``); without permission to mount they are skipped."""

import contextlib
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def tmpfs(folder, options):
    """A tmpfs mounted at ``folder`` with ``options``; skips the test when mounting is not permitted."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, text=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({mounted.stderr.strip() or 'not permitted'}): needs root or CAP_SYS_ADMIN"
        )
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def assert_one_clear_line(result, *fragments):
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if "FAILED" in line]
    assert len(lines) == 1 and all(fragment in lines[0] for fragment in fragments), result.stderr


@pytest.mark.notebook
def test_a_read_only_figures_folder_fails_before_the_notebook_runs(tmp_path, throwaway_notebook, runner):
    source = throwaway_notebook(tmp_path / "nbs")
    with tmpfs(tmp_path / "figures", "ro,size=1m") as figures:
        result = runner(source, figures, tmp_path / "build")
    assert_one_clear_line(result, "[99_tiny] FAILED: figures: cannot write to", "Read-only file system")
    assert not (tmp_path / "build" / "99_tiny.ipynb").exists()  # found before the kernel started


@pytest.mark.notebook
def test_a_full_figures_disk_gives_one_line_and_keeps_the_previous_results(tmp_path, throwaway_notebook, runner):
    source = throwaway_notebook(tmp_path / "nbs")
    with tmpfs(tmp_path / "figures", "size=64k") as figures:
        (figures / "99_tiny").mkdir()
        (figures / "99_tiny" / "previous.csv").write_text("x\n1\n")
        filler = figures / "filler"
        with open(filler, "wb") as handle:  # leave about 12 KiB: enough for the writability probe, not the figures
            handle.write(b"\0" * (52 * 1024))
        result = runner(source, figures, tmp_path / "build")
        left = sorted(str(path.relative_to(figures)) for path in figures.rglob("*"))
    assert_one_clear_line(result, "[99_tiny] FAILED:", "No space left on device")
    assert left == ["99_tiny", "99_tiny/previous.csv", "filler", "install.lock"]  # no partial file


@pytest.mark.notebook
def test_a_full_build_disk_gives_one_line_and_leaves_no_partial_file(tmp_path, throwaway_notebook, runner):
    source = throwaway_notebook(tmp_path / "nbs")
    with tmpfs(tmp_path / "build", "size=64k") as build:
        with open(build / "filler", "wb") as handle:  # room for the probe and the converted source, not the run
            handle.write(b"\0" * (60 * 1024))
        result = runner(source, tmp_path / "figures", build)
        left = sorted(path.name for path in build.iterdir())
        converted = json.loads((build / "99_tiny.source.ipynb").read_text()) if "99_tiny.source.ipynb" in left else {}
    assert_one_clear_line(result, "[99_tiny] FAILED:", str(build), "No space left on device")
    assert set(left) <= {"filler", "state", "99_tiny.source.ipynb"}, left  # no executed notebook, no temporary
    assert converted == {} or converted["nbformat"] == 4  # written whole or not at all
    assert not (tmp_path / "figures" / "99_tiny").exists()


@pytest.mark.notebook
def test_a_run_writes_nothing_to_home_and_keeps_tool_state_under_build(tmp_path, throwaway_notebook, runner):
    source = throwaway_notebook(tmp_path / "nbs")
    home = tmp_path / "home"
    home.mkdir()
    unset = (
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "XDG_DATA_HOME",
        "XDG_RUNTIME_DIR",
        "IPYTHONDIR",
        "MPLCONFIGDIR",
        "JUPYTER_RUNTIME_DIR",
    )
    env = {**{name: value for name, value in os.environ.items() if name not in unset}, "HOME": str(home)}
    result = runner(source, tmp_path / "figures", tmp_path / "build", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(str(path.relative_to(home)) for path in home.rglob("*")) == []
    state = tmp_path / "build" / "state"
    assert (state / "ipython" / "profile_default").is_dir() and (state / "matplotlib").is_dir()
