#!/usr/bin/env python3
"""Set up and run the course with one command, on Linux, macOS and Windows.

    python course.py lab        # install everything (first time) and open JupyterLab on your copies
    python course.py lab --lang zh  # the same for the Chinese edition (中文版), JupyterLab in Chinese
    python course.py refresh 20 # replace your copy of lesson 20 by the course's (yours is kept aside)
    python course.py test       # install everything + test tools (first time), ruff, then the whole test suite
    python course.py test --portable  # the notebooks again under other CPU kernel settings (see PORTABLE)
    python course.py execute    # re-run every notebook in place (Restart & Run All; for course authors)
    python course.py bench      # run the benchmarks (installs benchmarks/requirements-bench.txt first)
    python course.py setup      # only create/update the environment
    python course.py doctor     # what on this machine could get in the way, each with its fix (installs nothing)

The first call creates a virtual environment in ``.venv/`` and installs
``requirements.txt`` into it (a few minutes: PyTorch is large); ``test`` also
installs ``requirements-test.txt`` (the browser-test tool). Later calls reuse
it and reinstall only when those files or ``pyproject.toml`` changed.
``--no-venv`` uses the Python that runs this script instead (e.g. an
environment you manage yourself); it still installs the requirements into it.

Your work lives in ``my_notebooks/`` (not tracked by git): ``lab`` copies each
lesson from ``notebooks/`` there the first time it sees it and never
overwrites a copy; ``refresh`` replaces one after moving yours aside. The tests
always run the committed ``notebooks/``, so your edits and JupyterLab's
autosave can neither break them nor conflict with a ``git pull``.

Only the standard library is used here, so this works before anything is installed.
"""
from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
COURSE_NOTEBOOKS = ROOT / "notebooks"    # the course as committed; the tests run these
LEARNER_NOTEBOOKS = ROOT / "my_notebooks"  # the learner's own copies; git-ignored
STAMP_NAME = "camp-installed.sha256"
TEST_STAMP_NAME = "camp-test-installed.sha256"
MIN_PYTHON = (3, 11)  # the pinned matplotlib, numpy and pillow need 3.11+
# JupyterLab settings defaults for the course (a learner's own settings still win).
# "Would you like to get notified about Jupyter news?" would cover the inline
# TensorBoard frame, and the course works offline: no news, no update check.
LAB_SETTINGS_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}
LAB_OVERRIDES_FILE = "camp-course.json"  # in <JupyterLab app dir>/settings/overrides.d/
# `lab --lang zh` (中文版): my_notebooks/zh/ with JupyterLab's interface in Chinese. This folder holds
# labconfig/default_setting_overrides.json, the default locale "zh_CN" of the translation extension, read
# through JUPYTER_CONFIG_PATH for that launch only (a learner's own Settings -> Language still wins).
ZH_LAB_CONFIG = ROOT / "translations" / "zh" / "jupyterlab"


def venv_python(folder: Path) -> Path:
    """The Python executable inside a virtual environment, on any OS."""
    if os.name == "nt":
        return folder / "Scripts" / "python.exe"
    return folder / "bin" / "python"


def requirements_digest(names: tuple[str, ...] = ("requirements.txt", "pyproject.toml")) -> str:
    """A hash of the files that decide what is installed, to tell when ``.venv`` needs a new install."""
    digest = hashlib.sha256()
    for name in names:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def install_if_changed(python: Path, stamp: Path, requirements: str, digest_of: tuple[str, ...]) -> None:
    """pip-install ``requirements`` unless ``stamp`` records the current digest of ``digest_of``."""
    wanted = requirements_digest(digest_of)
    if stamp.exists() and stamp.read_text().strip() == wanted:
        return
    print(f"Installing {requirements} (the first time takes a few minutes) ...", flush=True)
    try:
        run([python, "-m", "pip", "install", "--disable-pip-version-check", "-r", ROOT / requirements], cwd=ROOT)
    except subprocess.CalledProcessError:
        sys.exit("\nInstalling the requirements failed (see pip's message above). Fix the cause "
                 "(network, disk space, Python version) and run the same command again; "
                 f"to start from scratch, delete the {VENV.name} folder first.")
    stamp.write_text(wanted)


def run(cmd: list[str], **kwargs) -> None:
    """Print ``cmd`` as a learner would type it, then run it; a failure raises."""
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def python_version(python: Path) -> tuple[int, int]:
    """The ``(major, minor)`` version of the interpreter at ``python``."""
    out = subprocess.run([str(python), "-c", "import sys; print(*sys.version_info[:2])"],
                         capture_output=True, text=True, check=True).stdout
    major, minor = out.split()
    return int(major), int(minor)


