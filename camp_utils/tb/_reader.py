"""The one loader behind every ``read_*`` function: runs, tags, and damage reports.

* :func:`check_logdir` -- the folder exists, is a folder and holds event files;
* :func:`load_runs` -- every run below a folder, loaded by TensorBoard's
  ``EventAccumulator`` keeping every record of the kind asked for, with a
  :class:`DamagedEventFileWarning` per damaged event file;
* :func:`select` -- which tags of which runs to read, or an error that says
  what was written instead.

:mod:`.events` and :mod:`.images` are thin readers over these three.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from ..checks import check_path
from ._records import damaged_files
from .runs import EVENT_PREFIX

__all__ = ["DamagedEventFileWarning", "check_logdir", "load_runs", "select"]


class DamagedEventFileWarning(UserWarning):
    """An event file holds records that TensorBoard's reader could not read."""


def check_logdir(logdir: str | os.PathLike) -> Path:
    """``logdir`` as a ``Path``, checked to be a folder that holds event files.

    Raises:
        FileNotFoundError: it does not exist.
        NotADirectoryError: it is a file.
        ValueError: it is not a ``str`` or ``os.PathLike`` (``None``), or it holds
            no event files (``events.out.tfevents*``), not even in sub-folders.
    """
    path = check_path(logdir, "logdir", kind="folder path")
    if not path.exists():
        raise FileNotFoundError(f"log folder '{path}' does not exist; nothing was written there yet")
    if not path.is_dir():
        raise NotADirectoryError(f"log folder '{path}' is a file; pass the folder that holds event files")
    if not any(path.rglob(f"{EVENT_PREFIX}*")):
        raise ValueError(f"log folder '{path}' holds no TensorBoard event files ({EVENT_PREFIX}*)")
    return path


def _size_guidance(kind: str) -> dict[str, int]:
    """Keep every record of ``kind`` (0 means "no limit") and one of every other kind.

    The reader's defaults (``event_accumulator.DEFAULT_SIZE_GUIDANCE``) keep
    only a sample per tag -- 10,000 scalars, 1 histogram, 4 images, ... --
    which a check that counts points must not see. The other kinds are still
    indexed (their tags are known) but cost one record per tag.
    """
    from tensorboard.backend.event_processing import event_accumulator as ea

    if kind not in ea.DEFAULT_SIZE_GUIDANCE:
        raise ValueError(f"kind must be one of {sorted(ea.DEFAULT_SIZE_GUIDANCE)}, got {kind!r}")
    guidance = dict.fromkeys(ea.DEFAULT_SIZE_GUIDANCE, 1)
    guidance[kind] = 0
    return guidance


