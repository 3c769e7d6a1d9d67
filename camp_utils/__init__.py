"""Helpers for the PyTorch Camp week-5 notebooks.

Modules, one concept each:

* :mod:`camp_utils.paths` -- where ``data/`` and ``runs/`` live;
* :mod:`camp_utils.checks` -- one check per kind of argument, the same message everywhere;
* :mod:`camp_utils.state` -- borrow a model's train/eval mode and give every module its own back; where a model lives;
* :mod:`camp_utils.tb` -- TensorBoard runs, reading events back, a server for checks;
* :mod:`camp_utils.data` -- the embedded ShapesDataset, real datasets, image folders;
* :mod:`camp_utils.images` -- the lessons' photograph and ImageNet preprocessing;
* :mod:`camp_utils.models` -- the architectures: LeNet and a CAM-ready GAP network;
* :mod:`camp_utils.steps` -- one optimizer step (accumulation, mixed precision, ``batch_fn``, nested
  inputs, ``no_sync``) and one evaluation pass, shared by ``fit`` and ``lr_find``;
* :mod:`camp_utils.train` -- one training loop with optional TensorBoard logging;
* :mod:`camp_utils.parallel` -- independent runs (seeds, settings) side by side, one process per core;
* :mod:`camp_utils.weights` -- trained weights, above the loop: the cached trained GapNet, AlexNet
  (ImageNet weights only when cached or downloaded, never random weights passed off as trained);
* :mod:`camp_utils.schedules` -- trace, plot and explore LR schedulers; the LR range test (``lr_find``);
* :mod:`camp_utils.plot` -- plotting boilerplate for the notebooks;
* :mod:`camp_utils.hooks` -- find a layer by name; ``FeatureExtractor`` records layer outputs (copies),
  hooks always removed;
* :mod:`camp_utils.cam` -- CAM, Grad-CAM, Grad-CAM++, overlays, pointing game, mask score and faithfulness
  (deletion and insertion curves);
* :mod:`camp_utils.distributed` -- the same code under ``torchrun``: DDP, global figures, one writer, ``shutdown``;
* :mod:`camp_utils.homework` and :mod:`camp_utils.exercises` -- the checkers of the homework and of the
  exercises a program can judge;
* :mod:`camp_utils.messages` -- what the package tells a learner, in English or Chinese (``CAMP_LANG``);
* :mod:`camp_utils.doctor` -- ``python course.py doctor``: what on this machine could get in the way, with fixes.

Imported in an IPython kernel (a notebook), the package makes ``%tensorboard``
work: it points the magic at this environment's ``tensorboard`` program
(:func:`camp_utils.tb.configure_tensorboard_program`) and forgets records of dead
servers that the magic would otherwise "reuse"
(:func:`camp_utils.tb.forget_dead_tensorboards`). In a kernel of a JupyterLab
that can proxy (jupyter-server-proxy), it routes the magic's frame through
JupyterLab's own port, so it also works on a remote machine
(:func:`camp_utils.tb.proxy.configure_tensorboard_proxy`). Anywhere else -- a
script, a ``torchrun`` worker, a test or benchmark process -- importing it does
nothing of the kind: no file is read or deleted, no socket opened, no variable
set (call :func:`setup_notebook` to do it by hand).
"""
import sys

from . import tb as _tb
from .tb import proxy as _tb_proxy

__version__ = "0.1.0"


def in_ipython() -> bool:
    """Whether this process runs an IPython shell (a notebook's kernel, or the IPython console)."""
    ipython = sys.modules.get("IPython")
    return ipython is not None and ipython.get_ipython() is not None


def setup_notebook() -> None:
    """Make ``%tensorboard`` work in this process (what importing the package does in IPython)."""
    _tb.configure_tensorboard_program()
    try:
        _tb.forget_dead_tensorboards()
    except Exception:  # never let housekeeping break the import
        pass
    try:
        _tb_proxy.configure_tensorboard_proxy()
    except Exception:  # the direct frame stays; never let this break the import
        pass


if in_ipython():
    setup_notebook()
