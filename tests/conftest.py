"""Shared test setup: a headless matplotlib and figures/cache folders that never touch the repository's own."""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def isolated_outputs(tmp_path, monkeypatch):
    """Point COMPANION_FIGURES and COMPANION_CACHE at this test's temporary folder."""
    monkeypatch.setenv("COMPANION_FIGURES", str(tmp_path / "figures"))
    monkeypatch.setenv("COMPANION_CACHE", str(tmp_path / "cache"))
    return tmp_path
