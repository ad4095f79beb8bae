"""The runner and `make figures`: failed claims installed and shown, errors with their source line, stale staging
folders removed, installs safe under concurrency, profiles kept apart, NB selecting exactly one notebook."""

import json
import multiprocessing
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from companion.pipeline import claims, paths, report, runner

ROOT = Path(__file__).resolve().parents[2]


def folder_bytes(folder):
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def error_outputs(path):
    """The error outputs and papermill error-banner cells of the executed notebook at ``path``."""
    notebook = json.loads(Path(path).read_text())
    found = []
    for index, cell in enumerate(notebook["cells"]):
        if "papermill-error-cell-tag" in cell.get("metadata", {}).get("tags", []) or "papermill-error" in "".join(
            cell.get("source", "")
        ):
            found.append(f"cell {index}: papermill error banner")
        found += [
            f"cell {index}: {output.get('ename')}"
            for output in cell.get("outputs", [])
            if output.get("output_type") == "error"
        ]
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "figures" / "notebooks").glob("*.ipynb")), ids=lambda path: path.stem)
def test_no_published_notebook_holds_an_error_output(path):
    assert error_outputs(path) == []


README_TEMPLATE = """# A front page

<!-- BEGIN launch -->
<!-- END launch -->

<!-- BEGIN notebooks -->
<!-- END notebooks -->

<!-- BEGIN claims -->
<!-- END claims -->
"""


