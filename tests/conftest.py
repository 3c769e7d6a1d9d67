"""Shared fixtures: keep unit tests away from the project's own runs/ and data/, and from each other."""
import tempfile
import uuid

import pytest
from script_loader import load_script

from camp_utils.tb import SESSION_VARIABLE


@pytest.fixture(autouse=True)
def own_session_and_tensorboard_records(tmp_path_factory, monkeypatch):
    """Every test gets its own session id and its own temporary folder.

    TensorBoard keeps its records of running servers (``tensorboard.manager``)
    in ``<temporary folder>/.tensorboard-info``; a test run that shares the
    machine with another must not see -- or stop -- the other's servers.
    Servers started by a test inherit ``TMPDIR`` and ``CAMP_SESSION``.
    """
    private_tmp = tmp_path_factory.mktemp("tmp")  # not inside tmp_path: tests may list that
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    monkeypatch.setenv(SESSION_VARIABLE, f"test-{uuid.uuid4().hex}")
    return private_tmp


@pytest.fixture(scope="module")
def course():
    """course.py loaded as a module (one copy per test module)."""
    return load_script("course.py", "course_script")


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    """A fresh runs folder, also set as CAMP_RUNS_DIR."""
    root = tmp_path / "runs"
    monkeypatch.setenv("CAMP_RUNS_DIR", str(root))
    return root