def stamp_folder(python: Path) -> Path:
    """Where the install stamps of ``python``'s environment live: inside that environment (its ``sys.prefix``).

    A stamp says "this environment has these requirements installed", so it must belong to the environment:
    a stamp kept in the project folder would make ``--no-venv setup`` in a second venv or conda environment
    believe it is already done. Where the environment cannot be written (a system Python), stamps go to
    ``.camp-stamps/<digest of its prefix>/`` in the project folder, one folder per environment.
    """
    prefix = Path(subprocess.run([str(python), "-c", "import sys; print(sys.prefix)"],
                                 capture_output=True, text=True, check=True).stdout.strip())
    if os.access(prefix, os.W_OK):
        return prefix
    folder = ROOT / ".camp-stamps" / hashlib.sha256(str(prefix.resolve()).encode()).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def ensure_environment(use_venv: bool, for_tests: bool = False) -> Path:
    """Create .venv if needed, install requirements if they changed; return its Python.

    ``for_tests`` also installs ``requirements-test.txt`` (tools only the tests need).
    """
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
    else:
        python = Path(sys.executable)
    stamps = stamp_folder(python)
    base = ("requirements.txt", "pyproject.toml")
    install_if_changed(python, stamps / STAMP_NAME, "requirements.txt", base)
    if for_tests:
        install_if_changed(python, stamps / TEST_STAMP_NAME, "requirements-test.txt",
                           (*base, "requirements-test.txt", "requirements-site.txt"))
    return python


def course_env() -> dict[str, str]:
    """The environment the course's programs run in: this one, with the course's settings for notebooks."""
    env = dict(os.environ)
    # Notebooks must use their own (inline) matplotlib backend.
    env.pop("MPLBACKEND", None)
    return env


_SKIP = {".ipynb_checkpoints", "__pycache__", "conftest.py"}


def _course_files(course: Path) -> list[Path]:
    """Files of the course folder, relative to it (no checkpoints, caches or hidden files)."""
    return sorted(p.relative_to(course) for p in course.rglob("*")
                  if p.is_file() and not any(part in _SKIP or part.startswith(".")
                                             for part in p.relative_to(course).parts))


def copy_new_lessons(course: Path = COURSE_NOTEBOOKS, learner: Path = LEARNER_NOTEBOOKS) -> list[Path]:
    """Copy every file of ``course`` that ``learner`` does not have yet; never overwrite one.

    Runs at each ``course.py lab``: the first time it makes the learner's
    folder, later it only adds lessons (and pictures) that a course update
    brought. Returns the copied files, relative to the folders.
    """
    copied = []
    for rel in _course_files(course):
        target = learner / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(course / rel, target)
            copied.append(rel)
    return copied


def refresh_lessons(names: list[str], course: Path = COURSE_NOTEBOOKS,
                    learner: Path = LEARNER_NOTEBOOKS) -> list[tuple[Path, Path | None]]:
    """Replace the learner's copies of ``names`` by the course's; keep each changed copy aside.

    A name is a path in ``course`` or the start of one (``20`` means
    ``20_*.ipynb``, ``zh/21`` the Chinese edition's ``zh/21_*.ipynb``). A
    learner's copy that differs from the course's is first renamed to
    ``<stem>.mine-<date>-<time><suffix>`` beside it (``-2``, ``-3``, ...
    added if that name is taken), so nothing is ever lost. Returns
    ``(refreshed file, where the learner's copy went or None)``.

    Raises:
        ValueError: a name matches no course file, or more than one.
    """
    if learner.exists() and not learner.is_dir():
        raise ValueError(f"{learner} is a file, not a folder: your copies of the lessons live in a folder of that "
                         "name. Rename or move that file, then run the command again")
    files = _course_files(course)
    chosen: list[Path] = []
    for name in names:
        wanted = Path(name).as_posix()
        for folder in (f"{course.name}/", f"{learner.name}/"):
            wanted = wanted.removeprefix(folder)
        exact = [rel for rel in files if rel.as_posix() == wanted]
        matches = exact or [rel for rel in files if rel.as_posix().startswith(wanted) and rel.suffix == ".ipynb"]
        if len(matches) != 1:
            found = ", ".join(str(m) for m in matches) or "nothing"
            raise ValueError(f"'{name}' should name one file in {course.name}/ (e.g. 20 or "
                             f"20_tensorboard_install.ipynb); it matches {found}")
        chosen.append(matches[0])
    done = []
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for rel in chosen:
        target, kept = learner / rel, None
        for parent in target.relative_to(learner).parents:
            if parent != Path(".") and (learner / parent).exists() and not (learner / parent).is_dir():
                raise ValueError(f"{learner / parent} is a file, not a folder; "
                                 "rename or move it, then run the command again")
        if target.is_dir():
            raise ValueError(f"{target} is a folder, not your copy of the lesson; rename or move it first")
        if target.exists() and not filecmp.cmp(course / rel, target, shallow=False):
            kept = _unused_name(target, stamp)
            target.rename(kept)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(course / rel, target)
        done.append((rel, kept))
    return done


