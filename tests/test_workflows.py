"""The GitHub workflows (they cannot run here): valid YAML, CI runs .ci/run, Pages builds `make book` and deploys it."""

from pathlib import Path

import yaml

WORKFLOWS = Path(__file__).resolve().parents[1] / ".github" / "workflows"


def load(name):
    """The workflow ``name``; YAML 1.1 reads the key ``on`` as ``True``, so it is renamed back."""
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def steps(job):
    return job["steps"]


def test_ci_runs_the_ci_script_on_pushes_and_pull_requests_in_debian():
    workflow = load("ci.yml")
    assert {"push", "pull_request"} <= set(workflow["on"])
    (job,) = workflow["jobs"].values()
    assert "bookworm" in job["container"], "Debian's chromium package is what .ci/run installs"
    assert steps(job)[0]["uses"].startswith("actions/checkout@v")
    assert [step["run"] for step in steps(job) if "run" in step] == ["bash .ci/run"]
    assert job["env"]["TORCH_INDEX"] == "https://download.pytorch.org/whl/cpu"


def test_pages_builds_the_book_and_deploys_it_with_the_official_actions():
    workflow = load("pages.yml")
    assert "push" in workflow["on"]
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    uses = [step.get("uses", "").split("@")[0] for step in steps(build)]
    assert uses[:2] == ["actions/checkout", "actions/configure-pages"] and "actions/upload-pages-artifact" in uses
    assert [step["run"] for step in steps(build) if "run" in step] == ["make book"]
    upload = next(step for step in steps(build) if step.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "build/site"
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert [step["uses"].split("@")[0] for step in steps(deploy)] == ["actions/deploy-pages"]