@pytest.mark.notebook
def test_a_failed_claim_is_recorded_and_shown_and_a_raising_cell_keeps_the_last_figures(
    tmp_path, throwaway_notebook, runner, make_figures
):
    """Two runs of a throwaway notebook: `make figures` with a claim that fails, then the runner on a cell that
    raises."""
    notebooks, figures, build = tmp_path / "nbs", tmp_path / "out", tmp_path / "build"
    throwaway_notebook(notebooks, lo=4, hi=4)
    readme = tmp_path / "README.md"
    readme.write_text(README_TEMPLATE)
    result = make_figures(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert re.search(
        r"^99_tiny +claim +the quick profile draws three points +a test prediction +3 +\[4, 4\] +FAIL "
        r"+line +quick$",
        result.stdout,
        re.M,
    ), output
    assert "claims: 0 pass, 1 fail; checks: 0 pass, 0 fail (profile quick)" in result.stdout
    # the run's figures and claims are installed, the claim recorded as failed
    assert (figures / "99_tiny" / "line.png").is_file()
    (record,) = claims.read_claims(figures / "99_tiny" / "claims.json")
    assert record["passed"] is False and record["value"] == 3 and record["profile"] == "quick"
    merged = json.loads((figures / "claims.json").read_text())
    assert merged["failed"] == 1 and merged["claims"] == [record]
    row = "the quick profile draws three points | a test prediction | 3 | [4, 4] | FAIL |"
    front_page = readme.read_text()
    assert f"| 99_tiny | claim | {row}" in front_page
    assert "claims: 0 pass, 1 fail; checks: 0 pass, 0 fail (profile quick)." in front_page
    assert "(notebooks/99_tiny.py) | 99 — A throwaway notebook | " in front_page and "cold cache, serial" in front_page
    figures_readme = (figures / "README.md").read_text()
    assert f"| claim | {row} quick |" in figures_readme
    assert "claims: 0 pass, 1 fail; checks: 0 pass, 0 fail (profile quick)" in figures_readme
    runtime = json.loads((figures / "runtimes.json").read_text())["99_tiny"]["quick"]
    assert runtime["cache"] == "cold" and runtime["jobs"] == 1
    # the cells' warnings reach the output; the kernel's TCP warning and tqdm's IProgress warning do not
    assert "[99_tiny] " in result.stderr and "RuntimeWarning: cache entry /tmp/x.pkl is unusable" in result.stderr
    assert "without encryption" not in output
    assert "IProgress" not in (build / "99_tiny.ipynb").read_text()
    # the failed claim ended the notebook normally: no error output, no papermill error banner
    assert error_outputs(build / "99_tiny.ipynb") == []
    assert (
        "FAILED claim: the quick profile draws three points: 3 (expected [4, 4])"
        in (build / "99_tiny.ipynb").read_text()
    )

    kept = folder_bytes(figures / "99_tiny")
    source = throwaway_notebook(notebooks, caption="Bad run.", broken="1 / (n - 3)")
    bad = runner(source, figures, build)
    assert bad.returncode == 1
    line = source.read_text().splitlines().index("broken = 1 / (n - 3)") + 1
    assert f"99_tiny.py:{line} (cell In [" in bad.stderr and ", line 3) `broken = 1 / (n - 3)`" in bad.stderr
    assert "ZeroDivisionError" in bad.stderr
    assert folder_bytes(figures / "99_tiny") == kept
    assert sorted(p.name for p in build.iterdir()) == ["99_tiny.ipynb", "99_tiny.source.ipynb", "state"]


@pytest.mark.notebook
def test_make_fails_on_empty_folders_and_bad_runner_flags_and_passes_seed_and_device(
    tmp_path, throwaway_notebook, make_figures
):
    throwaway_notebook(tmp_path / "nbs")
    (tmp_path / "README.md").write_text(README_TEMPLATE)
    for empty in ("BUILD=", "FIGURES=", "NOTEBOOK_DIR="):
        result = make_figures(tmp_path, empty)
        assert result.returncode != 0 and f"{empty[:-1]} is empty" in result.stderr, result.stderr
    bad = make_figures(tmp_path, "RUNNER_FLAGS=--no-such-flag")
    assert bad.returncode != 0 and "unrecognized arguments: --no-such-flag" in bad.stderr
    assert not (tmp_path / "out" / "99_tiny").exists()  # usage status 2 is not taken for "claims failed"
    dry = subprocess.run(
        ["make", "-C", str(ROOT), "-n", "figures", "NB=05", "SEED=7", "DEVICE=cpu"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--seed 7 --device cpu" in dry
    good = make_figures(tmp_path, "SEED=3", "DEVICE=cpu")
    assert good.returncode == 0, good.stdout + good.stderr
    record = json.loads((tmp_path / "out" / "99_tiny" / "line.json").read_text())
    assert (record["seed"], record["device"]) == (3, "cpu")


def test_make_nb_must_select_exactly_one_notebook():
    def dry_run(*variables):
        return subprocess.run(
            ["make", "-C", str(ROOT), "-n", "figures", *variables], capture_output=True, text=True, check=False
        )

    numbers = sorted(source.name.split("_")[0] for source in (ROOT / "notebooks").glob("[0-9]*.py"))
    for bad in ("0", "5", "9", "0*"):
        result = dry_run(f"NB={bad}")
        assert result.returncode != 0
        assert f"NB={bad} matches" in result.stderr and " ".join(numbers) in result.stderr
    selected = dry_run("NB=05")
    assert selected.returncode == 0, selected.stderr
    assert selected.stdout.count("companion.pipeline.runner") == 1 and "notebooks/05_" in selected.stdout
    for number in ("01", "01b"):  # 01 and its split-off 01b are selected apart
        selected = dry_run(f"NB={number}")
        assert selected.stdout.count("companion.pipeline.runner") == 1 and f"notebooks/{number}_" in selected.stdout
    assert dry_run("PROFILE=fast").returncode != 0


def test_make_keeps_other_profiles_out_of_the_committed_figures():
    def report_line(*variables):
        result = subprocess.run(
            ["make", "-C", str(ROOT), "-n", "figures", "NB=05", *variables], capture_output=True, text=True, check=True
        )
        return [line for line in result.stdout.splitlines() if "companion.pipeline.report" in line][0]

    assert "--figures build/figures/quick " in report_line("PROFILE=quick")
    assert "--figures build/figures/paper " in report_line("PROFILE=paper")
    assert "--figures figures " in report_line()
    assert "--figures figures " in report_line("PROFILE=quick", "FIGURES=figures")  # asked explicitly


def test_figures_root_follows_the_profile(monkeypatch):
    monkeypatch.delenv("COMPANION_FIGURES")
    assert paths.figures_root() == paths.figures_root("standard") == ROOT / "figures"
    assert paths.figures_root("quick") == ROOT / "build" / "figures" / "quick"
    monkeypatch.setenv("COMPANION_FIGURES", "/tmp/elsewhere")
    assert paths.figures_root("quick") == Path("/tmp/elsewhere")
    with pytest.raises(ValueError, match="profile"):
        paths.figures_root("fast")


def test_a_notebook_run_by_hand_writes_under_build_never_figures(monkeypatch):
    from companion.pipeline.notebook import setup_notebook

    monkeypatch.delenv("COMPANION_FIGURES")
    nb = setup_notebook("05_learning_cell", profile="standard")
    assert nb.figures_dir == ROOT / "build" / "figures" / "interactive" / "05_learning_cell"
    monkeypatch.setenv("COMPANION_FIGURES", "/tmp/staging")  # what the runner does
    assert nb.figures_dir == Path("/tmp/staging/05_learning_cell")


def test_report_touches_the_front_page_only_for_the_committed_figures(tmp_path, monkeypatch):
    figures = tmp_path / "quick"
    claims.write_claims(figures / "00_a" / "claims.json", [claims.check_claim("00_a", "c", 1, 0, 2, "f", "check")])
    touched = []
    monkeypatch.setattr(report, "update_readme", lambda *args: touched.append(args))
    assert report.main(["--figures", str(figures)]) == 0
    assert touched == [] and (figures / "README.md").is_file()


def test_stale_staging_folders_of_dead_runs_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [tmp_path / f"99_tiny.figures.{dead.pid}.abc", tmp_path / "99_tiny.figures.k2j4_x"]
    alive = [tmp_path / f"99_tiny.figures.{os.getpid()}.xyz", tmp_path / f"98_other.figures.{dead.pid}.abc"]
    for folder in stale + alive:
        (folder / "99_tiny").mkdir(parents=True)
    runner.remove_stale_staging(tmp_path, "99_tiny")
    assert [folder.exists() for folder in stale + alive] == [False, False, True, True]


def test_make_jobs_reads_the_j_level_from_makeflags():
    assert runner.make_jobs("") == 1
    assert runner.make_jobs("s") == 1
    assert runner.make_jobs("s -j2 --jobserver-auth=3,4") == 2
    assert runner.make_jobs("ks -j") == "unlimited"
    assert runner.make_jobs("k --jobserver-auth=fifo:/tmp/x") == 1


def test_runtimes_are_labelled_with_cache_state_and_concurrency(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_CACHE", str(tmp_path / "cache"))
    assert runner.cache_state("00_a") == "cold"
    (tmp_path / "cache" / "00_a").mkdir(parents=True)
    assert runner.cache_state("00_a") == "cold"
    (tmp_path / "cache" / "00_a" / "entry.npz").write_bytes(b"x")
    assert runner.cache_state("00_a") == "warm"
    runner.record_runtime(tmp_path, "00_a", "quick", 12.0, "cpu", "warm", 2)
    entry = json.loads((tmp_path / "runtimes.json").read_text())["00_a"]["quick"]
    assert report.runtime_text(entry).endswith("CPUs, warm cache, make -j2)")
    assert report.runtime_text({**entry, "cache": "cold", "jobs": 1}).endswith("CPUs, cold cache, serial)")
    assert report.runtime_text({"seconds": 3, "device": "cpu", "cpus": 2}) == (
        "3 s (cpu, 2 CPUs, cache state and concurrency not recorded)"
    )
    assert report.runtime_text({**entry, "jobs": "unlimited"}).endswith("warm cache, make -j)")
    with pytest.raises(ValueError, match="cache"):
        runner.record_runtime(tmp_path, "00_a", "quick", 1.0, "cpu", "lukewarm")


def install_many(root, stem, count, errors):
    """Stage and install a one-claim folder ``count`` times; put any exception's text into ``errors``."""
    try:
        for i in range(count):
            staging = Path(root).parent / f"staging-{stem}-{os.getpid()}-{i}"
            claims.write_claims(staging / "claims.json", [claims.check_claim(stem, f"run {i}", 1, 0, 2, "f", "check")])
            (staging / "f.csv").write_text(f"x\n{i}\n")
            runner.install_and_merge(staging, root, stem)
    except Exception as err:  # reported to the parent, which fails the test with it
        errors.put(f"{type(err).__name__}: {err}")


def test_concurrent_installs_never_fail_and_leave_a_consistent_merge(tmp_path):
    root = tmp_path / "figures"
    context = multiprocessing.get_context("fork")
    errors = context.Queue()
    workers = [
        context.Process(target=install_many, args=(root, stem, 150, errors))
        for stem in ("00_a", "00_a", "01_b", "01_b")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    found = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
    assert not found, found
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    assert sorted(p.name for p in root.iterdir()) == ["00_a", "01_b", "claims.json", "install.lock"]
    merged = claims.read_claims(root / "claims.json")
    assert [r["notebook"] for r in merged] == ["00_a", "01_b"]
    assert merged == [
        *claims.read_claims(root / "00_a" / "claims.json"),
        *claims.read_claims(root / "01_b" / "claims.json"),
    ]


def test_runner_needs_exactly_one_parameters_cell(tmp_path, throwaway_notebook):
    source = throwaway_notebook(tmp_path)
    source.write_text(source.read_text().replace(' tags=["parameters"]', ""))
    with pytest.raises(ValueError, match="parameters"):
        runner.convert(source, tmp_path / "out.ipynb")


def figure_folder(folder, csv=b"x\n1\n", value=1.0):
    folder.mkdir(parents=True)
    (folder / "line.csv").write_bytes(csv)
    (folder / "line.json").write_text(json.dumps({"stem": "line", "git_revision": "a" * 40}))
    claims.write_claims(folder / "claims.json", [claims.check_claim("00_a", "c", value, 0, 2, "line", "check")])
    return folder


def test_verification_compares_data_and_claims_and_records_the_revision(tmp_path):
    recorded = figure_folder(tmp_path / "recorded")
    assert runner.differences(recorded, figure_folder(tmp_path / "same")) == []
    assert runner.differences(recorded, figure_folder(tmp_path / "data", csv=b"x\n2\n")) == ["line.csv: data differ"]
    assert runner.differences(recorded, figure_folder(tmp_path / "claim", value=1.5)) == [
        "claims.json: claim values or verdicts differ"
    ]
    other = figure_folder(tmp_path / "other")
    (other / "line.csv").rename(other / "curve.csv")
    assert runner.differences(recorded, other)[0].startswith("figures: recorded ['line.csv'], rerun ['curve.csv']")
    for _ in range(2):
        runner.record_verified(recorded, "b" * 40)
    assert json.loads((recorded / "line.json").read_text())["verified_unchanged_at"] == ["b" * 40]
    assert "verified_unchanged_at" not in json.loads((recorded / "claims.json").read_text())


class FakeExecutionError:
    """The attributes of papermill's PapermillExecutionError that the runner reads."""

    def __init__(self, source, traceback, exec_count=4):
        self.source, self.traceback, self.exec_count = source, traceback, exec_count
        self.ename, self.evalue = "ValueError", "bad value"


def test_failing_cell_names_the_line_of_the_failing_cell(tmp_path):
    cell = "a = 1\nb = compute(a)\nc = 3"
    notebook = tmp_path / "00_x.py"
    notebook.write_text(f"# %%\nimport x\n\n# %%\n{cell}\n")
    frames = [
        "\x1b[31mValueError\x1b[39m Traceback",
        "Cell \x1b[32mIn[4], line 2\x1b[39m\n----> 2 b = compute(a)",
        "File lib.py:9, in compute(a)",
    ]
    assert runner.failing_cell(FakeExecutionError(cell, frames), notebook) == (
        f"{notebook}:6 (cell In [4], line 2) `b = compute(a)`: ValueError: bad value"
    )
    assert (
        runner.failing_cell(FakeExecutionError(cell, frames))
        == "cell In [4], line 2 `b = compute(a)`: ValueError: bad value"
    )
    elsewhere = ["Cell In[2], line 7\n----> 7 helper()"]  # a frame of another cell: no line of this one is known
    assert runner.failing_cell(FakeExecutionError(cell, elsewhere), notebook) == (
        "cell In [4] `a = 1`: ValueError: bad value"
    )


def test_a_rerun_keeps_the_recorded_run_time_of_the_same_configuration(tmp_path):
    def recorded():
        return json.loads((tmp_path / "runtimes.json").read_text())["00_a"]["quick"]

    runner.record_runtime(tmp_path, "00_a", "quick", 30.0, "cpu", "cold", 1)
    for seconds, cache, jobs in ((50.0, "cold", 1), (20.0, "cold", 1), (3.0, "warm", 1)):
        runner.record_runtime(tmp_path, "00_a", "quick", seconds, "cpu", cache, jobs)
        assert recorded()["seconds"] == 30.0  # within a factor 2, or a warm rerun of a cold time
    runner.record_runtime(tmp_path, "00_a", "quick", 10.0, "cpu", "cold", 1)  # a real speed-up
    assert recorded()["seconds"] == 10.0
    runner.record_runtime(tmp_path, "00_a", "quick", 11.0, "cpu", "cold", 2)  # another configuration
    assert recorded()["jobs"] == 2
