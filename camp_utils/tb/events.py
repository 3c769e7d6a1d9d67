"""Reading event files back with TensorBoard's own reader, every point kept."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .runs import EVENT_PREFIX

__all__ = ["Scalars", "Histogram", "read_scalars", "read_histograms"]


class Scalars(NamedTuple):
    """One scalar series as written: parallel lists, in the order of the file."""

    steps: list[int]
    values: list[float]
    wall_times: list[float]


class Histogram(NamedTuple):
    """One ``add_histogram`` call read back, with buckets as TensorBoard draws them.

    ``edges`` has ``len(counts) + 1`` increasing entries: bucket ``i`` spans
    ``edges[i]..edges[i+1]``; the first edge is the data minimum, the last the maximum.
    """

    step: int
    edges: np.ndarray
    counts: np.ndarray
    min: float
    max: float
    num: float
    sum: float
    sum_squares: float


def _check_logdir(logdir: str | os.PathLike) -> Path:
    path = Path(logdir)
    if not path.exists():
        raise FileNotFoundError(f"log folder '{path}' does not exist; nothing was written there yet")
    if not path.is_dir():
        raise NotADirectoryError(f"log folder '{path}' is a file; pass the folder that holds event files")
    if not any(path.rglob(f"{EVENT_PREFIX}*")):
        raise ValueError(f"log folder '{path}' holds no TensorBoard event files ({EVENT_PREFIX}*)")
    return path


def _load_runs(logdir: str | os.PathLike, kind: str) -> dict[str, Any]:
    """Load every run below ``logdir`` with TensorBoard's EventAccumulator.

    ``size_guidance`` 0 means "keep everything": the reader's defaults
    (``event_accumulator.DEFAULT_SIZE_GUIDANCE``) keep only a sample per tag:
    10,000 scalars, 1 histogram, 500 compressed histograms, 10 tensors.
    """
    from tensorboard.backend.event_processing import event_accumulator as ea
    from tensorboard.backend.event_processing import io_wrapper

    path = _check_logdir(logdir)
    guidance = {ea.SCALARS: 0, ea.HISTOGRAMS: 0, ea.TENSORS: 0, ea.IMAGES: 1, ea.AUDIO: 1,
                ea.COMPRESSED_HISTOGRAMS: 1}
    runs: dict[str, Any] = {}
    for sub in sorted(io_wrapper.GetLogdirSubdirectories(str(path))):
        name = Path(os.path.relpath(sub, path)).as_posix()
        acc = ea.EventAccumulator(sub, size_guidance=guidance)
        acc.Reload()
        if acc.Tags()[kind]:
            runs[name] = acc
    return runs


def _select(runs: dict[str, Any], kind: str, tag: str | None, logdir) -> dict[str, list[str]]:
    """Map run -> tags to read; raise if ``tag`` was never written."""
    chosen = {run: [t for t in acc.Tags()[kind] if tag is None or t == tag] for run, acc in runs.items()}
    chosen = {run: tags for run, tags in chosen.items() if tags}
    if tag is not None and not chosen:
        known = sorted({t for acc in runs.values() for t in acc.Tags()[kind]})
        raise ValueError(
            f"tag '{tag}' was never written as {kind} under '{logdir}'; "
            f"{kind} tags found: {', '.join(known) or 'none'}"
        )
    if not chosen:
        raise ValueError(f"no {kind} were written under '{logdir}' (it has event files, but of other kinds)")
    return chosen


def read_scalars(logdir: str | os.PathLike, tag: str | None = None) -> dict[str, dict[str, Scalars]]:
    """Read every scalar below ``logdir`` back from its event files.

    Sub-folders are separate runs (as in TensorBoard's run list); the run in
    ``logdir`` itself is called ``"."``. ``add_scalars("Loss", {"train": ...})``
    writes sub-runs named ``Loss_train``, ... with tag ``Loss``.

    This is TensorBoard's Python reader (``EventAccumulator``, the loader of
    ``tensorboard --load_fast=false``), and it keeps every point in file
    order. A learner's default TensorBoard (``--load_fast=auto``: the Rust
    data server) keeps only the last point written for each step: after
    steps 0..99 and then 50..59 this returns 110 points and TensorBoard
    draws 60; a run written twice (``run_writer(..., fresh=False)``) gives
    200 points here and 100 there. :class:`~camp_utils.tb.TensorBoardServer`
    asks the default loader, so a check can compare both.

    Args:
        logdir: a folder written by a ``SummaryWriter`` (or a parent of several).
        tag: read only this tag (from every run that has it).

    Returns:
        ``{run: {tag: Scalars(steps, values, wall_times)}}``, every point kept.

    Raises:
        FileNotFoundError: ``logdir`` does not exist.
        ValueError: ``logdir`` holds no event files or no scalars, or ``tag`` was never written.
    """
    from tensorboard.backend.event_processing import event_accumulator as ea

    runs = _load_runs(logdir, ea.SCALARS)
    out: dict[str, dict[str, Scalars]] = {}
    for run, tags in _select(runs, ea.SCALARS, tag, logdir).items():
        out[run] = {}
        for t in tags:
            events = runs[run].Scalars(t)
            out[run][t] = Scalars(
                steps=[e.step for e in events],
                values=[e.value for e in events],
                wall_times=[e.wall_time for e in events],
            )
    return out


def _bucket_edges(low: float, high: float, limits, counts) -> tuple[np.ndarray, np.ndarray]:
    """Bucket edges as TensorBoard draws them.

    ``limits[i]`` is the right edge of bucket ``i``. Empty buckets at both ends
    are dropped; the data minimum and maximum close the first and last bucket.
    """
    counts = np.asarray(counts, dtype=float)
    nonzero = np.flatnonzero(counts)
    if nonzero.size == 0:
        return np.array([low, high], dtype=float), np.zeros(1)
    start, end = nonzero[0], nonzero[-1]
    inner = np.asarray(limits, dtype=float)[start:end]
    return np.concatenate([[low], inner, [high]]), counts[start:end + 1]


def read_histograms(
    logdir: str | os.PathLike, tag: str | None = None
) -> dict[str, dict[str, list[Histogram]]]:
    """Read every ``add_histogram`` record below ``logdir``.

    Returns:
        ``{run: {tag: [Histogram, ...]}}`` in step order, every record kept.

    Raises:
        FileNotFoundError, ValueError: as :func:`read_scalars`.
    """
    from tensorboard.backend.event_processing import event_accumulator as ea

    runs = _load_runs(logdir, ea.HISTOGRAMS)
    out: dict[str, dict[str, list[Histogram]]] = {}
    for run, tags in _select(runs, ea.HISTOGRAMS, tag, logdir).items():
        out[run] = {}
        for t in tags:
            records = []
            for e in runs[run].Histograms(t):
                h = e.histogram_value
                edges, counts = _bucket_edges(h.min, h.max, h.bucket_limit, h.bucket)
                records.append(Histogram(
                    step=e.step, edges=edges, counts=counts,
                    min=h.min, max=h.max, num=h.num, sum=h.sum, sum_squares=h.sum_squares,
                ))
            out[run][t] = records
    return out
