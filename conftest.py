"""Settings and clean-up for the whole test suite (unit tests and nbval notebooks).

* Progress bars are volatile output that nbval would compare, so they are
  turned off (``CAMP_PROGRESS=0``) for every kernel the suite starts, whether
  it runs through ``course.py test`` or plain ``pytest``. ``MPLBACKEND`` is
  removed so notebooks use their inline backend, as in JupyterLab.
* Notebooks run ``%tensorboard``, which starts a TensorBoard server that
  outlives the notebook's kernel -- on purpose: a learner keeps looking at it.
  Under the test suite nobody looks, so servers started during the session
  are stopped when it ends (servers that were running before are left alone).
"""
import os
import signal

from camp_utils.tb import notebook_tensorboards

_before: set[int] = set()


def pytest_configure(config):
    os.environ["CAMP_PROGRESS"] = "0"
    os.environ.pop("MPLBACKEND", None)


def pytest_sessionstart(session):
    _before.update(info.pid for info in notebook_tensorboards())


def pytest_sessionfinish(session, exitstatus):
    for info in notebook_tensorboards():
        if info.pid not in _before:
            try:
                os.kill(info.pid, signal.SIGTERM)
            except OSError:
                pass
