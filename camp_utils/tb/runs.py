"""TensorBoard runs: one folder per experiment, ``runs/<lesson>/<experiment>``."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from ..paths import runs_dir

__all__ = ["run_dir", "run_writer", "EVENT_PREFIX"]

EVENT_PREFIX = "events.out.tfevents"


def run_dir(lesson: int | str, experiment: str, root: str | os.PathLike | None = None) -> Path:
    """Return the folder of run ``<root>/<lesson>/<experiment>`` (not created).

    ``root`` defaults to the project's ``runs/`` folder (see :mod:`camp_utils.paths`).
    ``experiment`` may contain ``/`` to nest runs (``"lenet/train"``).

    Raises:
        ValueError: if ``lesson`` or ``experiment`` is empty, absolute or contains ``..``.
    """
    parts = [str(lesson), *str(experiment).split("/")]
    for part in parts:
        if part in ("", ".", "..") or "\\" in part or ":" in part:
            raise ValueError(
                f"run name {lesson!s}/{experiment!s} is not a plain relative name; "
                "expected something like lesson=20, experiment='y_equals_2x'"
            )
    return Path(root if root is not None else runs_dir()).joinpath(*parts)


def _ensure_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write_check_"):
            pass
    except OSError as err:
        raise PermissionError(
            f"cannot write TensorBoard events to '{folder}': {err.strerror or err}. "
            "Pick another folder (root=...) or set CAMP_RUNS_DIR."
        ) from err


def _remove_event_files(folder: Path) -> None:
    """Delete event files below ``folder`` and the folders they leave empty."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob(f"{EVENT_PREFIX}*")):
        if path.is_file():
            path.unlink()
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(sub.iterdir()):
            sub.rmdir()


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
        fresh: delete event files a previous execution left in that folder, so
            that re-running a notebook does not append a second copy of every
            point (TensorBoard would show both).
        root: folder that holds the lessons' runs; default: the project's ``runs/``.
        **writer_kwargs: passed on to ``torch.utils.tensorboard.SummaryWriter``
            (``flush_secs``, ``max_queue``, ``filename_suffix``, ...).

    Returns:
        A ``SummaryWriter``; close it (or use it in a ``with`` block) when done.

    Raises:
        ValueError: for a run name that is not a plain relative name.
        PermissionError: if the folder cannot be created or written; the message names it.
    """
    from torch.utils.tensorboard import SummaryWriter

    if "log_dir" in writer_kwargs or "logdir" in writer_kwargs:
        raise ValueError("run_writer chooses log_dir itself; pass lesson and experiment instead")
    folder = run_dir(lesson, experiment, root)
    _ensure_writable(folder)
    if fresh:
        _remove_event_files(folder)
    return SummaryWriter(log_dir=str(folder), **writer_kwargs)