def _unused_name(target: Path, stamp: str) -> Path:
    """``<stem>.mine-<stamp><suffix>`` beside ``target``, with ``-2``, ``-3``, ... if that name is taken.

    Two refreshes within the same second must not give the second kept copy
    the first one's name: a kept copy is never overwritten.
    """
    candidate, n = target.with_name(f"{target.stem}.mine-{stamp}{target.suffix}"), 1
    while candidate.exists():
        n += 1
        candidate = target.with_name(f"{target.stem}.mine-{stamp}-{n}{target.suffix}")
    return candidate


def lab_app_dir(python: Path) -> Path:
    """JupyterLab's application folder for ``python``'s environment (``$JUPYTERLAB_DIR`` wins)."""
    out = subprocess.run([str(python), "-c", "from jupyterlab.commands import get_app_dir; print(get_app_dir())"],
                         capture_output=True, text=True, check=True).stdout
    return Path(out.strip())


def write_lab_settings(app_dir: Path) -> Path:
    """Install the course's JupyterLab setting defaults (news off) as an overrides.d file.

    JupyterLab reads ``<app dir>/settings/overrides.d/*.json`` as defaults
    for its settings; a learner's own choice in Settings still wins.
    """
    target = app_dir / "settings" / "overrides.d" / LAB_OVERRIDES_FILE
    text = json.dumps(LAB_SETTINGS_OVERRIDES, indent=2) + "\n"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return target


def lab_command(python: Path, notebook_dir: Path, extra: list[str]) -> list[str]:
    """The command that starts JupyterLab for the course (``--allow-root`` added for root).

    Run it *in* ``notebook_dir``: a terminal opened in JupyterLab then starts in the folder its file
    browser shows (``my_notebooks/``, or ``my_notebooks/zh/`` for the Chinese edition), whichever way it
    is opened. (Jupyter's terminal service reads the folder the Launcher sends against its own working
    folder first, and File > New > Terminal sends none: started elsewhere, the terminals of one
    JupyterLab would open in different places.)
    """
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        extra = [*extra, "--allow-root"]
    return [str(python), "-m", "jupyterlab", "--notebook-dir", str(notebook_dir), *extra]


# A terminal of the course's JupyterLab runs the course's python, tensorboard and torchrun (lesson 20 types
# them there). JupyterLab's terminals inherit its environment, so PATH starts with the course environment's
# programs. Jupyter starts a *login* shell when its own output is not a terminal (an IDE, a desktop launcher),
# and a login shell's /etc/profile (Debian, Ubuntu) sets PATH anew; and ~/.bashrc or ~/.zshrc may activate
# another environment (conda's base). So the terminal runs the learner's shell interactively with the rc files
# of tools/terminal/, which read the learner's own and then put the course's programs first.
TERMINAL_RC = ROOT / "tools" / "terminal"


def scripts_folder(python: Path) -> Path:
    """The folder that holds the console programs (tensorboard, torchrun, ...) of ``python``'s environment."""
    if Path(python) == Path(sys.executable):
        return Path(sysconfig.get_path("scripts"))
    return Path(python).parent  # a virtual environment: bin/ (Scripts/ on Windows), beside its python


def terminal_env(python: Path, env: dict[str, str]) -> dict[str, str]:
    """``env`` for JupyterLab, so that its terminals run the course's programs first (see :data:`TERMINAL_RC`)."""
    scripts = str(scripts_folder(python))
    env = {**env, "CAMP_SCRIPTS": scripts, "PATH": os.pathsep.join(p for p in (scripts, env.get("PATH")) if p)}
    if (Path(scripts).parent / "pyvenv.cfg").exists():
        env["VIRTUAL_ENV"] = str(Path(scripts).parent)
    if Path(env.get("SHELL", "")).name == "zsh":
        env["ZDOTDIR"] = str(TERMINAL_RC / "zsh")  # its .zshenv and .zshrc read the learner's own
    return env


def terminal_args(env: dict[str, str]) -> list[str]:
    """JupyterLab options that start each terminal's shell as :data:`TERMINAL_RC` explains (none on Windows,
    where PowerShell and cmd keep the PATH they inherit).
    """
    if os.name == "nt":
        return []
    shell = env.get("SHELL") or shutil.which("sh") or "/bin/sh"
    command = [shell, "-i"]
    if Path(shell).name == "bash":
        command = [shell, "--rcfile", str(TERMINAL_RC / "bashrc"), "-i"]
    return [f"--ServerApp.terminado_settings=shell_command={shlex.join(command)}"]


