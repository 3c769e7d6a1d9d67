"""Argument checks shared by every public function of :mod:`camp_utils`.

One rule per kind of argument, so the same mistake gets the same message
everywhere:

* :func:`check_int` -- integers are ``numbers.Integral`` (``int``, ``numpy.int64``,
  ...) but never ``bool`` (``True`` is not a count) nor a string;
* :func:`check_number` -- a real, finite number (``nan`` and ``inf`` are refused);
* :func:`folder_inside` -- a folder built from plain relative names that must
  stay inside a root folder (``runs/``), also after symbolic links are followed;
* :func:`ensure_writable_folder` -- create a folder and prove it is writable,
  before any long work that would later fail to save its result.
"""
from __future__ import annotations

import math
import numbers
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["check_int", "check_number", "check_plain_name", "folder_inside", "ensure_writable_folder"]


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def check_int(
    value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None, what: str = ""
) -> int:
    """Return ``value`` as a plain ``int`` if it is an integer within the bounds.

    Accepts any ``numbers.Integral`` (so ``numpy.int64(3)`` works) and refuses
    ``bool``, floats (even ``2.0``) and strings.

    Raises:
        ValueError: naming ``name``, what was expected and what was given.
    """
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok:
        value = int(value)
        ok = (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    if ok:
        return value
    if minimum is not None and maximum is not None:
        expected = f"an int from {minimum} to {maximum}"
    elif minimum == 1:
        expected = "a positive int"
    elif minimum == 0:
        expected = "a non-negative int"
    elif minimum is not None:
        expected = f"an int >= {minimum}"
    else:
        expected = "an int"
    raise ValueError(f"{name} must be {expected}{f' ({what})' if what else ''}, got {_describe(value)}")


def check_number(value: Any, name: str, *, positive: bool = False, what: str = "") -> float:
    """Return ``value`` as a ``float`` if it is a real, finite number (``> 0`` if ``positive``).

    Raises:
        ValueError: for ``bool``, strings, ``nan``, ``inf`` or a non-positive value when ``positive``.
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (value > 0 or not positive)
    if ok:
        return value
    expected = "a positive, finite number" if positive else "a finite number"
    raise ValueError(f"{name} must be {expected}{f' ({what})' if what else ''}, got {_describe(value)}")


def check_plain_name(value: Any, name: str, *, nested: bool = False) -> list[str]:
    """Split a run-style name into its parts and check each is a plain folder name.

    ``value`` is a non-empty ``str`` (or an integer, e.g. a lesson number);
    with ``nested`` it may contain ``/`` (``"lenet/train"``). Refused: empty
    parts, ``.``, ``..``, absolute paths, drive letters and backslashes.

    Returns:
        The parts, e.g. ``["lenet", "train"]``.

    Raises:
        ValueError: naming ``name`` and showing what a plain name looks like.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = str(int(value))
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a str or an int, got {_describe(value)}")
    parts = value.split("/")
    bad = (not value or value.startswith("/") or (len(parts) > 1 and not nested)
           or any(p in ("", ".", "..") or "\\" in p or ":" in p or p != p.strip() for p in parts))
    if bad:
        example = "'y_equals_2x' or 'lenet/train'" if nested else "20"
        raise ValueError(f"{name} {value!r} is not a plain relative name (no '..', no absolute path"
                         f"{'' if nested else ', no /'}); expected something like {example}")
    return parts


def folder_inside(root: str | os.PathLike, *parts: str) -> Path:
    """``root/<parts...>``, checked to lie inside ``root`` after following symbolic links.

    ``parts`` should come from :func:`check_plain_name`; this is the second
    line of defence, for a link inside ``root`` that points elsewhere.

    Raises:
        ValueError: if the folder resolves to a place outside ``root``.
    """
    base = Path(root)
    folder = base.joinpath(*parts)
    real_base, real_folder = base.resolve(), folder.resolve()
    if real_folder == real_base or not real_folder.is_relative_to(real_base):
        raise ValueError(f"'{folder}' resolves to '{real_folder}', which is not inside '{real_base}'; "
                         "run folders must stay inside the runs folder (is a symbolic link pointing out?)")
    return folder


def ensure_writable_folder(folder: str | os.PathLike, hint: str = "") -> Path:
    """Create ``folder`` (with parents) and check a file can be written in it.

    Raises:
        PermissionError: naming the folder, the reason and ``hint`` (what to do instead).
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write_check_"):
            pass
    except OSError as err:
        raise PermissionError(f"cannot write to '{folder}': {err.strerror or err}.{f' {hint}' if hint else ''}") from err
    return folder
