"""House rules for the committed notebooks (checked from the files; nbval executes them)."""
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((Path(__file__).resolve().parent.parent / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb"))
MARKERS = ("# NBVAL_IGNORE_OUTPUT", "# NBVAL_SKIP", "# NBVAL_RAISES_EXCEPTION", "# NBVAL_CHECK_OUTPUT")
MACHINE_PATH = re.compile(r"(/root/|/tmp/|/work/|/home/\w+/|/Users/\w+/|[A-Z]:\\\\Users\\\\)")


def cells(path, kind):
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == kind]


def source(cell):
    return "".join(cell["source"])


def prints_text(cell):
    return any(o["output_type"] == "stream" or ("text/plain" in o.get("data", {}) and "image/png" not in o["data"])
               for o in cell.get("outputs", []))


def test_every_lesson_has_its_notebook_and_its_solutions():
    # the five lessons of the syllabus, one notebook each: a lost or renamed one fails here, not silently
    lessons = ["19", "20", "21", "22", "23"]
    assert [p.name[:2] for p in NOTEBOOKS] == lessons
    assert [p.name[:2] for p in SOLUTIONS] == lessons
    assert [p.name.replace("_solutions", "") for p in SOLUTIONS] == [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.name)
def test_committed_executed_in_order_without_errors(path):
    code = [c for c in cells(path, "code") if source(c).strip()]
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), "commit it after Restart & Run All (course.py execute)"
    for c in code:
        for o in c["outputs"]:
            assert o["output_type"] != "error", source(c)[:80]
            text = json.dumps(o.get("text", "")) + json.dumps({k: v for k, v in o.get("data", {}).items()
                                                               if k.startswith("text/") and k != "text/html"})
            assert not MACHINE_PATH.search(text), f"machine path in output of: {source(c)[:80]}"


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda p: p.name)
def test_markers_are_exact_and_most_printing_cells_are_compared(path):
    printing = [c for c in cells(path, "code") if prints_text(c)]
    ignored = []
    for c in cells(path, "code"):
        first = source(c).lstrip().splitlines()[0] if source(c).strip() else ""
        if "NBVAL" in first:
            assert first in MARKERS, f"marker must be the exact comment, got {first!r}"
            if c in printing:
                ignored.append(c)
    assert len(printing) - len(ignored) >= len(printing) / 2, "at least half of the printing cells must be compared"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_reads_like_a_lesson(path):
    markdown = [source(c) for c in cells(path, "markdown")]
    title = markdown[0].splitlines()[0]
    assert title.startswith(f"# Lesson {int(path.name[:2])} · ")
    assert re.search(r"[\u4e00-\u9fff]", title), "the title carries the Chinese course title"
    assert any(m.startswith("## Summary") for m in markdown)
    exercises = next(m for m in markdown if "## Exercises" in m)
    numbered = re.findall(r"^\d+\. ", exercises.split("## Exercises", 1)[1], flags=re.M)
    assert 3 <= len(numbered) <= 5 and "homework" in exercises.lower()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exercise_has_a_hint_and_a_solution_notebook(path):
    exercises = next(source(c) for c in cells(path, "markdown") if "## Exercises" in source(c))
    items = re.findall(r"^\d\. ", exercises, flags=re.MULTILINE)
    assert len(items) == 5 and exercises.count("<summary>Hint</summary>") == 5
    assert "**Course homework" in exercises
    solutions = path.parent / "solutions" / path.name.replace(".ipynb", "_solutions.ipynb")
    assert f"solutions/{solutions.name}" in exercises
    assert solutions.exists(), f"no reference solutions for {path.name}"
    headings = [source(c) for c in cells(solutions, "markdown") if source(c).startswith("### Exercise")]
    assert len(headings) == 5, [h.splitlines()[0] for h in headings]