def default_interrupt() -> None:
    """Run in a child process before it starts (POSIX): Ctrl+C back to its default, which interrupts.

    A program started in the background by a non-interactive shell (``python course.py lab &``,
    ``nohup``, some CI runners) inherits SIGINT *ignored*, and so would every program run in
    JupyterLab's terminals: Ctrl+C would not stop ``tensorboard`` or ``torchrun`` there, although
    lesson 20 says it does.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_foreground(command: list[str], **kwargs) -> int:
    """Run ``command`` and return its exit status, leaving Ctrl+C to it while it runs.

    Ctrl+C reaches every process of the terminal. ``subprocess.call`` would turn it into a
    ``KeyboardInterrupt`` here and kill the program a quarter of a second later: JupyterLab, which
    asks "Shut down this Jupyter server (y/[n])?" on the first Ctrl+C and stops cleanly on the second,
    would be killed mid-question and a traceback printed. So this process ignores SIGINT until the
    program has ended; the program itself gets the default Ctrl+C (:func:`interruptible`).
    """
    import signal

    process = subprocess.Popen(command, **kwargs, **interruptible())
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return process.wait()
    finally:
        signal.signal(signal.SIGINT, previous)


def interruptible() -> dict:
    """``subprocess`` keyword arguments that give the child the default Ctrl+C (see :func:`default_interrupt`)."""
    return {"preexec_fn": default_interrupt} if os.name == "posix" else {}


def cmd_lab(python: Path, extra: list[str], lang: str = "en") -> int:
    """``python course.py lab``: copy new lessons into the learner's folder and open JupyterLab there."""
    copied = copy_new_lessons()
    if copied:
        print(f"Copied {len(copied)} course file(s) into {LEARNER_NOTEBOOKS.name}/ -- your own copies to "
              f"work in (not tracked by git; the course stays in {COURSE_NOTEBOOKS.name}/).", flush=True)
    try:
        write_lab_settings(lab_app_dir(python))
    except (OSError, subprocess.CalledProcessError) as error:  # never stop the learner over a pop-up
        print(f"Note: could not turn JupyterLab's news pop-up off ({error}).", flush=True)
    env = course_env()
    env["CAMP_LANG"] = lang  # camp_utils' messages (check_install, check_homework, ...) in the learner's language
    if lang == "zh":  # open my_notebooks/zh/ (its pictures are in ../img), JupyterLab in Chinese
        extra = ["--LabApp.default_url=/lab/tree/zh", *extra]
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
            p for p in (str(ZH_LAB_CONFIG), env.get("JUPYTER_CONFIG_PATH")) if p)
    env = terminal_env(python, env)
    if not any(arg.startswith("--ServerApp.terminado_settings") for arg in extra):
        extra = [*terminal_args(env), *extra]
    command = lab_command(python, LEARNER_NOTEBOOKS, extra)
    if "--allow-root" in command and "--allow-root" not in extra:
        print("Running as root (e.g. in a container): passing --allow-root to JupyterLab.", flush=True)
    return run_foreground(command, cwd=LEARNER_NOTEBOOKS, env=env)


def cmd_refresh(python: Path, extra: list[str]) -> int:
    """``python course.py refresh LESSON``: put the course's lesson in place of the learner's (kept beside it)."""
    if not extra:
        print("usage: python course.py refresh LESSON [...]   e.g. refresh 20  (a number or a file name)",
              file=sys.stderr)
        return 2
    try:
        done = refresh_lessons(extra)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    for rel, kept in done:
        where = (f"; your copy was kept as {LEARNER_NOTEBOOKS.name}/{kept.relative_to(LEARNER_NOTEBOOKS)}"
                 if kept else "")
        print(f"{LEARNER_NOTEBOOKS.name}/{rel} is now the course's version{where}", flush=True)
    return 0


# `test --portable`: the same suite under kernel settings other than this machine's default. Floats
# round differently on another CPU (AVX-512 vs AVX2 vs plain C++ kernels, one thread vs several), so
# these stand in for "another learner's computer": every compared output and every assertion must hold
# under each. Each setting gets its own cache folder, so the cached GapNet is trained under it too.
PORTABLE = {
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "generic": {"ATEN_CPU_CAPABILITY": "default"},
    "1thread": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
}


def portable_settings(value: str) -> list[str]:
    """``"all"`` or a comma-separated list of names in :data:`PORTABLE`, checked."""
    names = list(PORTABLE) if value == "all" else [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in PORTABLE]
    if unknown or not names:
        raise SystemExit(f"--portable: unknown setting(s) {', '.join(unknown) or repr(value)}; "
                         f"expected 'all' or a comma-separated list of {', '.join(PORTABLE)}")
    return names


