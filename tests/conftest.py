"""Shared fixtures: keep unit tests away from the project's own runs/ and data/."""
import pytest


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    """A fresh runs folder, also set as CAMP_RUNS_DIR."""
    root = tmp_path / "runs"
    monkeypatch.setenv("CAMP_RUNS_DIR", str(root))
    return root
