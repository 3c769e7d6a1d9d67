"""A real TensorBoard server for checks: start on a free port, ask its HTTP API, stop."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["TensorBoardServer"]


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
