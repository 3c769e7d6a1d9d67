"""TensorBoard runs: one folder per experiment, ``runs/<lesson>/<experiment>``."""
from __future__ import annotations

import difflib
import functools
import os
import sys
from pathlib import Path
from typing import Any

from ..checks import check_path, check_plain_name, ensure_writable_folder, folder_inside
from ..paths import runs_dir

__all__ = ["run_dir", "run_writer", "NullWriter", "EVENT_PREFIX"]

EVENT_PREFIX = "events.out.tfevents"


def run_dir(lesson: int | str, experiment: str, root: str | os.PathLike | None = None) -> Path:
    """Return the folder of run ``<root>/<lesson>/<experiment>`` (not created).

    ``root`` defaults to the project's ``runs/`` folder (see :mod:`camp_utils.paths`).
    ``lesson`` is one folder name (``20`` or ``"20"``); ``experiment`` may
    contain ``/`` to nest runs (``"lenet/train"``). The folder always lies
    inside ``root``, also when a symbolic link inside ``root`` points elsewhere.

    Raises:
        ValueError: if ``lesson`` or ``experiment`` is not a plain relative
            name (empty, ``None``, absolute, containing ``..``, a backslash,
            a drive letter or a NUL character), ``root`` is not a folder path,
            or the folder would resolve outside ``root``.
    """
    parts = check_plain_name(lesson, "lesson") + check_plain_name(experiment, "experiment", nested=True)
    return folder_inside(check_path(root, "root", kind="folder path") if root is not None else runs_dir(), *parts)


def _tags_of(event_file: Path) -> set[str]:
    """Summary tags in one event file (an empty set if it cannot be read)."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    try:
        return {value.tag for event in EventFileLoader(str(event_file)).Load() for value in event.summary.value}
    except Exception:  # a damaged file is not ours to judge here: keep it
        return set()


def _is_add_scalars_subrun(folder: Path) -> bool:
    """True if ``folder`` looks exactly like what ``add_scalars`` makes below a run.

    ``writer.add_scalars("Loss", {"train": v})`` writes tag ``Loss`` into the
    sub-folder ``Loss_train``: a folder without sub-folders whose every event
    file holds only tags ``T`` with ``folder.name`` starting with ``T_`` (``/``
    in ``T`` becomes ``_``). A nested run such as ``lenet/train`` fails this test.
    """
    if any(p.is_dir() for p in folder.iterdir()):
        return False
    files = [p for p in folder.glob(f"{EVENT_PREFIX}*") if p.is_file()]
    if not files:
        return False
    for path in files:
        tags = _tags_of(path)
        if not tags or not all(folder.name.startswith(t.replace("/", "_") + "_") for t in tags):
            return False
    return True


def _old_event_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The run's own event files and the ``add_scalars`` sub-runs that belong to it."""
    if not folder.is_dir():
        return [], []
    own = [p for p in folder.glob(f"{EVENT_PREFIX}*") if p.is_file()]
    subruns = [p for p in sorted(folder.iterdir()) if p.is_dir() and _is_add_scalars_subrun(p)]
    return own + [f for sub in subruns for f in sub.glob(f"{EVENT_PREFIX}*")], subruns


@functools.cache
def _summary_writer_methods() -> tuple[str, ...]:
    """The public methods of ``torch.utils.tensorboard.SummaryWriter`` (``add_scalar``, ..., ``flush``, ``close``)."""
    from torch.utils.tensorboard import SummaryWriter

    return tuple(sorted(name for name in dir(SummaryWriter)
                        if not name.startswith("_") and callable(getattr(SummaryWriter, name))))


def _does_nothing(*args: Any, **kwargs: Any) -> None:
    return None


