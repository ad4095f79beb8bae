import json

import pandas as pd
import pytest

from companion.pipeline import robustness


def write_claims(out, seed, notebook, records):
    folder = robustness.seed_folder(out, seed) / "figures" / notebook
    folder.mkdir(parents=True)
    (folder / "claims.json").write_text(json.dumps(dict(claims=records)))


def record(claim, value, passed, kind="claim", lo=-1.2, hi=-0.8):
    return dict(
        notebook="04_x",
        kind=kind,
        claim=claim,
        prediction="p" if kind == "claim" else None,
        value=value,
        lo=lo,
        hi=hi,
        passed=passed,
        figure="f",
    )


def test_table_counts_the_seeds_under_which_each_claim_passes(tmp_path):
    write_claims(
        tmp_path,
        1,
        "04_x",
        [
            record("slope (half-width 0.05)", -1.0, True),
            record("ratio", 0.9, True),
            record("bound", 1.0, True, kind="check"),
        ],
    )
    write_claims(tmp_path, 3, "04_x", [record("slope (half-width 0.02)", -0.1, False)])  # a run that crashed later
    write_claims(
        tmp_path,
        2,
        "04_x",
        [
            record("slope (half-width 0.07)", -0.7, False),
            record("ratio", 1.1, True),
            record("bound", 1.0, True, kind="check"),
        ],
    )
    runs = pd.DataFrame(
        [
            dict(notebook="04_x", seed=1, status=0, seconds=60.0),
            dict(notebook="04_x", seed=2, status=robustness.CLAIMS_FAILED, seconds=60.0),
            dict(notebook="04_x", seed=3, status=1, seconds=5.0),
        ]
    )
    table = robustness.robustness_table(robustness.claim_records(tmp_path, [1, 2, 3], ["04_x"]), runs)
    assert list(table["kind"]) == ["claim", "claim", "check"]
    slope = table.iloc[0]
    assert slope["claim"] == "slope (half-width #)"  # the seeds' texts differ only in their numbers
    assert (slope["passes"], slope["seeds"], slope["failing_seeds"]) == (1, 2, "2")
    assert (slope["value_min"], slope["value_max"]) == (-1.0, -0.7)
    assert table.iloc[1]["claim"] == "ratio" and table.iloc[1]["passes"] == 2
    assert table.iloc[2]["window"] == "[-1.2, -0.8]"
    open_table = robustness.robustness_table(
        pd.DataFrame(
            [
                dict(
                    seed=1,
                    notebook="04_x",
                    kind="check",
                    position=0,
                    pattern="c",
                    claim="c",
                    value=1.0,
                    lo=None,
                    hi=4.0,
                    passed=True,
                )
            ]
        ),
        runs,
    )
    assert open_table.iloc[0]["window"] == "[-inf, 4]"
    text = robustness.markdown(table, runs, "quick")
    assert "1/2" in text and "04_x seed 3 (status 1)" in text
    robustness.write(table, runs, "quick", tmp_path / "table")
    assert pd.read_csv(tmp_path / "table" / "robustness.csv").shape[0] == 3


def test_notebook_prefixes_must_name_one_notebook(tmp_path):
    (tmp_path / "01_a.py").write_text("")
    (tmp_path / "01b_b.py").write_text("")
    assert [p.name for p in robustness.notebook_sources(["01", "01b"], tmp_path)] == ["01_a.py", "01b_b.py"]
    with pytest.raises(ValueError, match="^notebooks: '04'"):
        robustness.notebook_sources(["04"], tmp_path)


def test_fewer_than_four_seeds_is_refused():
    with pytest.raises(SystemExit):
        robustness.main(["--seeds", "3"])


def test_parallel_runs_give_the_serial_table_and_a_provenance_record(tmp_path, monkeypatch):
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "04_x.py").write_text("")

    def fake_run(source, seed, profile, out):
        write_claims(out, seed, "04_x", [record("slope", -1.0 + 0.1 * seed, seed != 2)])
        return dict(notebook="04_x", seed=seed, status=0 if seed != 2 else robustness.CLAIMS_FAILED, seconds=1.0)

    monkeypatch.setattr(robustness, "run_seed", fake_run)
    tables = {}
    for jobs in (1, 3):
        out = tmp_path / f"out{jobs}"
        argv = ["--seeds", "4", "--jobs", str(jobs), "--notebooks", "04", "--notebook-dir", str(tmp_path / "nb")]
        assert robustness.main(argv + ["--out", str(out)]) == 0
        tables[jobs] = pd.read_csv(out / "table" / "robustness.csv")
        meta = json.loads((out / "table" / "robustness.json").read_text())
        assert meta["jobs"] == jobs and meta["seeds"] == [1, 2, 3, 4] and len(meta["runs"]) == 4
        assert meta["git_revision"] and "torch" in meta["packages"] and meta["wall_time_s"] > 0
        assert meta["kind"] == "table" and meta["stem"] == "robustness" and "seeds 1…4" in meta["caption"]
        assert set(meta["files"]) == {"csv", "md", "json"}
    pd.testing.assert_frame_equal(tables[1], tables[3])
    assert tables[1].iloc[0]["passes"] == 3


def test_zero_jobs_is_refused():
    with pytest.raises(SystemExit):
        robustness.main(["--seeds", "4", "--jobs", "0"])
