"""Every notebook in notebooks/ runs end to end (jupytext + papermill, profile quick) and all its claims pass."""

from pathlib import Path

import jupytext
import pytest

from companion.pipeline import claims

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_declares_profile_seed_and_device_parameters(source):
    notebook = jupytext.read(source)
    (cell,) = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assigned = {line.split("=")[0].strip() for line in cell.source.splitlines() if "=" in line}
    assert {"profile", "seed", "device"} <= assigned
    assert 'profile = "standard"' in cell.source


@pytest.mark.notebook
@pytest.mark.parametrize("source", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_quick_and_its_claims_pass(source, tmp_path, runner):
    figures = tmp_path / "figures"
    # pytest-xdist runs two notebooks at once on two cores: one thread per kernel avoids oversubscription.
    result = runner(source, figures, tmp_path / "build", {"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, f"{source.name} failed:\n{result.stdout}\n{result.stderr}"
    records = claims.read_claims(figures / source.stem / "claims.json")
    assert records, f"{source.name} records no claim"
    assert not claims.failed_claims(records), claims.render_text(records)


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_header_names_the_registered_companion_kernel(source):
    kernelspec = jupytext.read(source).metadata["kernelspec"]
    postbuild = (ROOT / "postBuild").read_text()
    assert kernelspec["name"] == "companion" and "--name companion" in postbuild
    assert f'--display-name "{kernelspec["display_name"]}"' in postbuild
