"""TensorBoard helpers shared by every TensorBoard lesson.

* :func:`run_writer` -- a ``SummaryWriter`` for a named run, ``runs/<lesson>/<experiment>``;
* :func:`read_scalars` / :func:`read_histograms` -- read event files back with
  TensorBoard's own reader, every point kept;
* :class:`TensorBoardServer` -- a real TensorBoard server on a free localhost
  port, started and stopped by a ``with`` block, for asking its HTTP API;
* :func:`check_install` and :func:`find_tensorboard_program` -- is everything there?

The lesson code itself (``add_scalar``, ``add_histogram``, ...) stays in the
notebooks; this module only does the plumbing around it.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .paths import runs_dir

__all__ = [
    "run_dir",
    "run_writer",
    "Scalars",
    "Histogram",
    "read_scalars",
    "read_histograms",
    "TensorBoardServer",
    "notebook_tensorboards",
    "forget_dead_tensorboards",
    "stop_notebook_tensorboards",
    "stop_session_tensorboards",
    "find_tensorboard_program",
    "configure_tensorboard_program",
    "InstallReport",
    "check_install",
]

_EVENT_PREFIX = "events.out.tfevents"


# --------------------------------------------------------------------------- writing
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
    for path in sorted(folder.rglob(f"{_EVENT_PREFIX}*")):
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


# --------------------------------------------------------------------------- reading
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
    if not any(path.rglob(f"{_EVENT_PREFIX}*")):
        raise ValueError(f"log folder '{path}' holds no TensorBoard event files ({_EVENT_PREFIX}*)")
    return path


def _load_runs(logdir: str | os.PathLike, kind: str) -> dict[str, Any]:
    """Load every run below ``logdir`` with TensorBoard's EventAccumulator.

    ``size_guidance`` 0 means "keep everything": the reader's defaults would
    keep only a sample (e.g. 10,000 scalars, 500 histograms per tag).
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


# --------------------------------------------------------------------------- the program
def find_tensorboard_program() -> Path | None:
    """Locate the ``tensorboard`` program that belongs to this Python.

    Order: ``$TENSORBOARD_BINARY``, the program next to ``sys.executable``
    (a virtual environment's ``bin/`` or ``Scripts\\``), then ``PATH``.
    Returns ``None`` if none is found.
    """
    explicit = os.environ.get("TENSORBOARD_BINARY")
    if explicit and Path(explicit).is_file():
        return Path(explicit)
    name = "tensorboard.exe" if os.name == "nt" else "tensorboard"
    beside = Path(sys.executable).parent / name
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


# --------------------------------------------------------------------------- the server
def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class TensorBoardServer:
    """A real TensorBoard server for one log folder, on a free localhost port.

    Use it as a context manager; the server is always stopped on exit::

        with TensorBoardServer("runs/20") as tb:
            print(tb.runs())
            points = tb.scalars("y_equals_2x", "y=2x")

    On entry it starts ``python -m tensorboard.main`` with the pure-Python
    loader, loads the folder once before answering (``--reload_task blocking``)
    and waits until ``/data/runs`` answers, so what the API returns is what
    is on disk at that moment.

    Args:
        logdir: folder to serve.
        port: TCP port; default: a free one.
        host: interface to bind; only localhost is sensible for tests.
        timeout: seconds to wait for the server to answer.
        live: keep reloading the folder every 2 s (for browsing) instead of
            loading it once (for checks).
    """

    def __init__(
        self,
        logdir: str | os.PathLike,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        timeout: float = 60.0,
        live: bool = False,
    ) -> None:
        self.logdir = Path(logdir)
        if not self.logdir.is_dir():
            raise FileNotFoundError(f"log folder '{self.logdir}' does not exist; write a run first")
        if timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.host = host
        self.port = port if port is not None else _free_port(host)
        self.timeout = timeout
        self.live = live
        self._process: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:6123/``."""
        return f"http://{self.host}:{self.port}/"

    def start(self) -> "TensorBoardServer":
        """Start the server and wait until it answers (see the class doc)."""
        if self._process is not None:
            raise RuntimeError("this TensorBoard server is already running")
        reload_args = ["--reload_interval", "2"] if self.live else ["--reload_interval", "0", "--reload_task", "blocking"]
        cmd = [
            sys.executable, "-m", "tensorboard.main",
            "--logdir", str(self.logdir), "--host", self.host, "--port", str(self.port),
            "--load_fast", "false", *reload_args,
        ]
        self._log = tempfile.TemporaryFile()
        self._process = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.timeout
        while True:
            if self._process.poll() is not None:
                output = self._read_log()
                self._cleanup()
                raise RuntimeError(f"TensorBoard exited with code {self._process.returncode}:\n{output}")
            try:
                self.get_json("data/runs")
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    output = self._read_log()
                    self.stop()
                    raise TimeoutError(
                        f"TensorBoard did not answer on {self.url} within {self.timeout} s:\n{output}"
                    ) from None
                time.sleep(0.2)

    def _read_log(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-4000:]

    def _cleanup(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        """Stop the server (does nothing if it is not running)."""
        proc, self._process = self._process, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._cleanup()

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> "TensorBoardServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def get_json(self, path: str, **params: str) -> Any:
        """GET ``<url><path>?<params>`` and decode the JSON answer."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(self.url + path.lstrip("/") + query, timeout=10) as reply:
            return json.loads(reply.read().decode("utf-8"))

    def runs(self) -> list[str]:
        """Run names the server lists (``/data/runs``)."""
        return self.get_json("data/runs")

    def scalars(self, run: str, tag: str) -> list[tuple[float, int, float]]:
        """``(wall_time, step, value)`` rows the scalars plugin serves for one series.

        Raises:
            ValueError: if the server has no such run/tag; names both and what it has.
        """
        try:
            rows = self.get_json("data/plugin/scalars/scalars", run=run, tag=tag)
        except urllib.error.HTTPError as err:
            tags = self.get_json("data/plugin/scalars/tags")
            raise ValueError(
                f"TensorBoard serves no scalars for run '{run}', tag '{tag}' (HTTP {err.code}); "
                f"it has: {json.dumps({r: sorted(t) for r, t in tags.items()})}"
            ) from None
        return [(float(w), int(s), float(v)) for w, s, v in rows]


