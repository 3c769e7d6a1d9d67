"""``%tensorboard`` support: find the program, and manage the servers the magic starts.

The magic (``tensorboard.notebook``) runs ``$TENSORBOARD_BINARY`` or
``tensorboard`` from ``PATH`` and records every server it starts with
``tensorboard.manager`` (a file per server in a temporary folder).
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .server import data_location

__all__ = [
    "find_tensorboard_program",
    "configure_tensorboard_program",
    "notebook_tensorboards",
    "forget_dead_tensorboards",
    "stop_notebook_tensorboards",
    "SESSION_VARIABLE",
    "stop_session_tensorboards",
]


def find_tensorboard_program() -> Path | None:
    r"""Locate the ``tensorboard`` program that belongs to this Python.

    Order: ``$TENSORBOARD_BINARY``, the program next to ``sys.executable``
    (a virtual environment's ``bin/`` or ``Scripts\``; conda's ``Scripts\``
    below it on Windows), then ``PATH``.
    Returns ``None`` if none is found.
    """
    explicit = os.environ.get("TENSORBOARD_BINARY")
    if explicit and Path(explicit).is_file():
        return Path(explicit)
    name = "tensorboard.exe" if os.name == "nt" else "tensorboard"
    here = Path(sys.executable).parent
    for beside in (here / name, here / "Scripts" / name):  # venvs; conda on Windows
        if beside.is_file():
            return beside
    found = shutil.which("tensorboard")
    return Path(found) if found else None


def configure_tensorboard_program() -> Path | None:
    """Point ``%tensorboard`` at this environment's program.

    The notebook magic runs ``$TENSORBOARD_BINARY`` or else ``tensorboard``
    from ``PATH``; a JupyterLab started from a virtual environment that was
    not activated has no such ``PATH`` entry and prints "Could not find
    `tensorboard`". Importing ``camp_utils`` calls this function, which sets
    ``TENSORBOARD_BINARY`` (unless it is already set to an existing file).

    Returns:
        The program now used, or ``None`` if there is none.
    """
    program = find_tensorboard_program()
    if program is not None:
        os.environ["TENSORBOARD_BINARY"] = str(program)
    return program


def _launch_folder(info) -> Path | None:
    """The folder a recorded TensorBoard was started in, or None if it cannot be told.

    ``tensorboard.manager`` records ``--logdir`` as given (``../runs/20``), so a
    relative one means something only next to the folder it was started in.
    That folder is part of the record's ``cache_key`` (base64 JSON with a
    ``working_directory``); on Linux the process's own ``/proc/<pid>/cwd``
    says it too.
    """
    try:
        datum = json.loads(base64.b64decode(str(info.cache_key)).decode("utf-8"))
        folder = datum.get("working_directory") if isinstance(datum, dict) else None
        if isinstance(folder, str) and os.path.isabs(folder):
            return Path(folder)
    except (ValueError, TypeError, UnicodeDecodeError, AttributeError):
        pass
    try:
        return Path(os.readlink(f"/proc/{int(info.pid)}/cwd"))
    except (OSError, ValueError, TypeError):
        return None


def _absolute(folder: str, base: Path | None) -> Path | None:
    """``folder`` made absolute: as it is, or against ``base``; None if relative without a base."""
    path = Path(folder).expanduser()
    if path.is_absolute():
        return path.resolve()
    return (base / path).resolve() if base is not None else None


def _served_folder(info) -> Path | None:
    """The absolute folder a recorded TensorBoard serves, or None if it cannot be told."""
    return _absolute(info.logdir, _launch_folder(info)) if info.logdir else None


def _serves(port: int, logdir: Path, timeout: float = 2.0, base: Path | None = None) -> bool:
    """True if a TensorBoard answers on ``port`` and serves ``logdir`` (its relative answer read against ``base``)."""
    return data_location(_address(port), timeout=timeout, base=base) == logdir


def _address(port: int) -> str:
    """The address a ``%tensorboard`` server on ``port`` answers at."""
    return f"http://localhost:{port}/"


def _info_dir() -> Path:
    from tensorboard import manager

    finder = getattr(manager, "_get_info_dir", None)
    return Path(finder()) if finder else Path(tempfile.gettempdir()) / ".tensorboard-info"


def forget_dead_tensorboards() -> int:
    """Delete ``tensorboard.manager`` records of servers that no longer answer.

    When a kernel is killed, the ``%tensorboard`` server it started often dies
    with it, but its record stays. The next ``%tensorboard`` with the same
    arguments then "reuses" the dead server ("Reusing TensorBoard on port
    ...") and shows an empty frame. Importing ``camp_utils`` calls this.

    Returns:
        How many records were deleted.
    """
    from tensorboard import manager

    removed = 0
    for info in manager.get_all():
        serving = _served_folder(info)
        if serving is not None:  # alive means: answers on its port *and* serves its folder
            alive = _serves(info.port, serving, timeout=1.0, base=_launch_folder(info))
        else:  # its folder cannot be told (relative, launch folder unknown): keep the record if it answers
            alive = data_location(_address(info.port), timeout=1.0) is not None
        if not alive:
            try:
                (_info_dir() / f"pid-{info.pid}.info").unlink()
                removed += 1
            except OSError:
                pass
    return removed


def notebook_tensorboards(logdir: str | os.PathLike | None = None) -> list:
    """The live TensorBoard servers recorded on this machine: ``%tensorboard``'s and any other.

    Every TensorBoard server writes a record of itself when it starts
    (``tensorboard.manager``'s ``TensorBoardInfo``: ``port``, ``pid``,
    ``logdir``, ...), whether the ``%tensorboard`` magic started it or a
    terminal did; the magic reads them to reuse a server. A record can
    outlive its server. Only servers that answer on their port are returned,
    and with ``logdir`` only those that serve that folder. A relative
    ``logdir`` is the caller's (relative to the current folder); a record's
    relative ``--logdir`` is read against the folder that server was started
    in, so from another notebook folder ``../runs/20`` still means the folder
    really served.
    """
    from tensorboard import manager

    target = Path(logdir).expanduser().resolve() if logdir is not None else None
    live = []
    for info in manager.get_all():
        serving = _served_folder(info)
        if serving is None or (target is not None and serving != target):
            continue
        if _serves(info.port, serving, base=_launch_folder(info)):
            live.append(info)
    return live


def stop_notebook_tensorboards(logdir: str | os.PathLike | None = None) -> int:
    """Stop the recorded TensorBoard servers (for ``logdir``, if given): ``%tensorboard``'s and any other.

    A server started by the ``%tensorboard`` magic keeps running after its
    notebook is closed. This terminates the live ones found by
    :func:`notebook_tensorboards` -- which includes a server started in a
    terminal on the same folder, since every TensorBoard records itself. A
    server is only signalled after it has answered on its port, so a stale
    record never kills an unrelated process. Returns how many it stopped.
    """
    return _terminate(notebook_tensorboards(logdir))


def _terminate(infos) -> int:
    """Send SIGTERM to each server (TensorBoard then removes its record); count the ones signalled."""
    import signal

    stopped = 0
    for info in infos:
        try:
            os.kill(info.pid, signal.SIGTERM)
            stopped += 1
        except OSError:  # it exited in the meantime
            pass
    return stopped


SESSION_VARIABLE = "CAMP_SESSION"


def _environ_of(pid: int) -> dict[str, str] | None:
    """Environment of another process (Linux ``/proc`` only; None elsewhere or if gone)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def stop_session_tensorboards(session: str) -> int:
    """Stop the live ``%tensorboard`` servers started with ``$CAMP_SESSION == session``.

    The test suite and the notebook executor set ``CAMP_SESSION`` for the
    kernels they start; the servers those kernels' ``%tensorboard`` cells
    start inherit it. This stops exactly those, never a learner's server that
    happens to run at the same time. Linux only (reads ``/proc``); elsewhere
    it stops nothing and returns 0. A server whose environment cannot be
    read never counts as a match.

    Raises:
        ValueError: if ``session`` is not a non-empty str (``None`` would
            otherwise match every server that lacks the variable).
    """
    if not isinstance(session, str) or not session:
        raise ValueError(f"session must be a non-empty str (the {SESSION_VARIABLE} value), got {session!r}")

    def started_by_session(info) -> bool:
        environment = _environ_of(info.pid)
        return environment is not None and environment.get(SESSION_VARIABLE) == session

    return _terminate([info for info in notebook_tensorboards() if started_by_session(info)])
