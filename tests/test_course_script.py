"""course.py: the learner's copies of the lessons, refreshing one, and JupyterLab's settings."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def folders(tmp_path):
    lessons = tmp_path / "notebooks"
    (lessons / "zh").mkdir(parents=True)
    (lessons / ".ipynb_checkpoints").mkdir()
    (lessons / "20_tb.ipynb").write_text("course 20")
    (lessons / "20_tb_screenshot.png").write_text("picture")
    (lessons / "zh" / "20_tb.ipynb").write_text("course zh 20")
    (lessons / ".ipynb_checkpoints" / "20_tb-checkpoint.ipynb").write_text("not course material")
    return lessons, tmp_path / "my_notebooks"


def test_the_first_lab_copies_the_course_without_checkpoints(course, folders):
    lessons, mine = folders
    copied = course.copy_new_lessons(lessons, mine)
    assert sorted(p.as_posix() for p in copied) == ["20_tb.ipynb", "20_tb_screenshot.png", "zh/20_tb.ipynb"]
    assert (mine / "20_tb.ipynb").read_text() == "course 20"
    assert not (mine / ".ipynb_checkpoints").exists()


def test_a_later_lab_adds_new_lessons_and_never_overwrites_the_learners_work(course, folders):
    lessons, mine = folders
    course.copy_new_lessons(lessons, mine)
    (mine / "20_tb.ipynb").write_text("my work")
    (lessons / "20_tb.ipynb").write_text("course 20, updated")
    (lessons / "21_new.ipynb").write_text("course 21")
    assert [p.as_posix() for p in course.copy_new_lessons(lessons, mine)] == ["21_new.ipynb"]
    assert (mine / "20_tb.ipynb").read_text() == "my work"


def test_refresh_replaces_a_copy_and_keeps_the_learners_version_beside_it(course, folders):
    lessons, mine = folders
    course.copy_new_lessons(lessons, mine)
    (mine / "20_tb.ipynb").write_text("my work")
    [(refreshed, kept)] = course.refresh_lessons(["20"], lessons, mine)
    assert refreshed.as_posix() == "20_tb.ipynb"
    assert (mine / "20_tb.ipynb").read_text() == "course 20"
    assert kept.parent == mine and kept.name.startswith("20_tb.mine-") and kept.suffix == ".ipynb"
    assert kept.read_text() == "my work"


def test_two_refreshes_in_the_same_second_keep_both_copies(course, folders, monkeypatch):
    lessons, mine = folders
    course.copy_new_lessons(lessons, mine)
    monkeypatch.setattr(course.time, "strftime", lambda fmt: "20261201-101500")  # one and the same second
    kept = []
    for work in ("my first work", "my second work", "my third work"):
        (mine / "20_tb.ipynb").write_text(work)
        [(_, aside)] = course.refresh_lessons(["20"], lessons, mine)
        kept.append(aside)
    assert [k.name for k in kept] == ["20_tb.mine-20261201-101500.ipynb", "20_tb.mine-20261201-101500-2.ipynb",
                                      "20_tb.mine-20261201-101500-3.ipynb"]
    assert [k.read_text() for k in kept] == ["my first work", "my second work", "my third work"]


def test_refresh_explains_a_file_where_the_learners_folder_should_be(course, folders):
    lessons, mine = folders
    mine.write_text("not a folder")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        course.refresh_lessons(["20"], lessons, mine)
    assert mine.read_text() == "not a folder"
    mine.unlink()
    (mine / "zh").parent.mkdir()
    (mine / "zh").write_text("a file named zh")
    with pytest.raises(ValueError, match="zh is a file, not a folder"):
        course.refresh_lessons(["zh/20"], lessons, mine)


def test_portable_settings_are_checked_before_anything_runs(course):
    assert course.portable_settings("all") == list(course.PORTABLE)
    assert course.portable_settings("generic, 1thread") == ["generic", "1thread"]
    for bad in ("avx512", "", "generic,nope"):
        with pytest.raises(SystemExit, match="--portable: unknown setting"):
            course.portable_settings(bad)


def test_each_portable_setting_changes_what_pytorch_runs_on(course):
    # What the README's table promises, asked of PyTorch itself in a fresh process under each setting.
    import subprocess
    import sys

    ask = "import torch; print(torch.backends.cpu.get_cpu_capability(), torch.get_num_threads())"

    def torch_says(setting):
        env = {k: v for k, v in os.environ.items() if k not in {"ATEN_CPU_CAPABILITY", "OMP_NUM_THREADS"}}
        env.update(course.PORTABLE[setting] if setting else {})
        return subprocess.run([sys.executable, "-c", ask], env=env, capture_output=True, text=True,
                              check=True).stdout.split()

    native_kernels, native_threads = torch_says(None)
    assert torch_says("generic") == ["DEFAULT", native_threads]  # the plain C++ kernels
    assert torch_says("1thread") == [native_kernels, "1"]
    assert torch_says("avx2")[0] in {"AVX2", "DEFAULT"}  # AVX2, or the plain kernels on a CPU without it


def test_portable_runs_pytest_once_per_setting_with_its_own_cache(course, monkeypatch):
    monkeypatch.setenv("CAMP_TEST_WORKERS", "1")  # the workers are tested below
    calls = []
    monkeypatch.setattr(course.subprocess, "call", lambda cmd, cwd, env: calls.append((cmd, env)) or 0)
    assert course.cmd_test(course.Path("python"), [], "avx2,1thread") == 0
    assert [cmd[-1] for cmd, _ in calls] == ["notebooks", "notebooks"]
    (_, avx2), (_, one) = calls
    assert avx2["ATEN_CPU_CAPABILITY"] == "avx2" and avx2["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert one["OMP_NUM_THREADS"] == "1" and one.get("ATEN_CPU_CAPABILITY") != "avx2"
    assert avx2["CAMP_CACHE_DIR"].endswith("portable/avx2") and one["CAMP_CACHE_DIR"].endswith("portable/1thread")
    assert avx2["CAMP_PROGRESS"] == "0"
    calls.clear()
    monkeypatch.setattr(course.subprocess, "call", lambda cmd, cwd, env: calls.append(cmd) or 1)
    assert course.cmd_test(course.Path("python"), ["tests/test_train.py"], "generic") == 1
    assert calls[0][-1] == "tests/test_train.py"


def test_refresh_of_an_unchanged_copy_keeps_nothing_aside(course, folders):
    lessons, mine = folders
    course.copy_new_lessons(lessons, mine)
    assert course.refresh_lessons(["notebooks/20_tb.ipynb"], lessons, mine) == [(Path("20_tb.ipynb"), None)]
    assert sorted(p.name for p in mine.glob("*.ipynb")) == ["20_tb.ipynb"]


def test_refresh_finds_the_chinese_edition_by_its_folder(course, folders):
    lessons, mine = folders
    [(refreshed, _)] = course.refresh_lessons(["zh/20"], lessons, mine)
    assert refreshed.as_posix() == "zh/20_tb.ipynb"


def test_refresh_names_what_it_expected_for_an_unknown_lesson(course, folders):
    lessons, mine = folders
    with pytest.raises(ValueError, match="should name one file"):
        course.refresh_lessons(["99"], lessons, mine)
    (lessons / "20_tc.ipynb").write_text("another lesson 20")
    with pytest.raises(ValueError, match=r"matches 20_tb.ipynb, 20_tc.ipynb"):
        course.refresh_lessons(["20"], lessons, mine)


def test_lab_settings_turn_jupyter_news_off_as_an_overrides_file(course, tmp_path):
    path = course.write_lab_settings(tmp_path / "lab")
    assert path == tmp_path / "lab" / "settings" / "overrides.d" / "camp-course.json"
    settings = json.loads(path.read_text())
    assert settings["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"


def test_lab_opens_the_learners_folder(course):
    command = course.lab_command(Path("python"), course.LEARNER_NOTEBOOKS, ["--no-browser"])
    assert command[1:4] == ["-m", "jupyterlab", "--notebook-dir"]
    assert command[4] == str(ROOT / "my_notebooks")
    assert "--no-browser" in command


def test_the_full_test_run_lints_first_and_a_selection_runs_pytest_only(course, monkeypatch):
    monkeypatch.setenv("CAMP_TEST_WORKERS", "1")  # one process: the passes exactly as pytest runs them by hand
    ran, status = [], {"ruff": 0, "pytest": 0}

    def call(cmd, cwd, env):
        ran.append((cmd[2:], env))  # after "<python> -m"
        return status[cmd[2]]

    monkeypatch.setattr(course.subprocess, "call", call)
    assert course.cmd_test(course.Path("python"), []) == 0
    assert [cmd for cmd, _ in ran] == [["ruff", "check", *course.LINTED], ["pytest"],
                                       ["pytest", "notebooks/zh"]]
    (_, native), (_, generic) = ran[1:]
    # the first pass: unit tests, English lessons and solutions, this machine's kernels, the notebooks' own cache
    assert "ATEN_CPU_CAPABILITY" not in native and "CAMP_CACHE_DIR" not in native and "CAMP_TEST_ZH" not in native
    assert native["CAMP_EXPECT_NOTEBOOKS"] == "notebooks,notebooks/solutions"
    # the second: the Chinese lessons and solutions under the plain C++ kernels, with that setting's cache
    assert generic["ATEN_CPU_CAPABILITY"] == "default" and generic["CAMP_TEST_ZH"] == "1"
    assert Path(generic["CAMP_CACHE_DIR"]) == ROOT / "data" / "portable" / "generic"
    assert generic["CAMP_EXPECT_NOTEBOOKS"] == "notebooks/zh,notebooks/zh/solutions"
    status["pytest"] = 1
    ran.clear()
    assert course.cmd_test(course.Path("python"), []) == 1
    assert len(ran) == 3  # a failed first pass does not hide what the second finds
    status.update(ruff=1, pytest=0)
    ran.clear()
    assert course.cmd_test(course.Path("python"), []) == 1
    assert [cmd for cmd, _ in ran] == [["ruff", "check", *course.LINTED]]  # a finding stops the run before pytest
    ran.clear()
    assert course.cmd_test(course.Path("python"), ["tests/test_tb_events.py"]) == 0
    assert course.cmd_test(course.Path("python"), ["-k", "tb"], "generic") == 0
    assert [cmd for cmd, _ in ran] == [["pytest", "tests/test_tb_events.py"], ["pytest", "-k", "tb"]]
    assert all("CAMP_EXPECT_NOTEBOOKS" not in env for _, env in ran)  # a selection may run one notebook


def test_the_full_run_spreads_each_pass_over_workers_with_a_share_of_the_cores_each(course, monkeypatch):
    monkeypatch.setattr(course, "usable_cores", lambda: 2)
    for name in ("CAMP_TEST_WORKERS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    ran = []

    def call(cmd, cwd, env):
        ran.append((cmd[1:], env))  # after "<python>"
        return 0

    class Popen:  # the warm-up's side-by-side trainings
        def __init__(self, cmd, cwd, env):
            ran.append((cmd[1:], env))

        def wait(self):
            return 0

    monkeypatch.setattr(course.subprocess, "call", call)
    monkeypatch.setattr(course.subprocess, "Popen", Popen)
    assert course.cmd_test(course.Path("python"), []) == 0
    commands = [cmd for cmd, _ in ran]
    xdist = ["-n", "2", "--dist", "loadfile"]
    warm = [["-c", code] for code in course.WARM_MODELS]
    assert [code.split("; ")[1] for code in course.WARM_MODELS] == ["trained_gapnet()", "trained_vit()"]
    assert commands == [["-m", "ruff", "check", *course.LINTED],
                        *warm, ["-m", "pytest", *xdist],
                        *warm, ["-m", "pytest", *xdist, "notebooks/zh"]]
    (_, gapnet_native), (_, vit_native), (_, native), (_, gapnet_generic), (_, vit_generic), (_, generic) = ran[1:]
    # each worker one of the two cores; the models of each setting are trained (if missing) side by side, before
    # the workers start, one core each
    assert native["OMP_NUM_THREADS"] == native["MKL_NUM_THREADS"] == "1" == generic["OMP_NUM_THREADS"]
    assert gapnet_native["OMP_NUM_THREADS"] == vit_generic["MKL_NUM_THREADS"] == "1"
    assert gapnet_generic["CAMP_CACHE_DIR"] == vit_generic["CAMP_CACHE_DIR"] == generic["CAMP_CACHE_DIR"]
    assert generic["ATEN_CPU_CAPABILITY"] == vit_generic["ATEN_CPU_CAPABILITY"] == "default"
    assert "CAMP_CACHE_DIR" not in vit_native and "CAMP_CACHE_DIR" not in native

    ran.clear()  # --portable: the same workers; a setting that fixes the threads keeps its own
    assert course.cmd_test(course.Path("python"), [], "1thread") == 0
    assert [cmd for cmd, _ in ran] == [*warm, ["-m", "pytest", *xdist, "notebooks"]]
    assert ran[2][1]["OMP_NUM_THREADS"] == "1" and ran[0][1]["OMP_NUM_THREADS"] == "1"

    monkeypatch.setattr(course, "usable_cores", lambda: 8)  # 8 cores: 4 threads for each training
    ran.clear()
    assert course.warm_models(course.Path("python"), {}) == 0
    assert [env["OMP_NUM_THREADS"] for _, env in ran] == ["4", "4"]

    ran.clear()  # a selection runs in one process, as given
    assert course.cmd_test(course.Path("python"), ["tests/test_tb_events.py"]) == 0
    assert [cmd for cmd, _ in ran] == [["-m", "pytest", "tests/test_tb_events.py"]]


@pytest.mark.parametrize(("cores", "setting", "workers", "threads"),
                         [(1, "", 1, None), (2, "", 2, "1"), (8, "", 4, "2"), (16, "", 4, "4"), (8, "2", 2, "4")])
def test_workers_are_the_cores_up_to_four_or_as_set(course, monkeypatch, cores, setting, workers, threads):
    monkeypatch.setattr(course, "usable_cores", lambda: cores)
    env = {"CAMP_TEST_WORKERS": setting} if setting else {}
    assert course.pass_workers(env) == workers
    pass_env, args = course.parallel_pass(env, ["notebooks"], workers)
    assert pass_env.get("OMP_NUM_THREADS") == threads
    assert args == (["notebooks"] if workers == 1 else ["-n", str(workers), "--dist", "loadfile", "notebooks"])


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5"])
def test_a_bad_number_of_workers_is_named(course, value):
    with pytest.raises(SystemExit, match=r"CAMP_TEST_WORKERS must be a whole number of workers, 1 or more; got"):
        course.pass_workers({"CAMP_TEST_WORKERS": value})


def test_a_pass_that_collects_fewer_notebooks_than_the_course_has_names_them(course):
    every = [p for folder in course.NOTEBOOK_FOLDERS for p in sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb"))]
    assert len(every) == 20 and course.missing_notebooks(every) == []
    without = [p for p in every if p.name != "22_tensorboard_images_make_grid.ipynb" or p.parent.name != "zh"]
    assert course.missing_notebooks(without) == ["notebooks/zh/22_*.ipynb"]
    assert course.missing_notebooks(every[:1], ["notebooks"]) == [f"notebooks/{n}_*.ipynb" for n in ("20", "21",
                                                                                                  "22", "23")]
    twice = [*every, ROOT / "notebooks" / "19_lr_schedulers (copy).ipynb"]
    assert course.missing_notebooks(twice, ["notebooks"]) == ["notebooks/19_*.ipynb"]


def test_a_full_pass_stops_when_a_notebook_is_not_collected(tmp_path):
    # the real hook (conftest.py) in a real pytest run: a pass told to run every lesson of notebooks/zh/,
    # but given only one of them, stops with a usage error before running anything
    import subprocess
    import sys

    env = {**os.environ, "CAMP_EXPECT_NOTEBOOKS": "notebooks/zh", "CAMP_TEST_ZH": "1"}
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "notebooks/zh/20_tensorboard_install.ipynb"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    assert "notebooks/zh/19_*.ipynb, notebooks/zh/21_*.ipynb" in done.stderr


def test_no_venv_setup_installs_into_each_new_environment(course, tmp_path, monkeypatch):
    # README: `python course.py --no-venv setup` from inside your own venv or conda environment. The stamp that
    # says "installed" must belong to that environment: a second, fresh one gets its own install.
    import sys
    import venv

    installs = []
    monkeypatch.setattr(course, "run", lambda cmd, **kwargs: installs.append(Path(cmd[0])))
    pythons = []
    for name in ("first", "second"):
        venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(tmp_path / name)
        pythons.append(course.venv_python(tmp_path / name))
    for python in (pythons[0], pythons[0], pythons[1]):
        monkeypatch.setattr(sys, "executable", str(python))
        monkeypatch.setattr(sys, "argv", ["course.py", "--no-venv", "setup"])
        assert course.main() == 0
    assert installs == [pythons[0], pythons[1]]  # the first again: nothing to do; the second: installed
    assert (tmp_path / "first" / course.STAMP_NAME).is_file() and (tmp_path / "second" / course.STAMP_NAME).is_file()


@pytest.mark.parametrize(("argv", "extra"), [
    (["lab", "--no-browser", "--port", "8889"], ["--no-browser", "--port", "8889"]),
    (["lab", "--port=8889"], ["--port=8889"]),
    (["lab", "--lang", "zh", "--port", "8889"], ["--port", "8889"]),
])
def test_every_jupyterlab_option_reaches_jupyterlab(course, monkeypatch, argv, extra):
    # README: `python course.py lab --no-browser --port 8889`; --port is JupyterLab's, not short for --portable
    import sys

    seen = {}
    monkeypatch.setattr(course, "ensure_environment", lambda use_venv, for_tests=False: Path("python"))
    monkeypatch.setattr(course, "cmd_lab", lambda python, extra, lang="en": seen.update(extra=extra, lang=lang) or 0)
    monkeypatch.setattr(sys, "argv", ["course.py", *argv])
    assert course.main() == 0
    assert seen["extra"] == extra and seen["lang"] == ("zh" if "zh" in argv else "en")


def test_the_readmes_unit_test_command_leaves_the_browser_tests_out():
    # README: `python course.py test tests --ignore=tests/e2e` runs the unit tests only (`tests` alone: browser too)
    import re
    import subprocess
    import sys

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [args] = re.findall(r"`python course\.py test (tests --ignore=tests/e2e)`", readme)
    # as a learner types it: not inside a pass of the full run (whose notebook count this selection would fail)
    env = {k: v for k, v in os.environ.items() if k not in {"CAMP_EXPECT_NOTEBOOKS", "CAMP_TEST_ZH"}}
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           *args.split()], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    assert done.returncode == 0 and len(collected) > 500, done.stdout[-2000:]
    assert not [line for line in collected if line.startswith("tests/e2e/")]
    assert all(line.startswith("tests/") for line in collected)  # no notebook either


# ---- a terminal of the course's JupyterLab runs the course's programs ----------------------------------------

def run_in_terminal(command: list[str], env: dict[str, str], typed: str, timeout: float = 30.0) -> str:
    """Start ``command`` on a pseudo-terminal, as JupyterLab's terminal service does, type ``typed``, and
    return everything the shell wrote until it exits.
    """
    import pty
    import select
    import subprocess
    import time

    leader, follower = pty.openpty()
    shell = subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower, env=env,
                             start_new_session=True, close_fds=True)
    os.close(follower)
    os.write(leader, typed.encode())
    seen, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the shell exited and closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif shell.poll() is not None:
            break
    shell.kill()
    shell.wait()
    os.close(leader)
    return seen.decode(errors="replace")


@pytest.mark.skipif(os.name == "nt", reason="POSIX shells; on Windows PowerShell and cmd keep the PATH they inherit")
@pytest.mark.parametrize("shell_name", ["bash", "zsh"])
def test_a_terminal_runs_the_courses_python_tensorboard_and_torchrun(course, tmp_path, shell_name):
    # The learner's home has an rc file that activates another environment first (as conda's `conda init`
    # does): its own python, tensorboard and torchrun. The course's terminal must still run the course's.
    import shlex
    import shutil
    import sys

    shell = shutil.which(shell_name)
    if shell is None:
        assert os.environ.get("CI") != "true", f"{shell_name} is not installed; .ci/run installs it"
        pytest.skip(f"{shell_name} is not installed here (macOS's default shell is zsh; CI installs it)")
    other = tmp_path / "other_env" / "bin"
    other.mkdir(parents=True)
    for program in ("python", "tensorboard", "torchrun"):
        (other / program).write_text("#!/bin/sh\necho other\n")
        (other / program).chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    activate = f'export PATH="{other}:$PATH"\n'
    (home / ".bashrc").write_text(activate)
    (home / ".zshrc").write_text(activate)
    python = Path(sys.executable)
    env = {"HOME": str(home), "SHELL": shell, "TERM": "dumb", "PATH": "/usr/local/bin:/usr/bin:/bin",
           "LANG": "C.UTF-8"}
    env = course.terminal_env(python, env)
    (option,) = course.terminal_args(env)
    command = shlex.split(option.split("shell_command=", 1)[1])  # as jupyter_server_terminals reads it
    assert command[0] == shell and "-l" not in command  # no login shell: /etc/profile would set PATH anew
    typed = "for p in python tensorboard torchrun; do echo \"at=$(command -v $p)\"; done; echo done-$((6*7)); exit\n"
    seen = run_in_terminal(command, env, typed)
    assert "done-42" in seen, seen
    found = [line.split("at=", 1)[1].strip() for line in seen.splitlines() if line.startswith("at=")]
    scripts = course.scripts_folder(python)
    assert found == [str(scripts / p) for p in ("python", "tensorboard", "torchrun")], seen
    assert (scripts / "tensorboard").exists() and (scripts / "torchrun").exists()


@pytest.mark.skipif(os.name != "posix", reason="SIGINT dispositions are inherited this way on POSIX only")
def test_jupyterlab_gets_a_working_ctrl_c_even_when_course_py_was_started_with_it_ignored(course):
    # A shell's background job (`python course.py lab &`, nohup, some CI runners) ignores SIGINT, and so would
    # every program in JupyterLab's terminals: Ctrl+C would not stop tensorboard there. cmd_lab starts JupyterLab
    # with course.interruptible(), which gives the child the default disposition back.
    import signal
    import subprocess
    import sys
    probe = [sys.executable, "-c", "import signal; print(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)"]
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        plain = subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()
        fixed = subprocess.run(probe, capture_output=True, text=True, check=True,
                               **course.interruptible()).stdout.strip()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert plain == "True" and fixed == "False"


@pytest.mark.skipif(os.name != "posix", reason="process groups and os.killpg are POSIX")
def test_ctrl_c_goes_to_jupyterlab_which_asks_first_and_course_py_waits_for_it(tmp_path):
    # Ctrl+C reaches the whole foreground process group: course.py and JupyterLab. JupyterLab asks whether to
    # shut down on the first and stops on the second; course.py must neither kill it after the first (what
    # subprocess.call does, a quarter of a second after its KeyboardInterrupt) nor print a traceback.
    import signal
    import subprocess
    import sys
    import time
    child = tmp_path / "asks_first.py"   # stands in for JupyterLab: first Ctrl+C asks, second exits 7
    child.write_text(
        "import signal, sys, time\n"
        "count = 0\n"
        "def handler(signum, frame):\n"
        "    global count\n"
        "    count += 1\n"
        "    print('asked' if count == 1 else 'stopping', flush=True)\n"
        "    if count == 2:\n"
        "        sys.exit(7)\n"
        "signal.signal(signal.SIGINT, handler)\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    time.sleep(0.05)\n")
    wrapper = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); import course; "
               f"sys.exit(course.run_foreground([sys.executable, {str(child)!r}]))")
    process = subprocess.Popen([sys.executable, "-c", wrapper], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        os.killpg(process.pid, signal.SIGINT)            # the first Ctrl+C: the program asks
        assert process.stdout.readline().strip() == "asked"
        time.sleep(0.6)                                  # longer than subprocess.call's grace before its kill
        assert process.poll() is None, "course.py ended (and killed the program) after the first Ctrl+C"
        os.killpg(process.pid, signal.SIGINT)            # the second: the program stops by itself
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert out.strip() == "stopping" and process.returncode == 7, (out, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
