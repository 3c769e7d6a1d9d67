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
"""
import os
import uuid

from camp_utils.tb import SESSION_VARIABLE, stop_session_tensorboards

_SESSION = f"pytest-{uuid.uuid4().hex}"


def pytest_configure(config):
    os.environ["CAMP_PROGRESS"] = "0"
    os.environ.pop("MPLBACKEND", None)
    os.environ[SESSION_VARIABLE] = _SESSION


def pytest_sessionfinish(session, exitstatus):
    stop_session_tensorboards(_SESSION)
