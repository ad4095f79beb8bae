"""Project metadata: one version, named consistently by the citation file and the changelog; a license."""

import re
import tomllib
from pathlib import Path

import companion

ROOT = Path(__file__).resolve().parents[1]


def test_version_has_one_source():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    citation = re.search(r"^version: (\S+)$", (ROOT / "CITATION.cff").read_text(), re.M).group(1)
    assert citation == companion.__version__
    assert f"## {companion.__version__}" in (ROOT / "CHANGELOG.md").read_text()


def test_license_and_citation_name_the_paper():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "arXiv:2605.24710" in (ROOT / "CITATION.cff").read_text()
