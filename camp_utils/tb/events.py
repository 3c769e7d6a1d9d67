"""Scalars and histograms read back from event files with TensorBoard's own reader, every point kept.

* :func:`read_scalars` -- ``add_scalar(s)`` series as :class:`Scalars`;
* :func:`read_histograms` -- ``add_histogram`` records as :class:`Histogram`, buckets as TensorBoard draws them;
* :class:`DamagedEventFileWarning` -- issued for each event file TensorBoard's reader cannot read to the end.

Loading, tag selection and the damage reports are :mod:`._reader`'s, shared with :func:`~camp_utils.tb.read_images`.
"""
from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from ._reader import DamagedEventFileWarning, load_runs, select

__all__ = ["Scalars", "Histogram", "read_scalars", "read_histograms", "DamagedEventFileWarning"]


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


def read_scalars(logdir: str | os.PathLike, tag: str | None = None) -> dict[str, dict[str, Scalars]]:
    """Read every scalar below ``logdir`` back from its event files.

    Sub-folders are separate runs (as in TensorBoard's run list); the run in
    ``logdir`` itself is called ``"."``. ``add_scalars("Loss", {"train": ...})``
    writes sub-runs named ``Loss_train``, ... with tag ``Loss``.

    This is TensorBoard's Python reader (``EventAccumulator``, the loader of
    ``tensorboard --load_fast=false``), and it keeps every point in file
    order. A learner's default TensorBoard (``--load_fast=auto``: the Rust
    data server) drops the points at and after a step that a run goes back
    to: after steps 0..99 and then 50..59 this returns 110 points and
    TensorBoard draws 60 (steps 0..59); a run written twice (``run_writer(..., fresh=False)``) gives
    200 points here and 100 there. :class:`~camp_utils.tb.TensorBoardServer`
    asks the default loader, so a check can compare both.

    Args:
        logdir: a folder written by a ``SummaryWriter`` (or a parent of several).
        tag: read only this tag (from every run that has it).

    Returns:
        ``{run: {tag: Scalars(steps, values, wall_times)}}``, every point kept.

    Raises:
        FileNotFoundError: ``logdir`` does not exist.
        ValueError: ``logdir`` holds no event files or no scalars, ``tag`` was
            never written, or nothing could be read because the files are damaged.

    Warns:
        DamagedEventFileWarning: for each event file with records that fail
            their checksum (TensorBoard's reader stops at the first one, so the
            points after it are missing); the message names the file, the byte
            and how many records were not read. A file whose last record is
            still being written is not damaged.
    """
    from tensorboard.backend.event_processing import event_accumulator as ea

    runs, damaged = load_runs(logdir, ea.SCALARS)
    out: dict[str, dict[str, Scalars]] = {}
    for run, tags in select(runs, ea.SCALARS, tag, logdir, damaged).items():
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

    Warns:
        DamagedEventFileWarning: as :func:`read_scalars`.
    """
    from tensorboard.backend.event_processing import event_accumulator as ea

    runs, damaged = load_runs(logdir, ea.HISTOGRAMS)
    out: dict[str, dict[str, list[Histogram]]] = {}
    for run, tags in select(runs, ea.HISTOGRAMS, tag, logdir, damaged).items():
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
