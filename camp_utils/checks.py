"""Argument checks shared by every public function of :mod:`camp_utils`.

One rule per kind of argument, so the same mistake gets the same message
everywhere (``"{name} must be {expected}, got {value!r} ({type})"``):

* :func:`check_int` -- integers are ``numbers.Integral`` (``int``, ``numpy.int64``,
  ...) but never ``bool`` (``True`` is not a count) nor a string;
* :func:`check_number` -- a real number, finite unless told otherwise, within
  optional bounds that are open or closed (``smooth`` in ``[0, 1)``);
* :func:`check_choice` -- one of a few allowed values (``"epoch"`` or ``"batch"``);
* :func:`check_plain_name` -- a run-style name made of plain folder names;
* :func:`check_path` -- a ``str`` or ``os.PathLike`` path (no NUL character);
* :func:`existing_folder` -- a path that is an existing folder (not a file);
* :func:`folder_inside` -- a folder built from plain relative names that must
  stay inside a root folder (``runs/``), also after symbolic links are followed;
* :func:`ensure_writable_folder` -- create a folder and prove it is writable,
  before any long work that would later fail to save its result;
* :func:`env_flag` -- an on/off environment variable (``CAMP_PROGRESS=0``).
"""
from __future__ import annotations

import math
import numbers
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["check_int", "check_number", "check_choice", "check_plain_name", "check_path", "existing_folder",
           "folder_inside", "ensure_writable_folder", "env_flag", "FLAG_WORDS"]

T = TypeVar("T")

#: The words :func:`env_flag` reads as on and as off (compared case-insensitively, spaces stripped).
FLAG_WORDS: dict[bool, tuple[str, ...]] = {True: ("1", "true", "yes", "on"), False: ("0", "false", "no", "off")}


def _value_and_type(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _refuse(name: str, expected: str, value: Any, what: str = "", hint: str = "") -> ValueError:
    """The one message shape: ``"{name} must be {expected} ({what}), got {value!r} ({type}); {hint}"``."""
    return ValueError(f"{name} must be {expected}{f' ({what})' if what else ''}, got {_value_and_type(value)}"
                      f"{f'; {hint}' if hint else ''}")


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
    raise _refuse(name, expected, value, what)


def _bounds_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    """``" in [0, 1)"``, ``" > 1"``, ``" <= 10"`` or ``""``: the bounds as a learner reads them."""
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high:g}"
    return ""


def check_number(
    value: Any,
    name: str,
    *,
    positive: bool = False,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_nan: bool = False,
    allow_inf: bool = False,
    what: str = "",
) -> float:
    """Return ``value`` as a ``float`` if it is a real number within the bounds.

    Accepts any ``numbers.Real`` (``int``, ``float`` and numpy's real scalars
    such as ``numpy.float32(0.5)`` or ``numpy.int64(3)``) and refuses ``bool``
    (also ``numpy.bool_``), strings and tensors.

    Args:
        value: the argument to check.
        name: the argument's name, for the message.
        positive: shorthand for ``low=0, low_open=True`` (``value > 0``).
        low: the lower bound; ``None`` (the default) is unbounded below.
        high: the upper bound; ``None`` (the default) is unbounded above.
        low_open: ``True`` excludes ``low`` itself (``low=0, low_open=True`` is ``(0, ...]``).
        high_open: ``True`` excludes ``high`` itself (``low=0, high=1, high_open=True`` is ``[0, 1)``).
        allow_nan: accept ``nan`` (whatever the bounds).
        allow_inf: accept ``inf`` and ``-inf`` when the bounds allow them
            (``low=0, allow_inf=True`` accepts ``inf`` but not ``-inf``).
        what: what the number means (``"seconds to wait"``), for the message.

    Returns:
        ``float(value)``.

    Raises:
        ValueError: naming ``name``, the expected range and what was given,
            e.g. ``"smooth must be a finite number in [0, 1), got 1.0 (float)"``.
    """
    if positive and (low is None or low < 0 or (low == 0 and not low_open)):
        low, low_open = 0, True
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        number = float(value)
        if math.isnan(number):
            ok = allow_nan
        else:
            ok = ((allow_inf or math.isfinite(number))
                  and (low is None or (number > low if low_open else number >= low))
                  and (high is None or (number < high if high_open else number <= high)))
    if ok:
        return number
    kind = "a number" if allow_inf else "a finite number"
    if positive and low == 0 and high is None:
        expected = f"a positive{',' if not allow_inf else ''} {kind[2:]}"  # "a positive, finite number"
    else:
        expected = kind + _bounds_text(low, high, low_open, high_open)
    if allow_nan:
        expected += " (or nan)"
    raise _refuse(name, expected, value, what)


def _same(value: Any, choice: Any) -> bool:
    """``value == choice`` for a plain value; ``True`` is not ``1`` and an array is equal to nothing."""
    if isinstance(value, bool) != isinstance(choice, bool):
        return False
    try:
        return bool(value == choice)
    except (TypeError, ValueError):  # an array compared element-wise
        return False


