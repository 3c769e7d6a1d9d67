"""Helpers for the PyTorch Camp week-5 notebooks.

Modules, one concept each:

* :mod:`camp_utils.paths` -- where ``data/`` and ``runs/`` live;
* :mod:`camp_utils.tb` -- TensorBoard runs, reading events back, a server for checks;
* :mod:`camp_utils.data` -- the embedded ShapesDataset, real datasets, image folders;
* :mod:`camp_utils.models` -- LeNet, a CAM-ready GAP network, cached trained weights;
* :mod:`camp_utils.train` -- one training loop with optional TensorBoard logging;
* :mod:`camp_utils.plot` -- plotting boilerplate for the notebooks.

Importing the package makes ``%tensorboard`` work: it points the magic at this
environment's ``tensorboard`` program (:func:`camp_utils.tb.configure_tensorboard_program`)
and forgets records of dead servers that the magic would otherwise "reuse"
(:func:`camp_utils.tb.forget_dead_tensorboards`).
"""
from . import tb as _tb

__version__ = "0.1.0"

_tb.configure_tensorboard_program()
try:
    _tb.forget_dead_tensorboards()
except Exception:  # never let housekeeping break the import
    pass