# `course.py test` sets this to 1 for the pass that runs notebooks/zh/ (read by notebooks/conftest.py).
ZH_TEST_VARIABLE = "CAMP_TEST_ZH"
# The lessons of this course (../shared/SYLLABUS.md): each folder below holds one notebook per lesson, and a full
# run must collect every one of them -- a renamed or lost notebook fails the run instead of shrinking it.
LESSONS = ("19", "20", "21", "22", "23")
NOTEBOOK_FOLDERS = ("notebooks", "notebooks/solutions", "notebooks/zh", "notebooks/zh/solutions")
EXPECT_VARIABLE = "CAMP_EXPECT_NOTEBOOKS"  # folders whose every lesson a pass must collect (read by conftest.py)
# The full run's two passes. Every notebook runs once, the Chinese edition (lessons and solutions) standing in for
# the English one under the other kernel setting: tests/test_zh_edition.py proves that its code is the English code
# with translated comments and its outputs are the same, so each (code, kernel setting) pair and every working
# folder run once.
FULL_RUN = (
    # (name, portable setting or None for this machine's own kernels, pytest arguments, folders it must collect)
    ("native", None, [], ("notebooks", "notebooks/solutions")),
    ("generic", "generic", ["notebooks/zh"], ("notebooks/zh", "notebooks/zh/solutions")),
)


def missing_notebooks(collected, folders=NOTEBOOK_FOLDERS, root: Path = ROOT) -> list[str]:
    """The lessons of :data:`LESSONS` that ``collected`` (notebook paths) lacks in each of ``folders``.

    A folder must hold exactly one ``NN_*.ipynb`` per lesson among the collected
    paths; what is missing (or doubled) is named as ``folder/NN_*.ipynb``.
    """
    paths = [Path(p).resolve() for p in collected]
    missing = []
    for folder in folders:
        inside = (root / folder).resolve()
        for lesson in LESSONS:
            if len([p for p in paths if p.parent == inside and p.name.startswith(f"{lesson}_")]) != 1:
                missing.append(f"{folder}/{lesson}_*.ipynb")
    return missing


# What `course.py test` lints (with the rules in pyproject.toml) before the full suite runs.
LINTED = ("camp_utils", "tests", "tools", "course.py", "benchmarks")


def cmd_lint(python: Path) -> int:
    """``ruff check`` the course's Python code; its exit status (0: no findings)."""
    print(f"== ruff check {' '.join(LINTED)}", flush=True)
    code = subprocess.call([str(python), "-m", "ruff", "check", *LINTED], cwd=ROOT, env=course_env())
    if code != 0:
        print("== ruff found problems (above); the tests did not run. Fix them, or run a selection "
              "(`python course.py test tests`), which skips the linter", flush=True)
    return code


def portable_env(env: dict[str, str], name: str) -> dict[str, str]:
    """``env`` with the kernel setting ``name`` of :data:`PORTABLE` and that setting's own cache folder."""
    return {**env, **PORTABLE[name], "CAMP_CACHE_DIR": str(ROOT / "data" / "portable" / name)}


# The full run and the --portable runs spread their test files over this many pytest worker processes
# (pytest-xdist; default: one per core, at most MAX_TEST_WORKERS), each file -- a notebook's cells in one kernel --
# on one worker, and give each worker cores // workers threads. Most of a run is a single thread waiting (a
# browser, a server, a kernel starting) or small tensors whose second thread buys little, so two files at once on
# two cores take about 0.65 of the time of one after the other (measured: README, Testing).
WORKERS_VARIABLE = "CAMP_TEST_WORKERS"
MAX_TEST_WORKERS = 4  # memory: lesson 19 with its two training processes peaks at about 4.4 GiB


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity where the system has one, else all)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def pass_workers(env: dict[str, str]) -> int:
    """How many pytest workers a full or portable run uses: ``$CAMP_TEST_WORKERS``, else cores (at most 4)."""
    value = env.get(WORKERS_VARIABLE, "").strip()
    if not value:
        return min(usable_cores(), MAX_TEST_WORKERS)
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"{WORKERS_VARIABLE} must be a whole number of workers, 1 or more; got {value!r}")
    return int(value)


