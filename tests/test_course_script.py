"""course.py: the learner's copies of the lessons, refreshing one, and JupyterLab's settings."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def course():
    spec = importlib.util.spec_from_file_location("course_script", ROOT / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    assert course.PORTABLE["generic"] == {"ATEN_CPU_CAPABILITY": "default"}
    assert course.PORTABLE["1thread"]["OMP_NUM_THREADS"] == "1"


def test_portable_runs_pytest_once_per_setting_with_its_own_cache(course, monkeypatch):
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
    with pytest.raises(ValueError, match="matches 20_tb.ipynb, 20_tc.ipynb"):
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
    ran, status = [], {"ruff": 0, "pytest": 0}

    def call(cmd, cwd, env):
        ran.append(cmd[2:])  # after "<python> -m"
        return status[cmd[2]]

    monkeypatch.setattr(course.subprocess, "call", call)
    assert course.cmd_test(course.Path("python"), []) == 0
    assert ran == [["ruff", "check", *course.LINTED], ["pytest"]]
    status["ruff"] = 1
    ran.clear()
    assert course.cmd_test(course.Path("python"), []) == 1
    assert ran == [["ruff", "check", *course.LINTED]]  # a finding stops the run before pytest
    ran.clear()
    assert course.cmd_test(course.Path("python"), ["tests/test_tb_events.py"]) == 0
    assert course.cmd_test(course.Path("python"), ["-k", "tb"], "generic") == 0
    assert ran == [["pytest", "tests/test_tb_events.py"], ["pytest", "-k", "tb"]]