def check_choice(value: Any, name: str, choices: Iterable[T] | Mapping[T, str], *, what: str = "",
                 hint: str = "") -> T:
    """Return the element of ``choices`` equal to ``value``.

    ``choices`` may be a mapping from each choice to a few words about it,
    shown in the message: ``{"exponential": "fastai's", "linear": "Smith's"}``.

    Returns:
        The matching element of ``choices`` (so ``numpy.str_('batch')`` comes back as ``'batch'``).

    Raises:
        ValueError: ``"{name} must be 'a' or 'b', got ..."`` for two choices,
            ``"{name} must be one of ('a', 'b', 'c'), got ..."`` for more; then ``hint``.
    """
    notes = dict(choices) if isinstance(choices, Mapping) else None
    options = list(choices)
    if not options:
        raise ValueError(f"check_choice needs at least one choice for {name}")
    for choice in options:
        if _same(value, choice):
            return choice
    if notes is not None:
        words = [f"{c!r} ({notes[c]})" if notes[c] else repr(c) for c in options]
        expected = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
    elif len(options) <= 2:
        expected = " or ".join(map(repr, options))
    else:
        expected = f"one of {tuple(options)!r}"
    raise _refuse(name, expected, value, what, hint)


def check_plain_name(value: Any, name: str, *, nested: bool = False) -> list[str]:
    """Split a run-style name into its parts and check each is a plain folder name.

    ``value`` is a non-empty ``str`` (or an integer, e.g. a lesson number);
    with ``nested`` it may contain ``/`` (``"lenet/train"``). Refused: empty
    parts, ``.``, ``..``, absolute paths, drive letters, backslashes and NUL characters.

    Returns:
        The parts, e.g. ``["lenet", "train"]``.

    Raises:
        ValueError: naming ``name`` and showing what a plain name looks like.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = str(int(value))
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a str or an int, got {_value_and_type(value)}")
    if "\0" in value:  # no file system takes one; Python's own error would not say which argument
        raise _refuse(name, "a name without NUL characters ('\\x00')", value)
    parts = value.split("/")
    bad = (not value or value.startswith("/") or (len(parts) > 1 and not nested)
           or any(p in ("", ".", "..") or "\\" in p or ":" in p or p != p.strip() for p in parts))
    if bad:
        example = "'y_equals_2x' or 'lenet/train'" if nested else "20"
        raise ValueError(f"{name} {value!r} is not a plain relative name (no '..', no absolute path"
                         f"{'' if nested else ', no /'}); expected something like {example}")
    return parts


def check_path(value: Any, name: str, *, kind: str = "path") -> Path:
    r"""Return ``Path(value)`` if ``value`` is a ``str`` or ``os.PathLike`` path without NUL characters.

    Args:
        value: the argument to check.
        name: the argument's name, for the message.
        kind: what the path should name, for the message (``"folder path"``).

    Raises:
        ValueError: ``"{name} must be a {kind} (str or os.PathLike), got None (NoneType)"``,
            or ``"{name} must be a {kind} without NUL characters ('\x00'), got ..."``
            (no file system takes one, and Python's own error does not say which argument holds it).
    """
    try:
        text = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
    except TypeError:  # an __fspath__ that returns neither str nor bytes
        text = None
    if not isinstance(text, str):  # not a path at all, or a bytes path (pathlib refuses those)
        raise _refuse(name, f"a {kind} (str or os.PathLike)", value)
    if "\0" in text:
        raise _refuse(name, f"a {kind} without NUL characters ('\\x00')", value)
    return Path(value)


def existing_folder(path: str | os.PathLike, name: str, hint: str = "", *, missing_ok: bool = False) -> Path:
    """Return ``Path(path)`` if it is an existing folder.

    Args:
        path: the folder.
        name: how the message calls it (``"image folder"``, ``"root"``).
        hint: what the folder should hold or what to do, appended to the message.
        missing_ok: accept a path that does not exist yet (a folder that
            will be created or downloaded into); a *file* there is still refused.

    Returns:
        ``Path(path)``.

    Raises:
        ValueError: ``path`` is not a ``str`` or ``os.PathLike``, or holds a NUL character.
        FileNotFoundError: ``"{name} '{path}' does not exist; {hint}"`` (unless ``missing_ok``).
        NotADirectoryError: ``"{name} '{path}' is a file, not a folder; {hint}"``.
    """
    folder = check_path(path, name, kind="folder path")
    tail = f"; {hint}" if hint else ""
    if not folder.exists():
        if missing_ok:
            return folder
        raise FileNotFoundError(f"{name} '{folder}' does not exist{tail}")
    if not folder.is_dir():
        raise NotADirectoryError(f"{name} '{folder}' is a file, not a folder{tail}")
    return folder


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
        tail = f" {hint}" if hint else ""
        raise PermissionError(f"cannot write to '{folder}': {err.strerror or err}.{tail}") from err
    return folder


def env_flag(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    """Read the on/off environment variable ``name``; ``default`` when it is unset or empty.

    On: ``1``, ``true``, ``yes``, ``on``; off: ``0``, ``false``, ``no``, ``off``
    (any case, surrounding spaces ignored). Anything else is a mistake worth
    saying, not a silent "on": ``CAMP_PROGRESS=flase`` should not show bars.

    Args:
        name: the variable, e.g. ``"CAMP_PROGRESS"``.
        default: the answer when it is unset or blank.
        environ: where to read it (default ``os.environ``), e.g. a test's dict.

    Raises:
        ValueError: naming the variable, the words it accepts and what it holds.
    """
    raw = (os.environ if environ is None else environ).get(name)
    word = "" if raw is None else raw.strip().lower()
    if not word:
        return bool(default)
    for flag, words in FLAG_WORDS.items():
        if word in words:
            return flag
    pairs = ", ".join(f"{on}/{off}" for on, off in zip(FLAG_WORDS[True], FLAG_WORDS[False]))
    raise ValueError(f"environment variable {name} must be on or off ({pairs}, any case), got {raw!r}")
