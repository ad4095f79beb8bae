"""The committed figures were made by the code of the repository (not by an older revision of it).

A figure is current when the last commit that changed ``companion/`` or its notebook's source is contained in the
revision that made it (recorded in its JSON with a clean tree), or in one of the revisions listed in its
``verified_unchanged_at`` field (later commits at which a rerun was checked to leave its numbers unchanged).
This reads git history: it fails, never skips, where git or the full history is missing.
"""

import json
import subprocess

import pytest

from companion.pipeline.paths import REPO_ROOT, committed_figures_root
from companion.pipeline.provenance import git_state
from companion.pipeline.report import stale_figures


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def commit_all(repo, message):
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", message)
    return subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def write_figure(repo, **record):
    path = repo / "figures" / "00_a" / "line.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"stem": "line", "notebook": "00_a", "order": 0, **record}))


def test_committed_figures_were_made_by_the_current_code():
    try:
        problems = stale_figures(committed_figures_root(), REPO_ROOT)
    except RuntimeError as err:
        pytest.fail(f"cannot check the figures against the code: {err}")
    assert not problems, (
        f"{len(problems)} committed figures may not match the code; regenerate them with `make figures` from a "
        "clean, committed tree, or rerun a notebook at a later commit, check that its CSVs and claims come out "
        "byte-identical and add that commit to the figures' `verified_unchanged_at` list:\n" + "\n".join(problems)
    )


def test_stale_figures_follows_the_history(tmp_path):
    repo = tmp_path / "repo"
    (repo / "companion").mkdir(parents=True)
    (repo / "notebooks").mkdir()
    git(repo, "init", "-q")
    (repo / "companion" / "m.py").write_text("x = 1\n")
    (repo / "notebooks" / "00_a.py").write_text("# a\n")
    made = commit_all(repo, "code")
    write_figure(repo, git_revision=made, git_dirty=False)
    commit_all(repo, "figures")
    assert stale_figures(repo / "figures", repo) == []
    (repo / "notebooks" / "01_b.py").write_text("# another notebook\n")
    commit_all(repo, "another notebook's change leaves 00_a current")
    assert stale_figures(repo / "figures", repo) == []
    (repo / "companion" / "m.py").write_text("x = 2\n")
    changed = commit_all(repo, "code change")
    (problem,) = stale_figures(repo / "figures", repo)
    assert problem.startswith(f"00_a/line: made at {made[:10]}, older than {changed[:10]}")
    write_figure(repo, git_revision=made, git_dirty=False, verified_unchanged_at=[changed])
    assert stale_figures(repo / "figures", repo) == []
    write_figure(repo, git_revision=changed, git_dirty=True)
    assert "uncommitted changes" in stale_figures(repo / "figures", repo)[0]
    write_figure(repo, git_revision="0" * 40, git_dirty=False)
    assert "not all commits" in stale_figures(repo / "figures", repo)[0]


def test_stale_figures_refuses_to_pass_without_history(tmp_path):
    (tmp_path / "figures").mkdir()
    with pytest.raises(RuntimeError, match="not a git repository"):
        stale_figures(tmp_path / "figures", tmp_path)
    source = tmp_path / "source"
    source.mkdir()
    git(source, "init", "-q")
    for i in range(2):
        (source / "f.txt").write_text(str(i))
        commit_all(source, f"c{i}")
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{source}", "shallow")
    with pytest.raises(RuntimeError, match="shallow"):
        stale_figures(tmp_path / "figures", tmp_path / "shallow")


def test_git_dirty_leaves_out_what_the_pipeline_writes(tmp_path):
    repo = tmp_path / "repo"
    (repo / "companion").mkdir(parents=True)
    git(repo, "init", "-q")
    readme = repo / "README.md"
    readme.write_text("intro\n<!-- BEGIN claims -->\nold table\n<!-- END claims -->\noutro\n")
    (repo / "companion" / "m.py").write_text("x = 1\n")
    revision = commit_all(repo, "code")
    assert git_state(repo) == {"revision": revision, "dirty": False}
    readme.write_text("intro\n<!-- BEGIN claims -->\nnew table\nrows\n<!-- END claims -->\noutro\n")
    write_figure(repo, git_revision=revision, git_dirty=False)
    assert git_state(repo) == {"revision": revision, "dirty": False}
    readme.write_text("intro, edited by hand\n<!-- BEGIN claims -->\nnew table\n<!-- END claims -->\noutro\n")
    assert git_state(repo)["dirty"] is True
    readme.write_text("intro\n<!-- BEGIN claims -->\n<!-- END claims -->\noutro\n")
    assert git_state(repo)["dirty"] is False
    (repo / "companion" / "m.py").write_text("x = 2\n")
    assert git_state(repo)["dirty"] is True
    assert git_state(tmp_path / "no_repo") == {"revision": None, "dirty": None}
