"""Execute notebooks in place, top to bottom, in a fresh kernel each (Restart & Run All).

Used by ``python course.py execute``; run it after editing a notebook so the
committed outputs are what the test suite reproduces. Each kernel starts in
the notebook's own folder, as nbval's do. Stops at the first failing cell.
TensorBoard servers that the notebooks' ``%tensorboard`` cells started are
stopped at the end.
"""
from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from camp_utils.tb import SESSION_VARIABLE, stop_session_tensorboards


def execute(path: Path, timeout: int = 900) -> float:
    """Execute the notebook at ``path`` in a fresh kernel started in its folder; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> int:
    """Execute each notebook named in ``argv`` and print its time."""
    if not argv:
        print("usage: python tools/run_notebooks.py NOTEBOOK.ipynb [...]", file=sys.stderr)
        return 2
    session = f"execute-{uuid.uuid4().hex}"
    os.environ[SESSION_VARIABLE] = session  # inherited by the kernels and their %tensorboard servers
    try:
        for name in argv:
            path = Path(name).resolve()
            print(f"executing {path.name} ...", flush=True)
            print(f"  done in {execute(path):.1f} s", flush=True)
    finally:
        # %tensorboard servers may outlive their kernels; stop the ones ours started.
        stop_session_tensorboards(session)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
