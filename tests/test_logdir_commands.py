"""Every `tensorboard --logdir` and `%tensorboard --logdir` the course tells a learner to type names a folder
the course writes its runs to, seen from where the command runs.

A `%tensorboard` path is relative to the notebook's folder (a learner's copy in `my_notebooks/` sits as deep
as `notebooks/`; the Chinese edition one folder deeper), a terminal's `tensorboard` path to the project folder
(the lessons say to `cd` there first), and `"{VAR}"` is IPython's expansion of a variable that the notebook's
code sets to `runs_dir() / "NN"` -- under `runs/solutions/` where the notebook moves `CAMP_RUNS_DIR` there.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from script_loader import load_script

from camp_utils.paths import runs_dir

ROOT = Path(__file__).resolve().parents[1]
_course = load_script("course.py", "course_script")
LESSONS, FOLDERS = _course.LESSONS, _course.NOTEBOOK_FOLDERS  # the course's lessons and notebook folders
# The folders the course writes runs to: runs/, each lesson's, and the solutions' own (runs/solutions/NN).
RUN_FOLDERS = {ROOT / "runs", ROOT / "runs" / "solutions",
               *(ROOT / "runs" / n for n in LESSONS), *(ROOT / "runs" / "solutions" / n for n in LESSONS)}
COMMAND = re.compile(r"(%?)tensorboard --logdir (\"\{\w+\}\"|\\\"\{\w+\}\\\"|[^\s`\"')]+)")
PLACEHOLDERS = {"…", "<folder>", "<logdir>", "..."}
ASSIGNED = re.compile(r"^(\w+) = runs_dir\(\) / \"(\d\d)\"", re.MULTILINE)
MOVED_TO_SOLUTIONS = 'os.environ["CAMP_RUNS_DIR"] = str(runs_dir() / "solutions")'


def notebooks() -> list[Path]:
    return [p for folder in FOLDERS for p in sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb"))]


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def variables(path: Path) -> dict[str, Path]:
    """What each `VAR = runs_dir() / "NN"` of the notebook's code is, with the notebook's CAMP_RUNS_DIR."""
    code = "\n".join("".join(c["source"]) for c in cells(path) if c["cell_type"] == "code")
    base = ROOT / "runs" / "solutions" if MOVED_TO_SOLUTIONS in code else ROOT / "runs"
    return {name: base / lesson for name, lesson in ASSIGNED.findall(code)}


def commands(text: str) -> list[tuple[bool, str]]:
    """(is the magic, the logdir as typed) of every command in ``text``; placeholders left out."""
    found = []
    for magic, logdir in COMMAND.findall(text):
        logdir = logdir.replace("\\", "").strip('"').rstrip(".,;:")
        if logdir not in PLACEHOLDERS:
            found.append((magic == "%", logdir))
    return found


def test_the_runs_folder_is_the_projects_runs_unless_moved(monkeypatch):
    monkeypatch.delenv("CAMP_RUNS_DIR", raising=False)
    assert runs_dir() == ROOT / "runs"  # what the static reading of `runs_dir() / "NN"` below relies on


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_logdir_a_notebook_gives_is_a_runs_folder_of_the_course(path):
    lesson = path.name[:2]
    solutions = path.parent.name == "solutions"
    chinese = "zh" in path.relative_to(ROOT).parts
    english_folder = ROOT / "notebooks" / ("solutions" if solutions else "")
    own = ROOT / "runs" / ("solutions" if solutions else "") / lesson
    known = variables(path)
    checked = 0
    for cell in cells(path):
        text = "".join(cell["source"])
        for magic, logdir in commands(text):
            checked += 1
            typed = f"{'%' if magic else ''}tensorboard --logdir {logdir}"
            where = f"{path.relative_to(ROOT)}, cell {cell.get('id')}: {typed}"
            variable = re.fullmatch(r"\{(\w+)\}", logdir)
            if variable:
                name = variable.group(1)
                assert magic, f"{where}: a {{variable}} only expands in the % magic"
                assert name in known, f"{where}: the notebook never sets {name} = runs_dir() / ..."
                assert known[name] == own, f"{where}: expands to {known[name]}, not this notebook's runs ({own})"
                continue
            base = path.parent if magic else ROOT
            folder = (base / logdir).resolve()
            if magic and chinese and folder not in RUN_FOLDERS:
                # a Chinese cell may quote the English notebooks' path, next to its own one folder deeper
                english = (english_folder / logdir).resolve()
                assert english in RUN_FOLDERS and f"../{logdir}" in text, (
                    f"{where}: from {path.parent.relative_to(ROOT)} that is {folder}, which the course never writes")
                continue
            assert folder in RUN_FOLDERS, f"{where}: from {base.relative_to(ROOT) or '.'} that is {folder}, " \
                                          "which the course never writes"
    if lesson in ("20", "21", "22") and not solutions:
        assert checked, f"{path.relative_to(ROOT)} starts TensorBoard but no command was found (pattern broken?)"


@pytest.mark.parametrize("readme", ["README.md", "README.zh-CN.md"])
def test_every_logdir_the_readme_gives_is_a_runs_folder_of_the_course(readme):
    found = commands((ROOT / readme).read_text(encoding="utf-8"))
    assert found, f"{readme} gives no TensorBoard command (pattern broken?)"
    for magic, logdir in found:
        # the magic runs in a notebook of notebooks/ or my_notebooks/ (both one level below the project), the
        # terminal command in the project folder
        folder = ((ROOT / "notebooks" if magic else ROOT) / logdir).resolve()
        assert folder in RUN_FOLDERS, f"{readme}: {'%' if magic else ''}tensorboard --logdir {logdir} is {folder}"


@pytest.mark.parametrize(("text", "expected"), [
    ('%tensorboard --logdir "{LESSON_RUNS}" --samples_per_plugin images=100', [(True, "{LESSON_RUNS}")]),
    ('`%tensorboard --logdir \\"{SOLUTION_RUNS}\\"`', [(True, "{SOLUTION_RUNS}")]),
    ("(`tensorboard --logdir runs/solutions/20` from the course's folder", [(False, "runs/solutions/20")]),
    ("`%tensorboard --logdir ../../runs`.", [(True, "../../runs")]),
    ("`%tensorboard --logdir <folder>` or `tensorboard --logdir …`", []),
])
def test_commands_are_read_as_typed(text, expected):
    assert commands(text) == expected


def test_a_wrong_folder_is_caught(tmp_path):
    wrong = {"cells": [{"cell_type": "markdown", "id": "x", "source": ["`%tensorboard --logdir ../runs/20`"]}]}
    # from notebooks/solutions/, ../runs/20 is notebooks/runs/20: not a folder the course writes
    path = ROOT / "notebooks" / "solutions" / "20_tensorboard_install_solutions.ipynb"
    folder = (path.parent / commands("".join(wrong["cells"][0]["source"]))[0][1]).resolve()
    assert folder == ROOT / "notebooks" / "runs" / "20" and folder not in RUN_FOLDERS