EVERY_NOTEBOOK = sorted((Path(__file__).resolve().parent.parent / "notebooks").rglob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", EVERY_NOTEBOOK, ids=lambda p: p.relative_to(p.parents[1]).as_posix())
def test_every_notebook_asks_for_the_python_kernel_jupyterlab_has(path):
    # What decides whether JupyterLab opens a notebook without a "select kernel" dialog: its kernelspec names one
    # that is installed. The browser tests open a notebook of each folder; this checks all of them.
    from jupyter_client.kernelspec import KernelSpecManager

    spec = json.loads(path.read_text(encoding="utf-8"))["metadata"]["kernelspec"]
    assert spec == {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    assert KernelSpecManager().get_kernel_spec(spec["name"]).language == "python"


def test_the_kernel_check_sees_every_notebook():
    assert len(EVERY_NOTEBOOK) == 20 and ".ipynb_checkpoints" not in {part for p in EVERY_NOTEBOOK for part in p.parts}


# "Zhou et al. (2016)", "Smith (2017, ...", "Selvaraju et al., 2017", "Goyal et al. 2017"
CITATION = re.compile(r"\b([A-Z][a-z]+)(?: et al\.)?,? \(?((?:19|20)\d\d)\b")
LINKED_CITATION = r"\[\*?{author}\b[^\]]*\]\(https://arxiv\.org/abs/\d{{4}}\.\d{{4,5}}\)|{author}[^\[\n]{{0,24}}\[[^\]]*\]\(https://arxiv\.org/abs/\d{{4}}\.\d{{4,5}}\)"


def cited_papers(markdown: str) -> set[tuple[str, str]]:
    return {(m[1], m[2]) for m in CITATION.finditer(markdown) if m[1] not in ("In", "Lesson", "PyTorch", "Since")}


def test_the_citation_finder_reads_the_ways_the_lessons_cite():
    text = ("Zhou et al. (2016) noticed; **Grad-CAM** (Selvaraju et al., 2017) works; Smith (2017, *Cyclical*, §3); "
            "warm up (Goyal et al. 2017); lesson 20 (2 runs); In 2019 PyTorch")
    assert cited_papers(text) == {("Zhou", "2016"), ("Selvaraju", "2017"), ("Smith", "2017"), ("Goyal", "2017")}
    assert re.search(LINKED_CITATION.format(author="Zhou"), "[Zhou et al. (2016)](https://arxiv.org/abs/1512.04150)")
    assert re.search(LINKED_CITATION.format(author="Smith"),
                     "Smith (2017, [*Cyclical Learning Rates*](https://arxiv.org/abs/1506.01186), §3.3)")
    assert not re.search(LINKED_CITATION.format(author="Zhou"), "Zhou et al. (2016) noticed")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_paper_a_lesson_cites_is_linked_where_it_is_first_cited(path):
    # a learner who wants the paper finds it one click away, at the place that introduces it
    unlinked, seen = [], set()
    for cell in cells(path, "markdown"):
        text = source(cell)
        for author, year in sorted(cited_papers(text) - seen):
            seen.add((author, year))
            if not re.search(LINKED_CITATION.format(author=author), text):
                unlinked.append(f"{author} {year} (cell {cell['id']})")
    assert not unlinked, f"cited without a link to the paper where first cited: {', '.join(unlinked)}"


# A backslash sequence typed through a program ("\b" in "$\beta$", "\a" in "\approx") can reach a file as a
# control character: the formula then renders as "eta" and "pprox". Tabs and newlines are the only ones allowed.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ROOT = Path(__file__).resolve().parent.parent
TEXT_SOURCES = sorted([*(ROOT / "notebooks").rglob("*.ipynb"), *(ROOT / "translations").rglob("*.md"),
                       *ROOT.glob("README*.md"), *(ROOT / "data").glob("README*.md")])


def test_the_text_sources_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in TEXT_SOURCES}
    assert {"README.zh-CN.md", "notebooks/zh/23_hooks_and_cam.ipynb",
            "translations/zh/solutions/19_lr_schedulers_solutions.md"} <= names
    assert CONTROL.search("$(1-\beta_1) \approx$") and not CONTROL.search("a\tb\nc")


@pytest.mark.parametrize("path", TEXT_SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_control_character_in_a_lesson_text(path):
    text = path.read_text(encoding="utf-8")
    found = [f"line {text[:m.start()].count(chr(10)) + 1}: {text[max(0, m.start() - 30):m.end() + 10]!r}"
             for m in CONTROL.finditer(text)]
    assert not found, f"control characters in {path.name} (a lost backslash?):\n" + "\n".join(found)
