"""Reading images back from event files with TensorBoard's own reader, every step kept.

``add_image``, ``add_images`` and ``add_figure`` store each picture as an
encoded PNG inside the event file. :func:`read_images` decodes them to numpy
arrays, so a notebook can show -- and compare pixel by pixel -- exactly what
TensorBoard's Images tab shows. Loading, tag selection and the damage reports
are :mod:`._reader`'s, the same as for :func:`~camp_utils.tb.read_scalars`.
"""
from __future__ import annotations

import io
import os
from typing import NamedTuple

import numpy as np

from ._reader import load_runs, select

__all__ = ["ImageRecord", "read_images"]


class ImageRecord(NamedTuple):
    """One image record as written: its step, the decoded pixels and the wall time.

    ``array`` is ``uint8`` of shape ``(H, W, C)``: ``C`` is 3 for RGB, 4 for
    RGBA and 1 for a grey-level PNG -- whatever the writer encoded.
    """

    step: int
    array: np.ndarray
    wall_time: float


def _decode_png(encoded: bytes) -> np.ndarray:
    """Decode one stored image to ``(H, W, C)`` uint8, channels as encoded."""
    from PIL import Image

    with Image.open(io.BytesIO(encoded)) as picture:
        picture.load()
        if picture.mode not in ("L", "RGB", "RGBA"):
            picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
        array = np.asarray(picture, dtype=np.uint8)
    return array[:, :, None] if array.ndim == 2 else array


def read_images(logdir: str | os.PathLike, tag: str | None = None) -> dict[str, dict[str, list[ImageRecord]]]:
    """Read every image below ``logdir`` back from its event files, decoded.

    Sub-folders are separate runs (as in TensorBoard's run list); the run in
    ``logdir`` itself is called ``"."``. One ``add_images`` call (a batch)
    is one record: the writer tiles the batch into a single grid picture.

    Args:
        logdir: a folder written by a ``SummaryWriter`` (or a parent of several).
        tag: read only this tag (from every run that has it).

    Returns:
        ``{run: {tag: [ImageRecord(step, array, wall_time), ...]}}`` in the order
        of the file, every record kept; ``array`` is ``(H, W, C)`` uint8.

    Raises:
        FileNotFoundError: ``logdir`` does not exist.
        ValueError: ``logdir`` holds no event files or no images, or ``tag`` was never written.

    Warns:
        DamagedEventFileWarning: as :func:`~camp_utils.tb.read_scalars`: for each
            damaged event file, with how many records could not be read.
    """
    from tensorboard.backend.event_processing import event_accumulator as ea

    runs, damaged = load_runs(logdir, ea.IMAGES)
    out: dict[str, dict[str, list[ImageRecord]]] = {}
    for run, tags in select(runs, ea.IMAGES, tag, logdir, damaged).items():
        out[run] = {
            t: [ImageRecord(step=e.step, array=_decode_png(e.encoded_image_string), wall_time=e.wall_time)
                for e in runs[run].Images(t)]
            for t in tags
        }
    return out
