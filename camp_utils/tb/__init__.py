"""TensorBoard helpers shared by every TensorBoard lesson.

Nine public modules, each named after what it holds:

* :mod:`.runs` -- :func:`run_writer`, a ``SummaryWriter`` for ``runs/<lesson>/<experiment>``;
* :mod:`.events` -- :func:`read_scalars` / :func:`read_histograms`, event files
  read back with TensorBoard's own reader, every point kept;
* :mod:`.images` -- :func:`read_images`, the pictures of ``add_image(s)`` /
  ``add_figure`` read back and decoded to arrays, every step kept;
* :mod:`.server` -- :class:`TensorBoardServer`, a real server on a free
  localhost port, started and stopped by a ``with`` block, for asking its HTTP
  API; :func:`data_location`, which folder a running TensorBoard serves;
* :mod:`.notebook` -- ``%tensorboard`` support: find the program, list and
  stop the servers the magic started;
* :mod:`.proxy` -- the ``%tensorboard`` frame through JupyterLab's own port
  (jupyter-server-proxy), for a JupyterLab on another machine;
* :mod:`.install` -- :func:`check_install`: is everything there?
* :mod:`.hparams` -- :func:`log_hparams`: hyper-parameters and results into the run
  they describe, for the HPARAMS tab (not a sub-run, as ``add_hparams`` does);
  :func:`read_hparams`: the tab's table as a running TensorBoard serves it;
* :mod:`.static` -- where the ``%tensorboard`` frame cannot go (VS Code, Kaggle, ...):
  :func:`plot_scalars` draws the SCALARS tab from the event files, smoothed as
  TensorBoard smooths; :func:`diagnose_tensorboard` names the cause that applies.

Their private building blocks: :mod:`._records` (the record framing of event
files, checksums and damage reports) and :mod:`._reader` (the one loader
behind every ``read_*``: runs, tags, :class:`DamagedEventFileWarning`), and
:mod:`.local` (HTTP to this machine, never through a proxy).

The lesson code itself (``add_scalar``, ``add_histogram``, ...) stays in the
notebooks; this package only does the plumbing around it.
"""
from .events import DamagedEventFileWarning, Histogram, Scalars, read_histograms, read_scalars
from .hparams import log_hparams, read_hparams
from .images import ImageRecord, read_images
from .install import InstallReport, check_install
from .notebook import (
    SESSION_VARIABLE,
    configure_tensorboard_program,
    find_tensorboard_program,
    forget_dead_tensorboards,
    notebook_tensorboards,
    stop_notebook_tensorboards,
    stop_session_tensorboards,
)
from .runs import NullWriter, run_dir, run_writer
from .server import TensorBoardServer, data_location, fast_loader_available
from .static import diagnose_tensorboard, plot_scalars, smooth_like_tensorboard

__all__ = [
    "run_dir", "run_writer", "NullWriter", "Scalars", "Histogram", "read_scalars", "read_histograms",
    "DamagedEventFileWarning", "log_hparams", "read_hparams",
    "ImageRecord", "read_images",
    "TensorBoardServer", "data_location", "fast_loader_available", "find_tensorboard_program",
    "configure_tensorboard_program",
    "notebook_tensorboards", "forget_dead_tensorboards", "stop_notebook_tensorboards",
    "SESSION_VARIABLE", "stop_session_tensorboards", "InstallReport", "check_install",
    "plot_scalars", "diagnose_tensorboard", "smooth_like_tensorboard",
]
