"""The record framing of event files, and reports on the files that break it.

An event file is a sequence of records, each framed as TensorFlow's
``TFRecord``::

    uint64 length | uint32 masked CRC-32C of the length | data | uint32 masked CRC-32C of the data

* :func:`count_records` -- complete records by their length fields only (fast);
* :func:`damage_report` -- every checksum checked; what is damaged, or ``None``;
* :func:`damaged_files` -- the reports for one run's folder, cheap when nothing is missing.
"""
from __future__ import annotations

import struct
from pathlib import Path

from .runs import EVENT_PREFIX

__all__ = ["count_records", "damage_report", "damaged_files"]

_FRAME = struct.Struct("<QI")  # record length, masked CRC-32C of those 8 bytes
_DATA_CRC = struct.Struct("<I")


def _masked_crc(data: bytes) -> int:
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    return masked_crc32c(data)


def count_records(data: bytes) -> tuple[int, bool]:
    """Count the complete records of an event file by their length fields only (no data checksums).

    Args:
        data: the bytes of one event file.

    Returns:
        ``(records, suspect)``: ``suspect`` is True when the bytes after the
        last complete record are not simply a record still being written (their
        length field fails its checksum) -- i.e. the framing itself is damaged.
    """
    pos, records = 0, 0
    while pos + _FRAME.size <= len(data):
        length, length_crc = _FRAME.unpack_from(data, pos)
        end = pos + _FRAME.size + length + _DATA_CRC.size
        if end > len(data):
            return records, _masked_crc(data[pos:pos + 8]) != length_crc
        pos, records = end, records + 1
    return records, False


def damage_report(path: Path) -> str | None:
    """Check every record's checksums; describe the damage, or ``None`` if the file is sound.

    TensorBoard's Python reader stops at the first record that fails its
    checksum (it logs that only at DEBUG level), so every record after it is
    lost too. A last record that is merely incomplete is a file still being
    written, not damage.

    Args:
        path: one event file.

    Returns:
        A sentence naming the file, the byte where reading stops and how many
        records were not read; ``None`` for a sound file.
    """
    data = path.read_bytes()
    pos, good, bad, first_bad_at, first_bad_index = 0, 0, 0, None, None
    while pos + _FRAME.size <= len(data):
        length, length_crc = _FRAME.unpack_from(data, pos)
        if _masked_crc(data[pos:pos + 8]) != length_crc:
            break  # the length itself is damaged: the rest cannot be split into records
        end = pos + _FRAME.size + length
        if end + _DATA_CRC.size > len(data):
            pos = len(data)  # the last record is still being written
            break
        if _masked_crc(data[pos + _FRAME.size:end]) != _DATA_CRC.unpack_from(data, end)[0]:
            if first_bad_at is None:
                first_bad_at, first_bad_index = pos, good + bad
            bad += 1
        else:
            good += 1
        pos = end + _DATA_CRC.size
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


def damaged_files(folder: Path, events_read: int) -> list[str]:
    """Reports on the damaged event files of one run.

    Checksums are only checked when something is missing: when the reader
    processed fewer events than the files frame, or a file's framing is suspect.

    Args:
        folder: the run's folder (its own event files, not those of sub-runs).
        events_read: how many events TensorBoard's reader processed in it.

    Returns:
        One :func:`damage_report` per damaged file, in file-name order (empty when all are sound).
    """
    files = sorted(p for p in folder.glob(f"{EVENT_PREFIX}*") if p.is_file())
    framed = [count_records(p.read_bytes()) for p in files]
    if events_read >= sum(n for n, _ in framed) and not any(suspect for _, suspect in framed):
        return []
    return [report for report in map(damage_report, files) if report]
