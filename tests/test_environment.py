"""The setup files agree with each other: pinned packages, the README's two commands, the CI entry."""

import re
import tomllib
from pathlib import Path

import yaml

from companion.pipeline import report

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;]+)$")


def pins(requirements):
    """``{normalized name: version}`` of ``name==version`` lines; any other requirement fails the test."""
    found = {}
    for requirement in requirements:
        match = PIN.match(requirement.strip())
        assert match, f"not an exact pin: {requirement!r}"
        found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def environment_pip_section():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    sections = [item["pip"] for item in environment["dependencies"] if isinstance(item, dict)]
    assert len(sections) == 1, "environment.yml needs exactly one pip section"
    return environment, sections[0]


def lock_pins():
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    return pins(line for line in lines if line.strip() and not line.startswith("#"))


def test_environment_pins_exactly_the_lock():
    _, pip_section = environment_pip_section()
    binder = pins(line for line in pip_section if not line.startswith("-"))
    assert binder.pop("torch").endswith("+cpu"), "Binder must install the CPU-only torch build"
    locked = lock_pins()
    assert binder == {name: version for name, version in locked.items() if name != "torch"}
    assert locked["torch"] == "2.13.0" and "pot" in locked


def test_pyproject_gives_ranges_that_the_lock_satisfies():
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    requirements = [Requirement(text) for text in project["dependencies"]]
    requirements += [
        Requirement(text) for name in ("analysis", "notebooks", "test", "dask", "docs") for text in extras[name]
    ]
    locked = lock_pins()
    for requirement in requirements:
        name = requirement.name.lower()
        assert name in locked, f"{name} is a dependency but requirements.lock does not pin it"
        assert locked[name] in requirement.specifier, f"lock {name}=={locked[name]} outside {requirement.specifier}"
        assert not str(requirement.specifier).startswith("=="), f"{name}: the package gives a range, the lock pins"
    assert {r.name.lower() for r in requirements} == set(locked), "the lock pins exactly the declared packages"
    light = {Requirement(text).name.lower() for text in project["dependencies"]}
    assert light == {"torch", "numpy", "scipy", "tqdm"}, "pip install . brings the engine's dependencies only"


def test_environment_installs_python_311_cpu_torch_and_the_package():
    environment, pip_section = environment_pip_section()
    assert "python=3.11" in environment["dependencies"]
    assert "-e .[analysis,notebooks,test,dask]" in pip_section
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip_section


def test_readme_gives_exactly_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```[a-z]*\n(.*?)```", readme, re.S)
    assert first_block, "README needs a fenced block with the commands"
    assert [line.strip() for line in first_block.group(1).splitlines() if line.strip()] == ["make figures", "make test"]
    launch = readme.split("<!-- BEGIN launch -->\n")[1].split("\n<!-- END launch -->")[0]
    binder = re.search(r"mybinder\.org/v2/gh/([^/]+/[^/]+)/", launch)
    expected = report.launch_text(f"https://github.com/{binder.group(1)}" if binder else None)
    assert launch == expected, "the launch line is a Binder badge of a GitHub repository or the local launch"
    assert "OWNER/REPO" not in readme


def test_makefile_documents_every_target_and_ci_runs_make_test():
    makefile = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.M).group(1).split()
    documented = set(re.findall(r"^([a-z-]+):.*## ", makefile, re.M))
    assert {"figures", "test", "lab", "bench", "clean", "help"} <= documented
    assert set(phony) - {"FORCE"} == documented
    ci = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci and re.search(r"^make test$", ci, re.M)