def _counting_accumulator(folder: str, guidance: dict[str, int]) -> Any:
    """An ``EventAccumulator`` that also counts the events it processed (``events_read``)."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    class CountingAccumulator(ea.EventAccumulator):
        events_read = 0

        def _ProcessEvent(self, event):  # TensorBoard's own method name
            self.events_read += 1
            super()._ProcessEvent(event)

    return CountingAccumulator(folder, size_guidance=guidance)


def load_runs(logdir: str | os.PathLike, kind: str) -> tuple[dict[str, Any], list[str]]:
    """Load every run below ``logdir`` with TensorBoard's ``EventAccumulator``.

    Sub-folders are separate runs, named by their path relative to ``logdir``
    (``"."`` for ``logdir`` itself), as in TensorBoard's run list.

    Args:
        logdir: a folder written by a ``SummaryWriter`` (or a parent of several).
        kind: ``event_accumulator.SCALARS``, ``HISTOGRAMS``, ``IMAGES``, ...:
            every record of this kind is kept.

    Returns:
        ``(runs, damaged)``: ``{run: accumulator}`` for the runs that hold
        ``kind``, and one report per damaged event file below ``logdir``.

    Raises:
        FileNotFoundError, NotADirectoryError, ValueError: as :func:`check_logdir`;
            ValueError also for an unknown ``kind``.

    Warns:
        DamagedEventFileWarning: once per damaged event file (the message is its report),
            attributed to the caller of the public ``read_*`` function.
    """
    from tensorboard.backend.event_processing import io_wrapper

    path = check_logdir(logdir)
    guidance = _size_guidance(kind)
    runs: dict[str, Any] = {}
    damaged: list[str] = []
    for sub in sorted(io_wrapper.GetLogdirSubdirectories(str(path))):
        accumulator = _counting_accumulator(sub, guidance)
        accumulator.Reload()
        for report in damaged_files(Path(sub), accumulator.events_read):
            warnings.warn(report, DamagedEventFileWarning, stacklevel=3)
            damaged.append(report)
        if accumulator.Tags()[kind]:
            runs[Path(os.path.relpath(sub, path)).as_posix()] = accumulator
    return runs, damaged


def select(runs: dict[str, Any], kind: str, tag: str | None, logdir: str | os.PathLike,
           damaged: list[str] | None = None) -> dict[str, list[str]]:
    """Map run -> the tags of ``kind`` to read (only ``tag``, if given).

    Args:
        runs: the runs :func:`load_runs` returned.
        damaged: the damaged files :func:`load_runs` returned beside them.
        kind: the kind the runs were loaded for.
        tag: the one tag asked for, or ``None`` for all.
        logdir: the folder, for the messages.

    Raises:
        ValueError: nothing of ``kind`` could be read because files are damaged
            (the reports are in the message), ``tag`` was never written as
            ``kind`` (the tags that were are listed), or no ``kind`` was written at all.
    """
    chosen = {run: [t for t in acc.Tags()[kind] if tag is None or t == tag] for run, acc in runs.items()}
    chosen = {run: tags for run, tags in chosen.items() if tags}
    if not chosen and damaged:
        raise ValueError(f"no {kind} could be read under '{logdir}': " + "; ".join(damaged))
    if tag is not None and not chosen:
        known = sorted({t for acc in runs.values() for t in acc.Tags()[kind]})
        raise ValueError(
            f"tag '{tag}' was never written as {kind} under '{logdir}'; "
            f"{kind} tags found: {', '.join(known) or 'none'}"
        )
    if not chosen:
        raise ValueError(_nothing_written(kind, logdir))
    return chosen


def _nothing_written(kind: str, logdir: str | os.PathLike) -> str:
    """Why no ``kind`` could be read under ``logdir``, which has paths named like event files.

    Event files that hold records of other kinds are the usual reason; an
    empty event file (a writer that has not flushed yet) or a folder named
    like an event file hold no records at all, and the message says so.
    """
    named = sorted(Path(logdir).rglob(f"{EVENT_PREFIX}*"))
    folders = [p for p in named if p.is_dir()]
    empty = [p for p in named if p.is_file() and p.stat().st_size == 0]
    with_records = [p for p in named if p.is_file() and p.stat().st_size > 0]

    def listed(paths: list[Path]) -> str:
        shown = ", ".join(f"'{p}'" for p in paths[:3])
        return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")

    notes = []
    if empty:
        one = len(empty) == 1
        notes.append(f"{listed(empty)} {'is an empty event file' if one else 'are empty event files'} "
                     f"(0 bytes: {'its writer has' if one else 'their writers have'} not flushed yet -- call "
                     f"writer.flush() or writer.close() -- or {'it was' if one else 'they were'} cut off)")
    if folders:
        notes.append(f"{listed(folders)} {'is a folder' if len(folders) == 1 else 'are folders'}, "
                     "not an event file")
    if with_records or not notes:
        message = f"no {kind} were written under '{logdir}' (it has event files, but of other kinds)"
        return message + (f"; besides, {'; '.join(notes)}" if notes else "")
    return f"no {kind} were written under '{logdir}': it holds no event file with records: {'; '.join(notes)}"
