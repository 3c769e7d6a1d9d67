"""A real TensorBoard server for checks: start on a free port, ask its HTTP API, stop.

* :class:`TensorBoardServer` -- one server for one log folder, owned by a ``with`` block;
* :func:`data_location` -- which folder does the TensorBoard at an address serve?
  (also how :mod:`.notebook` tells a live ``%tensorboard`` server from a stale record).
"""
from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
from pathlib import Path
from typing import Any

from ..checks import check_int, check_number
from .local import open_local

__all__ = ["TensorBoardServer", "data_location", "fast_loader_available", "LOAD_FAST_CHOICES"]

LOAD_FAST_CHOICES = ("auto", "true", "false")

# What TensorBoard prints once its Rust data server took over the loading, and
# what that server (started with --verbose) logs when its one load has finished.
_DATA_SERVER_NOTE = "Using experimental fast data loading logic"
_LOAD_FINISHED = "Finished load cycle"
# What TensorBoard prints once its web server is bound: "TensorBoard 2.21.0 at http://127.0.0.1:41237/ (Press
# CTRL+C to quit)". Started with --port 0, the port in that line is the one the operating system gave it.
_SERVING = re.compile(r"^TensorBoard \S+ at (http://\S+) \(Press CTRL\+C to quit\)", re.MULTILINE)
# What TensorBoard prints when it cannot bind a port it was given.
_PORT_TAKEN = "could not bind to port"


def _family(host: str) -> socket.AddressFamily:
    """AF_INET6 for an IPv6 address such as ``::1``, else AF_INET."""
    try:
        return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:  # a name such as localhost
        return socket.AF_INET


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(_family(host), socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def _not_an_address(host: str) -> str | None:
    """Why ``host`` is neither an IP address nor a host name, or ``None`` if it may be one.

    Only what can never name a machine is refused (a name this machine cannot
    resolve is left to TensorBoard): digits and dots that are no IPv4 address,
    not even for the C library (``256.1.1.1``; the last label of a host name
    is never all digits, so it is no name either), a colon outside an IPv6
    address (host names have none), and characters no host name has
    (``http://...``, spaces).
    """
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if all(c.isdigit() or c == "." for c in host):
        try:
            socket.inet_aton(host)  # the C library also reads short forms such as '127.1'
            return None
        except OSError:
            return "it is not an IPv4 address: four numbers from 0 to 255, such as '127.0.0.1'"
    if "/" in host:
        return "it is a URL or a path; give only the host part, such as '127.0.0.1' or 'localhost'"
    if host.startswith("[") and host.endswith("]"):
        return "give an IPv6 address without the brackets, such as '::1'"
    if ":" in host:
        return "it is not an IPv6 address such as '::1' (a host name has no ':'; give the port as port=...)"
    if not all(c.isalnum() or c in "-._" for c in host):
        return "a host name holds only letters, digits, '-', '.' and '_'"
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost
        return False


def data_location(url: str, *, timeout: float = 2.0, base: str | os.PathLike | None = None) -> Path | None:
    """The folder the TensorBoard at ``url`` serves, as it says itself (``/data/environment``).

    TensorBoard answers with its ``--logdir`` as it was given, so a relative
    answer means something only next to the folder the server was started in.

    Args:
        url: the server's base address, e.g. ``http://localhost:6006/``.
        timeout: seconds to wait for the answer (a positive, finite number).
        base: the folder a relative answer is read against (the server's
            working folder); default: the current folder.

    Returns:
        The served folder, absolute and resolved; ``None`` if nothing answers
        at ``url``, the answer is not TensorBoard's, or it names no folder.

    Raises:
        ValueError: ``url`` is not an ``http(s)://`` address, or a bad ``timeout``.
    """
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"url must be an http:// address such as 'http://localhost:6006/', got {url!r}")
    timeout = check_number(timeout, "timeout", positive=True, what="seconds to wait")
    try:
        with open_local(url.rstrip("/") + "/data/environment", timeout=timeout) as reply:
            environment = json.loads(reply.read().decode("utf-8"))
    except (OSError, ValueError):  # nothing answers (URLError is an OSError), or not JSON
        return None
    location = environment.get("data_location") if isinstance(environment, dict) else None
    if not isinstance(location, str) or not location:
        return None
    folder = Path(location).expanduser()
    if not folder.is_absolute():
        folder = (Path(base) if base is not None else Path.cwd()) / folder
    return folder.resolve()


