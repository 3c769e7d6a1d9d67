"""Reading event files back with TensorBoard's own reader, every point kept."""
from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .runs import EVENT_PREFIX

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


def _check_logdir(logdir: str | os.PathLike) -> Path:
    path = Path(logdir)
    if not path.exists():
        raise FileNotFoundError(f"log folder '{path}' does not exist; nothing was written there yet")
    if not path.is_dir():
        raise NotADirectoryError(f"log folder '{path}' is a file; pass the folder that holds event files")
    if not any(path.rglob(f"{EVENT_PREFIX}*")):
        raise ValueError(f"log folder '{path}' holds no TensorBoard event files ({EVENT_PREFIX}*)")
    return path


class DamagedEventFileWarning(UserWarning):
    """An event file holds records that TensorBoard's reader could not read."""


_FRAME = struct.Struct("<QI")  # record length, masked CRC-32C of those 8 bytes


def _masked_crc(data: bytes) -> int:
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    return masked_crc32c(data)


def _records_framed(data: bytes) -> tuple[int, bool]:
    """Count the complete records by their length fields only (fast: no checksums).

    Returns ``(records, suspect)``: ``suspect`` is True when the bytes after the
    last complete record are not simply a record still being written (their
    length field fails its checksum) -- i.e. the framing itself is damaged.
    """
    pos, records = 0, 0
    while pos + _FRAME.size <= len(data):
        length, length_crc = _FRAME.unpack_from(data, pos)
        end = pos + _FRAME.size + length + 4
        if end > len(data):
            return records, _masked_crc(data[pos:pos + 8]) != length_crc
        pos, records = end, records + 1
    return records, False


def _damage_report(path: Path) -> str | None:
    """Check every record's checksums; describe the damage, or None if the file is sound.

    TensorBoard's Python reader stops at the first record that fails its
    checksum (it logs that only at DEBUG level), so every record after it is
    lost too. A last record that is merely incomplete is a file still being
    written, not damage.
    """
    data = path.read_bytes()
    pos, good, bad, first_bad_at, first_bad_index = 0, 0, 0, None, None
    while pos + _FRAME.size <= len(data):
        length, length_crc = _FRAME.unpack_from(data, pos)
        if _masked_crc(data[pos:pos + 8]) != length_crc:
            break  # the length itself is damaged: the rest cannot be split into records
        end = pos + _FRAME.size + length
        if end + 4 > len(data):
            pos = len(data)  # the last record is still being written
            break
        if _masked_crc(data[pos + _FRAME.size:end]) != struct.unpack_from("<I", data, end)[0]:
            if first_bad_at is None:
                first_bad_at, first_bad_index = pos, good + bad
            bad += 1
        else:
            good += 1
        pos = end + 4
    tail = len(data) - pos
    if first_bad_at is None and tail == 0:
        return None
    if good + bad == 0:
        return (f"event file '{path}' is not readable: its first record fails its checksum, so none of "
                f"its {len(data)} bytes can be read (is it an event file at all?)")
    stop = first_bad_at if first_bad_at is not None else pos
    unread = good + bad - first_bad_index if first_bad_index is not None else 0
    problems = [f"{bad} record(s) fail their checksum"] if bad else []
    if tail:
        problems.append(f"the last {tail} bytes cannot be split into records")
    return (f"event file '{path}' is damaged at byte {stop}: {' and '.join(problems)}. TensorBoard's "
            f"reader stops there, so {unread} of its {good + bad} records"
            f"{' and the rest of the file' if tail else ''} were not read")


def _damaged_files(folder: Path, events_read: int) -> list[str]:
    """Reports on the damaged event files of one run (cheap unless something is missing)."""
    files = sorted(p for p in folder.glob(f"{EVENT_PREFIX}*") if p.is_file())
    framed = [_records_framed(p.read_bytes()) for p in files]
    if events_read >= sum(n for n, _ in framed) and not any(suspect for _, suspect in framed):
        return []
    return [report for report in map(_damage_report, files) if report]


def _counting_accumulator(folder: str, guidance: dict):
    """An ``EventAccumulator`` that also counts the events it processed (``events_read``)."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    class CountingAccumulator(ea.EventAccumulator):
        events_read = 0

        def _ProcessEvent(self, event):
            self.events_read += 1
            super()._ProcessEvent(event)

    return CountingAccumulator(folder, size_guidance=guidance)


def _load_runs(logdir: str | os.PathLike, kind: str) -> tuple[dict[str, Any], list[str]]:
    """Load every run below ``logdir`` with TensorBoard's EventAccumulator.

    ``size_guidance`` 0 means "keep everything": the reader's defaults
    (``event_accumulator.DEFAULT_SIZE_GUIDANCE``) keep only a sample per tag:
    10,000 scalars, 1 histogram, 500 compressed histograms, 10 tensors.

    Returns:
        ``(runs, damaged)``: the runs that hold ``kind``, and one report per
        damaged event file (each also issued as a :class:`DamagedEventFileWarning`).
    """
    from tensorboard.backend.event_processing import event_accumulator as ea
    from tensorboard.backend.event_processing import io_wrapper

    path = _check_logdir(logdir)
    guidance = {ea.SCALARS: 0, ea.HISTOGRAMS: 0, ea.TENSORS: 0, ea.IMAGES: 1, ea.AUDIO: 1,
                ea.COMPRESSED_HISTOGRAMS: 1}
    guidance[kind] = 0  # every record of the kind asked for (images too: read_images)
    runs: dict[str, Any] = {}
    damaged: list[str] = []
    for sub in sorted(io_wrapper.GetLogdirSubdirectories(str(path))):
        name = Path(os.path.relpath(sub, path)).as_posix()
        acc = _counting_accumulator(sub, guidance)
        acc.Reload()
        for report in _damaged_files(Path(sub), acc.events_read):
            warnings.warn(report, DamagedEventFileWarning, stacklevel=3)
            damaged.append(report)
        if acc.Tags()[kind]:
            runs[name] = acc
    return runs, damaged


def _select(runs: dict[str, Any], kind: str, tag: str | None, logdir,
            damaged: list[str] | None = None) -> dict[str, list[str]]:
    """Map run -> tags to read; raise if ``tag`` was never written (or nothing was readable)."""
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

    runs, damaged = _load_runs(logdir, ea.SCALARS)
    out: dict[str, dict[str, Scalars]] = {}
    for run, tags in _select(runs, ea.SCALARS, tag, logdir, damaged).items():
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

    runs, damaged = _load_runs(logdir, ea.HISTOGRAMS)
    out: dict[str, dict[str, list[Histogram]]] = {}
    for run, tags in _select(runs, ea.HISTOGRAMS, tag, logdir, damaged).items():
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