class NullWriter:
    """A stand-in for ``SummaryWriter`` on the ranks that must not write (torchrun ranks > 0).

    Exactly ``SummaryWriter``'s public methods are there (read from the class:
    every ``add_*``, ``flush``, ``close``, ``get_logdir``); each call is
    accepted and does nothing. Any other name raises ``AttributeError``, as
    on rank 0: a misspelt method (``add_scaler``) must not fail on one rank
    and pass silently on the others. ``log_dir`` names the folder rank 0
    writes to. Usable in a ``with`` block.
    """

    def __init__(self, log_dir: str | os.PathLike) -> None:
        self.log_dir = str(log_dir)

    def __getattr__(self, name: str):
        methods = _summary_writer_methods()
        if name in methods:
            return _does_nothing
        close = difflib.get_close_matches(name, methods, n=3, cutoff=0.6)
        hint = f": did you mean {', '.join(repr(m) for m in close)}?" if close else ""
        raise AttributeError(f"NullWriter (the writer of the ranks other than 0) has no attribute {name!r}; it has "
                             f"exactly SummaryWriter's public methods, and {name!r} is not one of them{hint}")

    def get_logdir(self) -> str:
        """The run folder, as ``SummaryWriter.get_logdir`` returns it."""
        return self.log_dir

    def add_figure(self, tag, figure, global_step=None, close: bool = True, walltime=None) -> None:
        """Writes nothing, but closes the figure(s) as ``SummaryWriter.add_figure`` does by default.

        Every rank draws the same figures; without this, ranks > 0 would keep each one open (matplotlib
        warns after 20, and memory grows) while rank 0 closes its own.
        """
        if close and "matplotlib.pyplot" in sys.modules:  # a caller that drew a figure has pyplot loaded
            import matplotlib.pyplot as plt
            from matplotlib.figure import Figure

            for one in figure if isinstance(figure, (list, tuple)) else [figure]:
                if isinstance(one, Figure):
                    plt.close(one)

    def __enter__(self) -> NullWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        return None


def run_writer(
    lesson: int | str,
    experiment: str,
    *,
    fresh: bool = True,
    root: str | os.PathLike | None = None,
    **writer_kwargs: Any,
):
    """Create a ``SummaryWriter`` that writes to ``runs/<lesson>/<experiment>``.

    Args:
        lesson: the lesson number, e.g. ``20``; the first level of the run list.
        experiment: a readable run name, e.g. ``"y_equals_2x"``.
        fresh: once the new writer exists, delete the event files a previous
            execution left for this run: in its folder and in the sub-runs its
            ``add_scalars`` calls made (``Loss_train``, ...). Nested runs
            (``"lenet/train"`` below ``"lenet"``), other files and your own
            folders are kept. With ``fresh=False`` the old points stay beside
            the new ones: :func:`~camp_utils.tb.read_scalars` then returns both
            copies, while a default TensorBoard shows each step once (the
            point written last).
        root: folder that holds the lessons' runs; default: the project's ``runs/``.
        **writer_kwargs: passed on to ``torch.utils.tensorboard.SummaryWriter``
            (``flush_secs``, ``max_queue``, ``filename_suffix``, ...).

    Returns:
        A ``SummaryWriter``; close it (or use it in a ``with`` block) when done.
        Under torchrun (several processes), only rank 0 gets one: the other
        ranks get a :class:`NullWriter` with the same methods that writes
        nothing, so the same script runs everywhere and exactly one run
        folder appears (every rank would otherwise write its own event file,
        and TensorBoard would draw the curve once per process).

    Raises:
        ValueError: for a run name that is not a plain relative name (see :func:`run_dir`).
        PermissionError: if the folder cannot be created or written; the message names it.
        TypeError: from ``SummaryWriter`` for an unknown keyword; nothing is deleted then.
    """
    # here, not at the top: both import torch, which `import camp_utils` does not need (a plain import stays light)
    from torch.utils.tensorboard import SummaryWriter

    from ..distributed import is_main_process

    if "log_dir" in writer_kwargs or "logdir" in writer_kwargs:
        raise ValueError("run_writer chooses log_dir itself; pass lesson and experiment instead")
    folder = run_dir(lesson, experiment, root)
    if not is_main_process():
        return NullWriter(folder)
    ensure_writable_folder(folder, "Pick another folder (root=...) or set CAMP_RUNS_DIR.")
    old_files, subruns = _old_event_files(folder) if fresh else ([], [])
    writer = SummaryWriter(log_dir=str(folder), **writer_kwargs)  # may raise: then nothing is lost
    for path in old_files:
        path.unlink(missing_ok=True)
    for sub in subruns:
        if not any(sub.iterdir()):
            sub.rmdir()
    return writer
