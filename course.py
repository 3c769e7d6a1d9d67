#!/usr/bin/env python3
"""Set up and run the course with one command, on Linux, macOS and Windows.

    python course.py lab       # install everything (first time) and open JupyterLab
    python course.py test      # install everything (first time) and run the test suite
    python course.py execute   # re-run every notebook in place (Restart & Run All)
    python course.py setup     # only create/update the environment

The first call creates a virtual environment in ``.venv/`` and installs
``requirements.txt`` into it (a few minutes: PyTorch is large). Later calls
reuse it and reinstall only when ``requirements.txt`` or ``pyproject.toml``
changed. ``--no-venv`` uses the Python that runs this script instead (e.g. an
environment you manage yourself); it still installs the requirements into it.

Only the standard library is used here, so this works before anything is installed.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP_NAME = "camp-installed.sha256"
MIN_PYTHON = (3, 11)  # the pinned matplotlib, numpy and pillow need 3.11+


def venv_python(folder: Path) -> Path:
    """The Python executable inside a virtual environment, on any OS."""
    if os.name == "nt":
        return folder / "Scripts" / "python.exe"
    return folder / "bin" / "python"


def requirements_digest() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.txt", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def run(cmd: list[str], **kwargs) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def python_version(python: Path) -> tuple[int, int]:
    out = subprocess.run([str(python), "-c", "import sys; print(*sys.version_info[:2])"],
                         capture_output=True, text=True, check=True).stdout
    major, minor = out.split()
    return int(major), int(minor)


def ensure_environment(use_venv: bool) -> Path:
    """Create .venv if needed, install requirements if they changed; return its Python."""
    need = ".".join(map(str, MIN_PYTHON))
    if sys.version_info < MIN_PYTHON:
        sys.exit(f"Python {need} or newer is needed; this is {sys.version.split()[0]}. "
                 "On Windows try `py -3.11 course.py ...`.")
    if use_venv:
        python = venv_python(VENV)
        if python.exists() and python_version(python) < MIN_PYTHON:
            print(f"{VENV.name}/ was made with an older Python; making it again with this one ...", flush=True)
            shutil.rmtree(VENV)
        if not python.exists():
            print(f"Creating a virtual environment in {VENV.name}/ ...", flush=True)
            venv.EnvBuilder(with_pip=True).create(VENV)
        stamp = VENV / STAMP_NAME
    else:
        python = Path(sys.executable)
        stamp = ROOT / ".camp-installed.sha256"
    wanted = requirements_digest()
    if not stamp.exists() or stamp.read_text().strip() != wanted:
        print("Installing the course's requirements (the first time takes a few minutes) ...", flush=True)
        try:
            run([python, "-m", "pip", "install", "--disable-pip-version-check", "-r", ROOT / "requirements.txt"],
                cwd=ROOT)
        except subprocess.CalledProcessError:
            sys.exit("\nInstalling the requirements failed (see pip's message above). Fix the cause "
                     "(network, disk space, Python version) and run the same command again; "
                     f"to start from scratch, delete the {VENV.name} folder first.")
        stamp.write_text(wanted)
    return python


def course_env() -> dict[str, str]:
    env = dict(os.environ)
    # Notebooks must use their own (inline) matplotlib backend.
    env.pop("MPLBACKEND", None)
    return env


def cmd_lab(python: Path, extra: list[str]) -> int:
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        print("Running as root (e.g. in a container): passing --allow-root to JupyterLab.", flush=True)
        extra = [*extra, "--allow-root"]
    return subprocess.call([str(python), "-m", "jupyterlab", "--notebook-dir", str(ROOT / "notebooks"), *extra],
                           cwd=ROOT, env=course_env())


def cmd_test(python: Path, extra: list[str]) -> int:
    env = course_env()
    env["CAMP_PROGRESS"] = "0"  # progress bars are volatile text; nbval compares outputs
    return subprocess.call([str(python), "-m", "pytest", *extra], cwd=ROOT, env=env)


def cmd_execute(python: Path, extra: list[str]) -> int:
    env = course_env()
    env["CAMP_PROGRESS"] = "0"  # commit notebooks without progress-bar widgets (see README)
    notebooks = extra or sorted(str(p) for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
    return subprocess.call([str(python), str(ROOT / "tools" / "run_notebooks.py"), *notebooks], cwd=ROOT, env=env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["lab", "test", "execute", "setup"],
                        help="lab: open JupyterLab; test: run the test suite; execute: re-run notebooks in "
                             "place; setup: only install. Other arguments go to JupyterLab / pytest / the executor.")
    parser.add_argument("--no-venv", action="store_true", help="use this Python instead of .venv/")
    ns, extra = parser.parse_known_args()
    python = ensure_environment(not ns.no_venv)
    if ns.command == "setup":
        return 0
    return {"lab": cmd_lab, "test": cmd_test, "execute": cmd_execute}[ns.command](python, extra)


if __name__ == "__main__":
    sys.exit(main())
