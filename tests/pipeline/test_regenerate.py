"""Regenerations change only what changed: a second `make figures` on an unchanged tree leaves every file as it was
and says "nothing changed"; a moved value, a flipped verdict and changed data are reported and installed."""

import json
from pathlib import Path

import pytest

from companion.pipeline import install

ROOT = Path(__file__).resolve().parents[2]
README = (
    "# A front page\n\n<!-- BEGIN launch -->\n<!-- END launch -->\n\n<!-- BEGIN notebooks -->\n<!-- END notebooks -->"
    "\n\n<!-- BEGIN claims -->\n<!-- END claims -->\n"
)


def snapshot(*folders):
    return {
        str(path): (path.read_bytes(), path.stat().st_mtime_ns)
        for folder in folders
        for path in sorted(Path(folder).rglob("*"))
        if path.is_file()
    }


@pytest.mark.notebook
def test_a_second_run_on_an_unchanged_tree_changes_no_file(tmp_path, throwaway_notebook, make_figures):
    throwaway_notebook(tmp_path / "nbs", lo=5, hi=5)
    (tmp_path / "README.md").write_text(README)
    first = make_figures(tmp_path, profile="standard")  # standard: the executed notebook is published too
    assert first.returncode == 0, first.stdout + first.stderr
    assert "99_tiny: new: 1 figures or tables, 1 claims and checks" in first.stdout
    assert (tmp_path / "out" / "notebooks" / "99_tiny.ipynb").is_file()
    before = snapshot(tmp_path / "out", tmp_path / "README.md")
    second = make_figures(tmp_path, profile="standard")
    assert second.returncode == 0, second.stdout + second.stderr
    assert (
        f"What changed against the results installed in {tmp_path / 'out'} before this run: nothing changed."
        in second.stdout
    )
    after = snapshot(tmp_path / "out", tmp_path / "README.md")
    assert sorted(after) == sorted(before)
    assert [name for name in before if before[name] != after[name]] == []


def folder(path, csv="x,y\n1,0.5\n", value=1.0, passed=True, revision="a" * 40, dirty=False, wall=1.0):
    from companion.pipeline import claims

    path.mkdir(parents=True)
    (path / "line.csv").write_text(csv)
    (path / "line.png").write_bytes(b"png of this run " + str(wall).encode())
    (path / "line.json").write_text(
        json.dumps(
            {
                "stem": "line",
                "notebook": "99_tiny",
                "git_revision": revision,
                "git_dirty": dirty,
                "wall_time_s": wall,
                "caption": "c",
            }
        )
    )
    record = claims.check_claim("99_tiny", "slope", value, 0 if passed else 5, 2 if passed else 6, "line", "check")
    claims.write_claims(path / "claims.json", [record])
    return path


def test_install_keeps_reproduced_files_and_reports_what_moved(tmp_path):
    installed = folder(tmp_path / "installed")
    kept = snapshot(installed)
    # numbers within tolerance, another wall time, same revision: nothing changes, the old PNG stays
    assert (
        install.install_folder(
            folder(tmp_path / "s1", csv="x,y\n1,0.5000000000001\n", value=1.0 + 1e-13, wall=2.0), installed
        )
        == []
    )
    assert snapshot(installed) == kept
    # data beyond tolerance: the group is replaced, the claims kept
    changes = install.install_folder(folder(tmp_path / "s2", csv="x,y\n1,0.51\n"), installed)
    assert changes == ["line: line.csv: data changed"] and (installed / "line.csv").read_text() == "x,y\n1,0.51\n"
    # a value that moved and a verdict that flipped
    assert install.install_folder(folder(tmp_path / "s3", csv="x,y\n1,0.51\n", value=1.5), installed) == [
        "check value moved: slope: 1.0 -> 1.5"
    ]
    assert install.install_folder(folder(tmp_path / "s4", csv="x,y\n1,0.51\n", value=1.5, passed=False), installed)[
        0
    ].startswith("check verdict flipped (pass -> FAIL): slope")
    # the same numbers made from uncommitted changes at another revision: rewritten, so the revision stays honest
    changes = install.install_folder(
        folder(tmp_path / "s5", csv="x,y\n1,0.51\n", value=1.5, passed=False, revision="b" * 40, dirty=True), installed
    )
    assert changes == ["line: code changed since aaaaaaaaaa"]
    assert json.loads((installed / "line.json").read_text())["git_revision"] == "b" * 40


def test_a_full_disk_during_install_leaves_the_previous_folder(tmp_path, monkeypatch):
    installed = folder(tmp_path / "installed")
    kept = snapshot(installed)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(install.shutil, "copytree", full)
    with pytest.raises(OSError, match="No space"):
        install.install_folder(folder(tmp_path / "s", csv="x,y\n2,2\n"), installed)
    assert snapshot(installed) == kept and sorted(p.name for p in tmp_path.iterdir()) == ["installed", "s"]
