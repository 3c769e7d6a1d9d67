"""Where the course keeps its files: the project root, ``data/`` and ``runs/``.

Both folders can be moved with environment variables, which is handy on a
machine where the repository is read-only:

* ``CAMP_DATA_DIR`` -- datasets, caches of trained weights, a learner's images;
* ``CAMP_CACHE_DIR`` -- only the caches of trained weights (default ``<data>/cache``);
  ``course.py test --portable`` points it at one folder per CPU setting, so that
  each setting trains its own model;
* ``CAMP_RUNS_DIR`` -- TensorBoard event files, one sub-folder per lesson.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root", "data_dir", "cache_dir", "runs_dir"]


def project_root() -> Path:
    """Return the repository folder that holds ``camp_utils/`` and ``notebooks/``.

    With the editable install that ``requirements.txt`` makes, this is the
    folder above the package. If the package was copied elsewhere (a plain
    ``pip install``), the current working folder is used instead.
    """
    candidate = Path(__file__).resolve().parent.parent
    if (candidate / "pyproject.toml").is_file() and (candidate / "camp_utils").is_dir():
        return candidate
    return Path.cwd()


def data_dir() -> Path:
    """Return the folder for datasets and caches (``$CAMP_DATA_DIR`` or ``<root>/data``)."""
    env = os.environ.get("CAMP_DATA_DIR")
    return Path(env) if env else project_root() / "data"


def cache_dir() -> Path:
    """Return the folder for caches of trained weights (``$CAMP_CACHE_DIR`` or ``<data>/cache``)."""
    env = os.environ.get("CAMP_CACHE_DIR")
    return Path(env) if env else data_dir() / "cache"


def runs_dir() -> Path:
    """Return the folder for TensorBoard runs (``$CAMP_RUNS_DIR`` or ``<root>/runs``)."""
    env = os.environ.get("CAMP_RUNS_DIR")
    return Path(env) if env else project_root() / "runs"
