"""notebooks: wall time and peak memory of every lesson notebook, executed headless, cold and warm.

Each notebook runs top to bottom in a fresh kernel (nbclient, as ``course.py
execute`` and nbval do) on a **copy** of ``notebooks/`` in a temporary folder:
nothing is written back to the repository. Two passes over the whole suite:

* **cold** -- ``CAMP_DATA_DIR`` is a new empty folder (no cached trained
  weights: the first notebook that needs them trains them, as on a clean
  clone) and ``CAMP_RUNS_DIR`` a new empty one;
* **warm** -- the same data folder again, now populated; fresh runs folder.

``CAMP_PROGRESS=0`` as under the tests. The time is the wall time of the
execution (kernel start included). Peak memory is sampled every 50 ms as the
resident set size (RSS) of the kernel process, and of the kernel together
with the processes it started (e.g. a ``%tensorboard`` server). TensorBoard
servers the notebooks started are stopped afterwards.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
from pathlib import Path

from ._common import ROOT, Result, Skip, Target, now

NAME = "notebooks"
TITLE = "every notebook executed headless (nbclient), cold and warm"


class PeakRSS:
    """Samples, in a thread, the RSS of this process's children (the kernel) and their descendants."""

    def __init__(self, interval: float = 0.05) -> None:
        import psutil

        self._psutil = psutil
        self.interval = interval
        self.kernel = 0
        self.tree = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        psutil = self._psutil
        try:
            children = psutil.Process().children()
        except psutil.Error:
            return
        for child in children:
            try:
                kernel = child.memory_info().rss
                tree = kernel
                for grandchild in child.children(recursive=True):
                    try:
                        tree += grandchild.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                continue
            self.kernel = max(self.kernel, kernel)
            self.tree = max(self.tree, tree)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _cell_seconds(nb) -> list[tuple[float, int, str]]:
    """``(seconds, cell number, first line)`` of each executed code cell, from nbclient's timing metadata."""
    from datetime import datetime

    found = []
    for number, cell in enumerate(nb.cells, 1):
        timing = cell.get("metadata", {}).get("execution", {})
        begin, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if cell.cell_type != "code" or not begin or not end:
            continue
        seconds = (datetime.fromisoformat(end.replace("Z", "+00:00"))
                   - datetime.fromisoformat(begin.replace("Z", "+00:00"))).total_seconds()
        first = next((line.strip() for line in cell.source.splitlines()
                      if line.strip() and not line.strip().startswith("#")), "")
        found.append((seconds, number, first[:60]))
    return found


def _execute(path: Path, timeout: int) -> tuple[float, int, int, str, list]:
    """Run one notebook in place (a temporary copy): seconds, peak kernel RSS, peak tree RSS, error, cell times."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(path.parent)}})
    error = ""
    with PeakRSS() as peak:
        start = now()
        try:
            client.execute()
        except CellExecutionError as err:
            error = f"{getattr(err, 'ename', type(err).__name__)}: {getattr(err, 'evalue', '')}"[:200]
        except Exception as err:  # a timeout or a dead kernel: report it, go on with the next notebook
            error = f"{type(err).__name__}: {err}"[:200]
        seconds = now() - start
    return seconds, peak.kernel, peak.tree, error, _cell_seconds(nb)


def notebooks(selected: list[str] | None = None) -> list[Path]:
    """The English lessons, or those whose file names contain one of ``selected``."""
    found = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    if selected:
        found = [p for p in found if any(s in p.name for s in selected)]
    return found


def run(args) -> Result:
    """Execute each lesson in a fresh kernel, cold then warm; report its wall time and peak memory."""
    try:
        import nbclient  # noqa: F401
        import psutil  # noqa: F401
    except ImportError as err:
        raise Skip(f"needs nbclient and psutil (installed with requirements.txt): {err}") from None
    from camp_utils.tb import SESSION_VARIABLE, stop_session_tensorboards

    paths = notebooks(args.notebook)
    if not paths:
        raise Skip("no notebooks matched")
    passes = ["cold", "warm"] if not args.cold_only else ["cold"]
    keys = ("CAMP_DATA_DIR", "CAMP_RUNS_DIR", "CAMP_PROGRESS", SESSION_VARIABLE, "MPLBACKEND")
    saved = {k: os.environ.get(k) for k in keys}
    session = f"bench-{uuid.uuid4().hex}"
    measured: dict[str, dict[str, tuple[float, int, int, str, list]]] = {p.name: {} for p in paths}
    totals: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="camp-bench-nb-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        try:
            os.environ.update({"CAMP_DATA_DIR": str(data), "CAMP_PROGRESS": "0", SESSION_VARIABLE: session})
            os.environ.pop("MPLBACKEND", None)  # notebooks use their own inline backend
            for kind in passes:
                work = Path(tmp) / kind
                # The copy keeps the layout: kernels start in <copy>/notebooks, so "../runs/NN" is CAMP_RUNS_DIR.
                shutil.copytree(ROOT / "notebooks", work / "notebooks",
                                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
                os.environ["CAMP_RUNS_DIR"] = str(work / "runs")
                start = now()
                for path in paths:
                    measured[path.name][kind] = _execute(work / "notebooks" / path.name, args.notebook_timeout)
                    print(f"  {kind:4s} {path.name}: {measured[path.name][kind][0]:.1f} s", flush=True)
                totals[kind] = now() - start
        finally:
            stop_session_tensorboards(session)
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    mb = 2**20
    columns = ["notebook"] + [f"{k} s" for k in passes] + ["peak RSS kernel MB", "peak RSS kernel + children MB",
                                                          "errors"]
    result = Result(TITLE, columns)
    for name, by_kind in measured.items():
        errors = "; ".join(f"{k}: {v[3]}" for k, v in by_kind.items() if v[3]) or "none"
        result.rows.append([name] + [by_kind[k][0] for k in passes]
                           + [max(v[1] for v in by_kind.values()) / mb, max(v[2] for v in by_kind.values()) / mb,
                              errors])
    result.rows.append(["**suite**"] + [totals[k] for k in passes] + ["", "", ""])
    result.targets.append(Target("suite, cold", totals["cold"], 150, "s"))
    slowest = max(measured, key=lambda n: max(v[0] for v in measured[n].values()))
    result.targets.append(Target(f"slowest notebook ({slowest})",
                                 max(v[0] for v in measured[slowest].values()), 45, "s"))
    hungriest = max(measured, key=lambda n: max(v[2] for v in measured[n].values()))
    result.targets.append(Target(f"peak RSS, kernel + children ({hungriest})",
                                 max(v[2] for v in measured[hungriest].values()) / 2**30, 1.5, "GiB"))
    for name, by_kind in measured.items():
        cells = sorted(by_kind["cold"][4], reverse=True)[:3]
        if cells:
            result.notes.append(f"{name}, slowest cells (cold): "
                                + "; ".join(f"#{n} {sec:.1f} s `{first}`" for sec, n, first in cells))
    failed = [n for n, by_kind in measured.items() if any(v[3] for v in by_kind.values())]
    if failed:
        result.notes.append(f"notebooks with errors (their times are not complete runs): {', '.join(failed)}")
    result.notes.append(f"{len(paths)} notebooks; cold = empty CAMP_DATA_DIR shared by the cold pass "
                        "(what a clean clone pays), warm = the same folder populated. Times include kernel start.")
    return result