def fast_loader_available() -> bool:
    """Whether a default TensorBoard here loads with its fast Rust data server (else: its Python loader).

    ``--load_fast=auto`` (the default) uses the data server only where the
    ``tensorboard-data-server`` package holds its program: pip ships it for
    Linux x86-64 (glibc 2.31 or newer) and Intel Macs, while on other systems
    (Windows, Linux on ARM, Apple-silicon Macs: tensorboard-data-server 0.7.2)
    the package is empty and TensorBoard falls back to the Python loader. The
    two differ when a run's steps go backwards (lesson
    20, section 7): the data server drops the points from the repeated step on,
    the Python loader keeps them all. :attr:`TensorBoardServer.loader` says which
    one a running server uses.
    """
    try:
        from tensorboard_data_server import server_binary
    except ImportError:
        return False
    return server_binary() is not None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: ask the kernel to send SIGTERM to this process when its parent dies."""
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class TensorBoardServer:
    """A real TensorBoard server for one log folder, on a free localhost port.

    Use it as a context manager; the server is always stopped on exit::

        with TensorBoardServer("runs/20") as tb:
            print(tb.runs())
            points = tb.scalars("y_equals_2x", "y=2x")

    On entry it starts ``python -m tensorboard.main`` and waits until the
    folder has been loaded once and ``/data/runs`` answers, so what the API
    returns is what is on disk at that moment.

    Which loader: by default the same one a learner's ``tensorboard --logdir``
    or ``%tensorboard`` uses (``--load_fast=auto``: the Rust data server from
    the ``tensorboard-data-server`` wheel where it exists, else the Python
    loader). The two differ when steps go backwards in a run: when a step
    goes back to ``s``, the Rust server drops every point it had at steps
    ``>= s`` (TensorBoard's purge of "orphaned" data after a restart) and
    keeps what follows (a run written with steps 0..99 and then 50..59 is
    served as 60 points, steps 0..59; the same 100 steps written twice as
    100), whereas the Python loader -- and
    :func:`camp_utils.tb.read_scalars`, which uses it -- keeps every point
    (110 and 200). ``load_fast="false"`` asks for the Python loader;
    :attr:`loader` says which one answered.

    Args:
        logdir: folder to serve.
        port: TCP port; default: any free one, chosen by the operating
            system when TensorBoard binds it (``--port 0``), so servers started
            at the same time never race for one. A port another program (say,
            another TensorBoard) already uses is refused. :attr:`port` is the
            port in use once started.
        host: interface to bind: a loopback address (``127.0.0.1``, ``::1``,
            ``localhost``) unless ``allow_remote=True``.
        timeout: seconds to wait for the server to answer (a positive, finite number).
        live: keep reloading the folder every 2 s (for browsing) instead of
            loading it once (for checks).
        load_fast: TensorBoard's ``--load_fast``: ``"auto"`` (TensorBoard's
            default), ``"true"`` (Rust data server or fail) or ``"false"`` (Python loader).
        allow_remote: serve on a non-loopback ``host``. TensorBoard has no
            login: every machine that can reach the port can read the runs.

    Raises:
        FileNotFoundError / NotADirectoryError: ``logdir`` is missing / a file.
        ValueError: a bad ``port``, ``timeout``, ``load_fast``, a ``host`` that
            is not an address at all (``"256.1.1.1"``), or a non-loopback
            ``host`` without ``allow_remote``.
    """

    def __init__(
        self,
        logdir: str | os.PathLike,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        timeout: float = 60.0,
        live: bool = False,
        load_fast: str = "auto",
        allow_remote: bool = False,
    ) -> None:
        self.logdir = Path(logdir)
        if not self.logdir.exists():
            raise FileNotFoundError(f"log folder '{self.logdir}' does not exist; write a run first")
        if not self.logdir.is_dir():
            raise NotADirectoryError(f"log folder '{self.logdir}' is a file, not a folder; "
                                     "pass the folder that holds the runs")
        self.timeout = check_number(timeout, "timeout", positive=True, what="seconds to wait")
        if load_fast not in LOAD_FAST_CHOICES:
            raise ValueError(f"load_fast must be one of {LOAD_FAST_CHOICES}, got {load_fast!r}")
        if not isinstance(host, str) or not host:
            raise ValueError(f"host must be a non-empty str such as '127.0.0.1', got {host!r}")
        problem = _not_an_address(host)
        if problem is not None:
            raise ValueError(f"host must be an IP address or a host name, such as '127.0.0.1' or 'localhost', "
                             f"got {host!r}: {problem}")
        if not _is_loopback(host) and not allow_remote:
            raise ValueError(
                f"host {host!r} would serve TensorBoard, which has no login, to other machines; "
                "use host='127.0.0.1', or pass allow_remote=True if that is what you want"
            )
        if port is not None:
            port = check_int(port, "port", minimum=1, maximum=65535, what="a TCP port")
        self.host = host
        self._requested_port = port
        self.port: int | None = port
        """The TCP port: the one asked for, or the one TensorBoard was given once started (None before)."""
        self.live = live
        self.load_fast = load_fast
        self.loader: str | None = None
        """``"rust"`` or ``"python"`` once started: which loader serves the data."""
        self._process: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:6123/``.

        Raises:
            RuntimeError: no port asked for and the server was never started (the port is not known yet).
        """
        if self.port is None:
            raise RuntimeError("this TensorBoard server has no port yet: the operating system gives it one "
                               "at start(); use the url inside the `with` block")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def _command(self) -> list[str]:
        if self.live:
            reload_args = ["--reload_interval", "2"]
        else:  # load once; the Python loader loads before it serves, the Rust one we wait for
            reload_args = ["--reload_interval", "0", "--reload_task", "blocking"]
        return [
            sys.executable, "-m", "tensorboard.main",
            "--logdir", str(self.logdir), "--host", self.host, "--port", str(self._requested_port or 0),
            "--load_fast", self.load_fast, "--extra_data_server_flags=--verbose", *reload_args,
        ]

    def start(self) -> TensorBoardServer:
        """Start the server and wait until it has loaded the folder and answers.

        Raises:
            RuntimeError: already running, the port is taken, or TensorBoard exited.
            TimeoutError: no answer within ``timeout`` seconds (the log is in the message).
        """
        if self.running:
            raise RuntimeError("this TensorBoard server is already running")
        self.stop()  # forget a process that exited on its own
        # No port asked for: TensorBoard binds port 0 and the operating system picks a free port in that
        # same call, so there is no moment between choosing a port and binding it for anyone to take it.
        self.port = self._requested_port
        if self.port is not None and _port_in_use(self.host, self.port):
            raise self._port_taken()
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 -- the server writes to it until stop() closes it
        linux = sys.platform.startswith("linux")
        self._process = subprocess.Popen(self._command(), stdout=self._log, stderr=subprocess.STDOUT,
                                         preexec_fn=_die_with_parent if linux else None)
        try:
            self._wait_until_loaded()
        except BaseException:  # including KeyboardInterrupt: never leave an orphan server
            self.stop()
            raise
        return self

    def _wait_until_loaded(self) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            if self._process.poll() is not None:
                code, log = self._process.returncode, self._read_log()
                if self._requested_port is not None and _PORT_TAKEN in log:
                    raise self._port_taken()  # taken after our check, before TensorBoard bound it
                raise RuntimeError(f"TensorBoard exited with code {code}:\n{log}")
            log = self._read_log(tail=False)
            # Ask nothing before TensorBoard says it serves: until then the port may not be ours (with --port 0
            # it is not even known), and something else listening there might never answer.
            serving = _SERVING.search(log)
            if serving and self.port is None:
                self.port = urllib.parse.urlsplit(serving.group(1)).port
            rust = _DATA_SERVER_NOTE in log
            loaded = not rust or self.live or _LOAD_FINISHED in log
            if serving and loaded and self._answers():
                self.loader = "rust" if rust else "python"
                return
            if time.monotonic() > deadline:
                where = self.url if self.port is not None else f"{self.host} (it never said which port)"
                raise TimeoutError(f"TensorBoard did not answer on {where} within {self.timeout} s:\n"
                                   f"{self._read_log()}")
            time.sleep(0.2)

    def _port_taken(self) -> RuntimeError:
        return RuntimeError(f"port {self.port} on {self.host} is already in use (another TensorBoard?); "
                            "pass another port, or leave port=None for a free one")

    def _answers(self) -> bool:
        """True when *our* process answers on the port (it is alive and serves our folder)."""
        serving = data_location(self.url, timeout=10.0)
        return self._process.poll() is None and serving == self.logdir.resolve()

    def _read_log(self, tail: bool = True) -> str:
        """TensorBoard's output so far. The server writes through the same file
        offset, so we read with ``pread``, which does not move it (seek elsewhere).
        """
        if self._log is None:
            return ""
        if hasattr(os, "pread"):
            size = os.fstat(self._log.fileno()).st_size
            raw = os.pread(self._log.fileno(), size, 0)
        else:  # no pread (Windows): read from the start, as TensorBoard's own tools do
            self._log.seek(0)
            raw = self._log.read()
        text = raw.decode("utf-8", "replace")
        return text[-4000:] if tail else text

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
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> TensorBoardServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def get_json(self, path: str, **params: str) -> Any:
        """GET ``<url><path>?<params>`` and decode the JSON answer."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with open_local(self.url + path.lstrip("/") + query, timeout=10) as reply:
            return json.loads(reply.read().decode("utf-8"))

    def get_text(self, path: str, **params: str) -> str:
        """GET ``<url><path>?<params>`` and return the answer as text (e.g. the Graphs plugin's graph, a pbtxt)."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with open_local(self.url + path.lstrip("/") + query, timeout=10) as reply:
            return reply.read().decode("utf-8")

    def runs(self) -> list[str]:
        """Run names the server lists (``/data/runs``)."""
        return self.get_json("data/runs")

    def scalars(self, run: str, tag: str) -> list[tuple[float, int, float]]:
        """``(wall_time, step, value)`` rows the scalars plugin serves for one series.

        The scalars plugin serves at most 1,000 points per series (a sample),
        whichever loader is used.

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
