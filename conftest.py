"""Settings and clean-up for the whole test suite (unit tests and nbval notebooks).

* Progress bars are volatile output that nbval would compare, so they are
  turned off (``CAMP_PROGRESS=0``) for every kernel the suite starts, whether
  it runs through ``course.py test`` or plain ``pytest``. ``MPLBACKEND`` is
  removed so notebooks use their inline backend, as in JupyterLab.
* Notebooks run ``%tensorboard``, which starts a TensorBoard server that may
  outlive the notebook's kernel -- on purpose: a learner keeps looking at it.
  Under the test suite nobody looks. Kernels started here carry a session id
  (``CAMP_SESSION``) that their servers inherit; at the end those servers, and
  only those, are stopped.
* A pass of ``course.py test``'s full run names, in ``CAMP_EXPECT_NOTEBOOKS``,
  the folders whose every lesson it must execute; a pass that collected fewer
  notebooks than the course has stops before running anything.
"""
import os
import uuid
from pathlib import Path

import pytest

import course
from camp_utils.tb import SESSION_VARIABLE, stop_session_tensorboards

_SESSION = f"pytest-{uuid.uuid4().hex}"


def pytest_configure(config):
    os.environ["CAMP_PROGRESS"] = "0"
    os.environ.pop("MPLBACKEND", None)
    os.environ[SESSION_VARIABLE] = _SESSION


def pytest_sessionfinish(session, exitstatus):
    stop_session_tensorboards(_SESSION)


# Minutes-long files first, so that no worker of a parallel pass (course.py test) starts one when the others are
# nearly done: the browser tests, then the notebooks slowest first (seconds measured under nbval with one thread,
# 2026-12-06), then the unit tests, which are short and fill the gaps. Within a file the order is kept.
SLOW_FIRST = {"tests/e2e": 1000, "19_lr_schedulers": 52, "19_lr_schedulers_solutions": 41,
              "21_tensorboard_scalars_histograms_solutions": 38, "23_hooks_and_cam": 20,
              "21_tensorboard_scalars_histograms": 17}


def _expected_seconds(item) -> float:
    path = Path(str(item.path))
    if "e2e" in path.parts:
        return SLOW_FIRST["tests/e2e"]
    if path.suffix == ".ipynb":
        return SLOW_FIRST.get(path.stem, 5)
    return 0


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    """Order the files slowest first (stable: items of one file keep their order)."""
    if getattr(config.option, "numprocesses", None):  # only a parallel run gains from it
        items.sort(key=_expected_seconds, reverse=True)


def pytest_collection_finish(session):
    folders = [f for f in os.environ.get(course.EXPECT_VARIABLE, "").split(",") if f]
    if not folders:
        return
    missing = course.missing_notebooks({Path(str(item.path)) for item in session.items
                                        if str(item.path).endswith(".ipynb")}, folders)
    if missing:
        raise pytest.UsageError(f"this pass must run every notebook of the course, but collected none for: "
                                f"{', '.join(missing)} (renamed, deleted, or deselected?)")