def parallel_pass(env: dict[str, str], args: list[str], workers: int) -> tuple[dict[str, str], list[str]]:
    """A pass's environment and pytest arguments for ``workers`` processes (unchanged for one).

    Each worker gets ``cores // workers`` threads (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``) unless the pass
    sets them itself (the ``1thread`` setting); oversubscribed threads would make every worker far slower.
    ``--dist loadfile`` keeps each file on one worker: a notebook's cells share one kernel, in order.
    """
    if workers <= 1:
        return env, args
    threads = str(max(1, usable_cores() // workers))
    env = {**env, "OMP_NUM_THREADS": env.get("OMP_NUM_THREADS", threads),
           "MKL_NUM_THREADS": env.get("MKL_NUM_THREADS", threads)}
    return env, ["-n", str(workers), "--dist", "loadfile", *args]


# Train (or check) the cached models of a pass's kernel setting before its workers start, so that two notebooks
# that need one at the same moment load one model instead of training two.
WARM_MODELS = ("from camp_utils.weights import trained_gapnet; trained_gapnet()",
               "from camp_utils.weights import trained_vit; trained_vit()")


def warm_models(python: Path, env: dict[str, str]) -> int:
    """Train the missing cached models of :data:`WARM_MODELS`, one process each, side by side.

    The cores are shared between the processes (a setting that fixes the
    threads keeps its own). On 2 cores this took about as long as training
    them one after the other with all threads (native kernels 52 s against
    62 s, generic 95 s against 81 s, one measurement each): the ViT, whose
    matrix products gain more from a second thread, sets the time. Returns
    the highest exit status.
    """
    threads = str(max(1, usable_cores() // len(WARM_MODELS)))
    env = {**env, "OMP_NUM_THREADS": env.get("OMP_NUM_THREADS", threads),
           "MKL_NUM_THREADS": env.get("MKL_NUM_THREADS", threads)}
    processes = [subprocess.Popen([str(python), "-c", code], cwd=ROOT, env=env) for code in WARM_MODELS]
    return max(process.wait() for process in processes)


def cmd_test(python: Path, extra: list[str], portable: str | None = None) -> int:
    """Run pytest; without arguments, the full run: ruff, then the two passes of :data:`FULL_RUN`.

    The full run executes every notebook of the course once: the unit tests, the
    English lessons and solutions under this machine's own kernels, then the
    Chinese lessons and solutions (from ``notebooks/zh/``, ``CAMP_TEST_ZH=1``)
    under PyTorch's plain C++ kernels (``generic``), which round differently on
    every CPU. Each pass fails if it collected fewer notebooks than the course
    has. A selection (paths, ``-k``, ...) runs pytest once, as given; ``--portable``
    runs the given tests (default: ``notebooks``) once under each named setting.
    The full run and ``--portable`` spread each pass over several
    processes (:func:`pass_workers`, :func:`parallel_pass`), after training the pass's GapNet and ViT if its
    cache has none (:func:`warm_models`).
    """
    env = course_env()
    env["CAMP_PROGRESS"] = "0"  # progress bars are volatile text; nbval compares outputs
    env.pop("CAMP_LANG", None)  # both editions' committed outputs hold camp_utils' English messages
    env.pop(ZH_TEST_VARIABLE, None)
    env.pop(EXPECT_VARIABLE, None)
    if portable is None and extra:
        return subprocess.call([str(python), "-m", "pytest", *extra], cwd=ROOT, env=env)
    if portable is None:
        lint = cmd_lint(python)
        if lint != 0:
            return lint
        passes = [(name, setting, args, {EXPECT_VARIABLE: ",".join(folders),
                                         **({ZH_TEST_VARIABLE: "1"} if "notebooks/zh" in args else {})})
                  for name, setting, args, folders in FULL_RUN]
    else:
        passes = [(name, name, extra or ["notebooks"], {}) for name in portable_settings(portable)]
    workers = pass_workers(env)
    failed = []
    for name, setting, args, more in passes:
        setting_env = {**(portable_env(env, setting) if setting else env), **more}
        pass_env, args = parallel_pass(setting_env, args, workers)
        described = " ".join(f"{k}={v}" for k, v in pass_env.items() if env.get(k) != v)
        print(f"== pass '{name}': pytest {' '.join(args)}" + (f" ({described})" if described else ""), flush=True)
        if workers > 1 and warm_models(python, setting_env) != 0:
            print(f"== pass '{name}': training the cached models failed; running the pass anyway", flush=True)
        if subprocess.call([str(python), "-m", "pytest", *args], cwd=ROOT, env=pass_env) != 0:
            failed.append(name)
    if failed:
        print(f"== failed: the pass(es) {', '.join(failed)}", flush=True)
        return 1
    print(f"== passed: {', '.join(name for name, *_ in passes)}", flush=True)
    return 0


def cmd_execute(python: Path, extra: list[str]) -> int:
    """``python course.py execute``: run notebooks top to bottom and save them with their outputs."""
    env = course_env()
    env["CAMP_PROGRESS"] = "0"  # commit notebooks without progress-bar widgets (see README)
    notebooks = extra or sorted(str(p) for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
    return subprocess.call([str(python), str(ROOT / "tools" / "run_notebooks.py"), *notebooks], cwd=ROOT, env=env)


def cmd_site(python: Path, extra: list[str]) -> int:
    """Install the site-only tools (Sphinx, MyST-NB, ...) if needed and build the website (tools/build_site.py)."""
    stamp = stamp_folder(python) / "camp-site-installed.sha256"
    install_if_changed(python, stamp, "requirements-site.txt", ("requirements.txt", "pyproject.toml",
                                                                "requirements-site.txt"))
    return subprocess.call([str(python), str(ROOT / "tools" / "build_site.py"), *extra], cwd=ROOT, env=course_env())


def cmd_bench(python: Path, extra: list[str]) -> int:
    """Install the bench-only extras (pytorch-grad-cam, ...) if needed and run ``python -m benchmarks``."""
    stamp = stamp_folder(python) / "camp-bench-installed.sha256"
    install_if_changed(python, stamp, "benchmarks/requirements-bench.txt",
                       ("requirements.txt", "pyproject.toml", "benchmarks/requirements-bench.txt"))
    return subprocess.call([str(python), "-m", "benchmarks", *extra], cwd=ROOT, env=course_env())


def package_index(env: dict[str, str] | None = None) -> str:
    """The package index pip installs from: ``$PIP_INDEX_URL``, else pip's configured index, else PyPI."""
    env = os.environ if env is None else env
    if env.get("PIP_INDEX_URL"):
        return env["PIP_INDEX_URL"]
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                             capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return "https://pypi.org/simple"


# `doctor`'s own lines (before any install, so not camp_utils.messages): English, or Chinese with
# CAMP_LANG=zh (`doctor --lang zh` sets it, for camp_utils.doctor's lines too). Same layout as
# camp_utils.doctor.Finding: "[{status:7}] ..." in English, two-character status words in Chinese.
DOCTOR_TEXTS = {
    "line_ok": {"en": "[ok     ] {detail}", "zh": "[正常] {detail}"},
    "line_note": {"en": "[note   ] {detail}", "zh": "[提示] {detail}"},
    "line_problem": {"en": "[problem] {detail}", "zh": "[问题] {detail}"},
    "fix": {"en": "          fix: {fix}", "zh": "       解决办法：{fix}"},
    "python_old": {"en": "Python {version} runs course.py; the course needs {need} or newer",
                   "zh": "运行 course.py 的是 Python {version}；课程需要 Python {need} 或更新的版本"},
    "python_old_fix": {"en": "install Python {need}+ (python.org); on Windows `py -{need} course.py doctor`",
                       "zh": "请安装 Python {need}+（python.org）；在 Windows 上可以用 `py -{need} course.py doctor`"},
    "python_ok": {"en": "Python {version} ({executable})", "zh": "Python {version}（{executable}）"},
    "index_ok": {"en": "the package index {url} answers", "zh": "包索引 {url} 可以连上"},
    "index_down": {"en": "the package index {url} does not answer ({reason}): setup and new installs need it; "
                         "the course, once installed, runs offline",
                   "zh": "包索引 {url} 连不上（{reason}）：安装课程环境和安装新的包都需要它；课程装好之后可以离线使用"},
    "index_down_fix": {"en": "connect, or use a mirror you can reach, e.g. "
                             "PIP_INDEX_URL=https://pypi.tuna.tsinghua.edu.cn/simple "
                             "(README.zh-CN.md shows it for bash/zsh, cmd and PowerShell)",
                       "zh": "请联网，或者使用一个你能连上的镜像，例如 PIP_INDEX_URL=https://pypi.tuna.tsinghua.edu.cn/simple"
                             "（README.zh-CN.md 里有 bash/zsh、cmd 和 PowerShell 的写法）"},
    "no_env": {"en": "no course environment yet ({folder}/ is missing)", "zh": "还没有课程环境（{folder}/ 不存在）"},
    "no_env_fix": {"en": "python course.py setup (or lab, which sets up first)",
                   "zh": "python course.py setup（或者 lab，它会先安装环境）"},
    "env_failed": {"en": "(the environment's checks above end with their own count: problems there are marked "
                         "[problem]; an error instead means the course's packages are not installed: python course.py "
                         "setup)",
                   "zh": "（上面课程环境里的检查以它们自己的统计结尾：那里的问题标为 [问题]；如果看到的是报错，"
                         "说明课程需要的包还没有安装：python course.py setup）"},
}


def doctor_language(env: dict[str, str] | None = None) -> str:
    """``"zh"`` where ``$CAMP_LANG`` is Simplified Chinese (``zh``, ``zh_CN``, ``zh-Hans``, ...), else ``"en"``.

    The same values as camp_utils.messages.language(), which also warns about an unknown one.
    """
    value = (os.environ if env is None else env).get("CAMP_LANG", "").strip().lower()
    base = value.replace("-", "_").split(".")[0].split("@")[0]  # zh_CN.UTF-8 -> zh_cn
    return "zh" if base in ("zh", "zh_cn", "zh_sg", "zh_hans", "zh_hans_cn") else "en"


def doctor_text(key: str, lang: str = "en", **fields) -> str:
    """``DOCTOR_TEXTS[key]`` in ``lang`` with ``fields`` filled in."""
    return DOCTOR_TEXTS[key][lang].format(**fields)


def doctor_line(status: str, detail: str, fix: str = "", lang: str = "en") -> str:
    """One finding as ``doctor`` prints it (the layout of camp_utils.doctor.Finding, without a check name)."""
    text = doctor_text(f"line_{status}", lang, detail=detail)
    return text + ("\n" + doctor_text("fix", lang, fix=fix) if fix else "")


def index_finding(url: str, timeout: float = 8.0, lang: str | None = None) -> tuple[str, str, str]:
    """Whether the package index at ``url`` answers, as ``(status, detail, fix)`` in ``lang`` (``$CAMP_LANG``'s)."""
    import urllib.error
    import urllib.request

    lang = doctor_language() if lang is None else lang
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/", timeout=timeout):
            pass
        return "ok", doctor_text("index_ok", lang, url=url), ""
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return "problem", doctor_text("index_down", lang, url=url, reason=reason), doctor_text("index_down_fix", lang)


def cmd_doctor(use_venv: bool, lang: str | None = None) -> int:
    """Check what could get in the way (Python, package index, then torch and friends); install nothing.

    ``lang`` (``--lang``) sets ``CAMP_LANG`` for these lines and the environment's checks; ``None``: as set.
    """
    env = course_env()
    if lang is not None:
        env["CAMP_LANG"] = lang
    lang = doctor_language(env)
    need = ".".join(map(str, MIN_PYTHON))
    findings = []
    version = sys.version.split()[0]
    if sys.version_info < MIN_PYTHON:
        findings.append(("problem", doctor_text("python_old", lang, version=version, need=need),
                         doctor_text("python_old_fix", lang, need=need)))
    else:
        findings.append(("ok", doctor_text("python_ok", lang, version=version, executable=sys.executable), ""))
    findings.append(index_finding(package_index(), lang=lang))
    python = venv_python(VENV) if use_venv else Path(sys.executable)
    if not python.exists():
        findings.append(("problem", doctor_text("no_env", lang, folder=VENV.name), doctor_text("no_env_fix", lang)))
    for status, detail, fix in findings:
        print(doctor_line(status, detail, fix, lang), flush=True)
    code = 1 if any(status == "problem" for status, _, _ in findings) else 0
    if python.exists():
        checked = subprocess.call([str(python), "-m", "camp_utils.doctor"], cwd=ROOT, env=env)
        if checked != 0:
            print(doctor_text("env_failed", lang), flush=True)
        code = code or checked
    return code


def main() -> int:
    """Parse the command line, install what is missing, run the command; return its exit status."""
    # allow_abbrev=False: `lab --port 8889` is JupyterLab's --port, never an abbreviation of our --portable.
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("command", choices=["lab", "refresh", "test", "execute", "bench", "site", "setup", "doctor"],
                        help="lab: open JupyterLab on my_notebooks/; refresh: replace your copy of a lesson by "
                             "the course's; test: run the test suite (without arguments: ruff, then all of it); "
                             "execute: re-run notebooks in place; bench: run the benchmarks; "
                             "site: build the course's website (build/site/); setup: only install; "
                             "doctor: check this machine and the environment, install nothing. "
                             "Other arguments go to JupyterLab / refresh / pytest / the executor.")
    parser.add_argument("--no-venv", action="store_true", help="use this Python instead of .venv/")
    parser.add_argument("--lang", choices=["en", "zh"], default=None,
                        help="lab/refresh: the English edition (en, the default) or the Chinese one (zh, 中文版: "
                             "my_notebooks/zh/, JupyterLab's interface in Chinese); doctor: its findings in that "
                             "language (default: as CAMP_LANG says)")
    parser.add_argument("--portable", nargs="?", const="all", default=None, metavar="SETTINGS",
                        help="test: run the tests (default: the notebooks) once under each CPU kernel setting "
                             f"({', '.join(PORTABLE)}; 'all' or a comma-separated list; default all)")
    ns, extra = parser.parse_known_args()
    if ns.portable is not None and ns.command != "test":
        parser.error("--portable goes with the test command")
    if ns.portable is not None:
        portable_settings(ns.portable)  # a typo fails before the install
    if ns.command == "doctor":  # checks only: it must work where the install does not
        return cmd_doctor(not ns.no_venv, ns.lang)
    lang = ns.lang or "en"
    if ns.command == "refresh":  # plain file copies: no environment needed
        names = [n if lang == "en" or "/" in n or "\\" in n else f"zh/{n}" for n in extra]
        return cmd_refresh(Path(sys.executable), names)
    python = ensure_environment(not ns.no_venv, for_tests=ns.command == "test")
    if ns.command == "setup":
        return 0
    if ns.command == "lab":
        return cmd_lab(python, extra, lang)
    if ns.command == "test":
        return cmd_test(python, extra, ns.portable)
    return {"execute": cmd_execute, "bench": cmd_bench, "site": cmd_site}[ns.command](python, extra)


if __name__ == "__main__":
    sys.exit(main())