def _environment(port: int, timeout: float = 2.0) -> dict | None:
    """What a TensorBoard on ``port`` says about itself, or None if nothing answers."""
    try:
        with urllib.request.urlopen(f"http://localhost:{port}/data/environment", timeout=timeout) as reply:
            answer = json.loads(reply.read().decode("utf-8"))
    except (OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None


def _serves(port: int, logdir: Path, timeout: float = 2.0) -> bool:
    """True if a TensorBoard answers on ``port`` and serves ``logdir``."""
    location = (_environment(port, timeout) or {}).get("data_location", "")
    return bool(location) and Path(location).resolve() == logdir


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
        if info.logdir:  # alive means: answers on its port *and* serves its folder
            alive = _serves(info.port, Path(info.logdir).resolve(), timeout=1.0)
        else:
            alive = _environment(info.port, timeout=1.0) is not None
        if not alive:
            try:
                (_info_dir() / f"pid-{info.pid}.info").unlink()
                removed += 1
            except OSError:
                pass
    return removed


def notebook_tensorboards(logdir: str | os.PathLike | None = None) -> list:
    """The live TensorBoard servers that ``%tensorboard`` started on this machine.

    ``tensorboard.manager`` keeps a record of every server the magic started
    (``TensorBoardInfo``: ``port``, ``pid``, ``logdir``, ...), but a record can
    outlive its server. Only servers that answer on their port are returned,
    and with ``logdir`` only those that serve that folder.
    """
    from tensorboard import manager

    target = Path(logdir).resolve() if logdir is not None else None
    live = []
    for info in manager.get_all():
        serving = Path(info.logdir).resolve() if info.logdir else None
        if target is not None and serving != target:
            continue
        if serving is not None and _serves(info.port, serving):
            live.append(info)
    return live


def stop_notebook_tensorboards(logdir: str | os.PathLike | None = None) -> int:
    """Stop the TensorBoard servers that ``%tensorboard`` started (for ``logdir``, if given).

    A server started by the ``%tensorboard`` magic keeps running after its
    notebook is closed. This terminates the live ones found by
    :func:`notebook_tensorboards` -- a server is only signalled after it has
    answered on its port, so a stale record never kills an unrelated process
    -- and returns how many it stopped.
    """
    import signal

    stopped = 0
    for info in notebook_tensorboards(logdir):
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
    it stops nothing and returns 0.
    """
    import signal

    stopped = 0
    for info in notebook_tensorboards():
        if (_environ_of(info.pid) or {}).get(SESSION_VARIABLE) == session:
            try:
                os.kill(info.pid, signal.SIGTERM)
                stopped += 1
            except OSError:
                pass
    return stopped


# --------------------------------------------------------------------------- install check
@dataclass
class InstallReport:
    """What :func:`check_install` found. ``str(report)`` is a readable summary."""

    python: str
    versions: dict[str, str | None]
    tensorboard_program: Path | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every package imports and the program is found."""
        return not self.problems

    def __str__(self) -> str:
        lines = [f"Python       {self.python}"]
        for name, version in self.versions.items():
            lines.append(f"{name:<12} {version or 'MISSING'}")
        lines.append(f"tensorboard program: {'found' if self.tensorboard_program else 'NOT FOUND'}")
        lines += [f"problem: {p}" for p in self.problems] or ["All good: ready for the TensorBoard lessons."]
        return "\n".join(lines)


def check_install(packages: tuple[str, ...] = ("torch", "torchvision", "tensorboard")) -> InstallReport:
    """Report the versions of the course's key packages and whether ``tensorboard`` runs.

    Returns:
        An :class:`InstallReport`; ``report.ok`` is False and ``report.problems``
        says what to do when something is missing. Nothing is printed.
    """
    versions: dict[str, str | None] = {}
    problems: list[str] = []
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
            problems.append(
                f"package '{name}' is not installed in this Python; run "
                f"`python -m pip install -r requirements.txt` from the project folder"
            )
    program = find_tensorboard_program()
    if program is None:
        problems.append(
            "the `tensorboard` program was not found next to this Python nor on PATH; "
            "install tensorboard or set TENSORBOARD_BINARY to its full path"
        )
    version = sys.version.split()[0]
    return InstallReport(python=version, versions=versions, tensorboard_program=program, problems=problems)
