"""The Chinese edition (notebooks/zh/) never drifts from the English notebooks.

A Chinese notebook is built by ``tools/build_zh.py`` from the executed English
notebook, ``translations/zh/NN_*.md`` (markdown) and ``translations/zh/code/NN_*.md``
(comments in code cells). These tests fail when a committed Chinese notebook is
not what a build would write now: code other than comments or an output differs,
a markdown cell or a comment has no translation, or English text changed since it
was translated. The comparison of code strips comments with :mod:`tokenize`, so
strings and everything else must be the English bytes. Because the Chinese code
is no longer the English file, the full ``python course.py test`` also executes
the Chinese notebooks under nbval (``notebooks/conftest.py``, ``CAMP_TEST_ZH=1``).
"""
import io
import json
import os
import re
import shutil
import sys
import tokenize
from pathlib import Path

import pytest
from script_loader import load_script

ROOT = Path(__file__).resolve().parent.parent
build_zh = sys.modules.get("build_zh") or load_script("tools/build_zh.py", register=True)  # dataclasses need it there

LESSONS = build_zh.lessons(ROOT)
CJK = re.compile(r"[\u4e00-\u9fff]")


def _ids(lesson):
    return lesson.en_path.name


def _report(found):
    return "the Chinese edition drifted from the English notebook:\n" + "\n".join(f"  - {p}" for p in found)


def test_every_lesson_and_its_solutions_are_translated():
    lessons = ["19", "20", "21", "22", "23"]
    assert [ls.key for ls in LESSONS] == lessons + [f"solutions/{n}" for n in lessons]


@pytest.mark.parametrize("lesson", LESSONS, ids=_ids)
def test_every_lesson_has_a_built_chinese_edition(lesson):
    assert lesson.tr_path.exists(), f"{lesson.rel(lesson.tr_path)} is missing: start it with `{lesson.sync_command}`"
    assert lesson.zh_path.exists(), f"{lesson.rel(lesson.zh_path)} is missing: build it with `{lesson.build_command}`"


@pytest.mark.parametrize("lesson", LESSONS, ids=_ids)
def test_chinese_notebook_is_exactly_what_a_build_writes_now(lesson):
    found = build_zh.problems(lesson)
    assert not found, _report(found)


def _without_comments(source):
    """The code with its comments cut off (found with tokenize; IPython %magic lines kept as they are).

    Written again here, independently of build_zh.strip_comments. Pragmas such as
    ``# NBVAL_IGNORE_OUTPUT`` and ``# noqa`` are kept, so they must be identical too.
    """
    lines = source.split("\n")
    masked = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)
    for tok in reversed(list(tokenize.generate_tokens(io.StringIO(masked).readline))):
        if tok.type == tokenize.COMMENT and not re.match(r"#\s*(NBVAL_|noqa\b|type:|pragma\b)", tok.string):
            row, col = tok.start
            lines[row - 1] = lines[row - 1][:col].rstrip()
    return "\n".join(lines)


@pytest.mark.parametrize("lesson", LESSONS, ids=_ids)
def test_code_cells_and_outputs_are_identical_and_markdown_is_chinese(lesson):
    """Checked from the two files directly, independently of the builder: code equal once comments are removed."""
    en = json.loads(lesson.en_path.read_text(encoding="utf-8"))
    zh = json.loads(lesson.zh_path.read_text(encoding="utf-8"))
    assert len(zh["cells"]) == len(en["cells"])
    assert zh["metadata"] == en["metadata"]
    for e, z in zip(en["cells"], zh["cells"]):
        assert (z["id"], z["cell_type"]) == (e["id"], e["cell_type"])
        if e["cell_type"] == "markdown":
            assert CJK.search("".join(z["source"])), f"markdown cell {e['id']} of {lesson.zh_path.name} has no Chinese"
            assert {k: v for k, v in z.items() if k != "source"} == {k: v for k, v in e.items() if k != "source"}
        elif e["cell_type"] == "code":
            rebuild = f"rebuild with `{lesson.build_command}`"
            assert {k: v for k, v in z.items() if k != "source"} == {k: v for k, v in e.items() if k != "source"}, \
                f"outputs or metadata of code cell {e['id']} differ: {rebuild}"
            en_code, zh_code = "".join(e["source"]), "".join(z["source"])
            assert _without_comments(zh_code) == _without_comments(en_code), \
                f"code cell {e['id']} of {lesson.zh_path.name} differs from the English in more than comments"
            first = en_code.split("\n", 1)[0]
            if first.startswith("# NBVAL_"):
                assert zh_code.split("\n", 1)[0] == first, f"cell {e['id']}: the marker {first!r} must stay"
        else:
            assert z == e, f"{e['cell_type']} cell {e['id']} differs: rebuild with `{lesson.build_command}`"


@pytest.mark.parametrize("lesson", LESSONS, ids=_ids)
def test_chinese_title_is_the_english_notebooks_chinese_title(lesson):
    en_title = "".join(json.loads(lesson.en_path.read_text(encoding="utf-8"))["cells"][0]["source"]).splitlines()[0]
    zh_title = "".join(json.loads(lesson.zh_path.read_text(encoding="utf-8"))["cells"][0]["source"]).splitlines()[0]
    chinese_name = en_title.rsplit(" · ", 1)[-1].strip()
    assert CJK.search(chinese_name), en_title
    assert zh_title.startswith(f"# 第{int(lesson.number)}课 · ") and zh_title.endswith(chinese_name), zh_title


# --- the tool itself, on a small made-up lesson -------------------------------------------------

def _cell(cid, kind, text, outputs=None):
    cell = {"cell_type": kind, "id": cid, "metadata": {}, "source": text}
    if kind == "code":
        cell.update(execution_count=1, outputs=outputs or [])
    return cell


def _write_english(root, cells, name="20_demo.ipynb"):
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    path = root / "notebooks" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_zh.dumps(nb), encoding="utf-8")
    return path


def _translate(lesson, texts):
    """Play the translator: put ``texts`` (cell id -> Chinese) into their entries and clear the todo flags."""
    entries = build_zh.parse_translation(lesson.tr_path.read_text(encoding="utf-8"))
    for e in entries:
        if e.cell_id in texts:
            e.text, e.todo = texts[e.cell_id], False
    lesson.tr_path.write_text(build_zh.format_translation(lesson, entries), encoding="utf-8")


@pytest.fixture
def demo(tmp_path):
    """A translated and built one-lesson course in a temporary folder."""
    out = [{"output_type": "stream", "name": "stdout", "text": "4\n"}]
    _write_english(tmp_path, [_cell("a1", "markdown", "# Lesson 20 · Demo · 演示\n\nWe add numbers."),
                              _cell("a2", "code", "print(2 + 2)", out),
                              _cell("a3", "markdown", "The sum is $a + b$; see `print`.")])
    lesson = build_zh.find_lesson("20", tmp_path)
    build_zh.sync(lesson)
    _translate(lesson, {"a1": "# 第20课 · Demo · 演示\n\n我们把数相加。", "a3": "和为 $a + b$；见 `print`。"})
    assert build_zh.main(["20"], root=tmp_path) == 0
    return lesson


def test_a_built_notebook_has_english_code_and_outputs_and_chinese_markdown(demo):
    zh = json.loads(demo.zh_path.read_text(encoding="utf-8"))
    en = json.loads(demo.en_path.read_text(encoding="utf-8"))
    assert zh["cells"][1] == en["cells"][1]
    assert "".join(zh["cells"][2]["source"]) == "和为 $a + b$；见 `print`。"
    assert build_zh.problems(demo) == []


def test_a_planted_change_to_an_english_markdown_cell_is_reported_with_cell_and_command(demo):
    nb = json.loads(demo.en_path.read_text(encoding="utf-8"))
    nb["cells"][2]["source"] = "The sum is $a + b$; see `print` and `sum`."
    demo.en_path.write_text(build_zh.dumps(nb), encoding="utf-8")
    found = build_zh.problems(demo)
    assert [p.cell_id for p in found] == ["a3"]
    message = str(found[0])
    assert "cell a3 of 20_demo.ipynb" in message and "English text changed" in message
    assert "python tools/build_zh.py --sync 20" in message and "python tools/build_zh.py 20" in message
    assert build_zh.main(["--check"], root=demo.root) == 1
    # the build refuses rather than writing a stale translation
    assert build_zh.main(["20"], root=demo.root) == 1
    # the author's fix: sync (keeps the old translation, marks it todo), re-translate, rebuild
    report = build_zh.sync(demo)
    assert report["changed"] == ["a3"] and report["kept"] == ["a1"]
    entry = build_zh.parse_translation(demo.tr_path.read_text(encoding="utf-8"))[1]
    assert entry.todo and entry.text == ("和为 $a + b$；见 `print`。\n\n" + build_zh.REFERENCE +
                                         "\nThe sum is $a + b$; see `print` and `sum`.")
    _translate(demo, {"a3": "和为 $a + b$；见 `print` 和 `sum`。"})
    assert build_zh.main(["20"], root=demo.root) == 0
    assert build_zh.problems(demo) == []


def test_a_changed_output_reaches_the_chinese_notebook_by_rebuilding_only(demo):
    nb = json.loads(demo.en_path.read_text(encoding="utf-8"))
    nb["cells"][1]["outputs"][0]["text"] = "5\n"
    demo.en_path.write_text(build_zh.dumps(nb), encoding="utf-8")
    found = build_zh.problems(demo)
    assert [p.cell_id for p in found] == ["a2"] and "outputs" in str(found[0])
    assert build_zh.main(["20"], root=demo.root) == 0
    assert build_zh.problems(demo) == []


def test_a_hand_edited_chinese_notebook_is_reported(demo):
    nb = json.loads(demo.zh_path.read_text(encoding="utf-8"))
    nb["cells"][2]["source"] = "手改的。"
    demo.zh_path.write_text(json.dumps(nb), encoding="utf-8")
    found = build_zh.problems(demo)
    assert [p.cell_id for p in found] == ["a3"] and "not the translation" in str(found[0])


def test_a_new_markdown_cell_needs_a_translation(demo):
    nb = json.loads(demo.en_path.read_text(encoding="utf-8"))
    nb["cells"].append(_cell("a4", "markdown", "## Summary\n\nAdding works."))
    demo.en_path.write_text(build_zh.dumps(nb), encoding="utf-8")
    assert [p.cell_id for p in build_zh.problems(demo)] == ["a4"]
    report = build_zh.sync(demo)
    assert report["new"] == ["a4"]
    # the todo entry holds the English text to translate; an untranslated entry still fails
    entry = build_zh.parse_translation(demo.tr_path.read_text(encoding="utf-8"))[-1]
    assert entry.todo and entry.text == build_zh.REFERENCE + "\n## Summary\n\nAdding works."
    assert "todo" in str(build_zh.problems(demo)[0])
    # clearing the flag but leaving the English in is reported too
    entries = build_zh.parse_translation(demo.tr_path.read_text(encoding="utf-8"))
    entries[-1].todo = False
    demo.tr_path.write_text(build_zh.format_translation(demo, entries), encoding="utf-8")
    assert "still holds the English" in str(build_zh.problems(demo)[0])
    _translate(demo, {"a4": "## 小结\n\n加法可行。"})
    assert build_zh.main(["20"], root=demo.root) == 0 and build_zh.problems(demo) == []


def test_sync_carries_translations_over_renumbered_ids_and_drops_deleted_cells(demo):
    nb = json.loads(demo.en_path.read_text(encoding="utf-8"))
    nb["cells"] = [dict(nb["cells"][2], id="b1"), dict(nb["cells"][1], id="b2")]
    demo.en_path.write_text(build_zh.dumps(nb), encoding="utf-8")
    report = build_zh.sync(demo)
    assert report["moved"] == ["a3->b1"] and report["dropped"] == ["a1"]
    assert build_zh.main(["20"], root=demo.root) == 0 and build_zh.problems(demo) == []


def test_sync_offers_the_old_translation_of_a_renumbered_and_edited_cell(demo):
    nb = json.loads(demo.en_path.read_text(encoding="utf-8"))
    nb["cells"] = [dict(nb["cells"][0], id="b0"), nb["cells"][1],
                   dict(nb["cells"][2], id="b3", source="The sum is $a + b$.")]
    demo.en_path.write_text(build_zh.dumps(nb), encoding="utf-8")
    report = build_zh.sync(demo)
    assert report["moved"] == ["a1->b0"] and report["changed"] == ["a3->b3"] and report["dropped"] == []
    entry = build_zh.parse_translation(demo.tr_path.read_text(encoding="utf-8"))[1]
    assert entry.todo and entry.text.startswith("和为 $a + b$；见 `print`。\n\n" + build_zh.REFERENCE)


def test_notebooks_without_cell_ids_are_reported_not_edited(tmp_path):
    path = _write_english(tmp_path, [_cell("x", "markdown", "Hello")])
    nb = json.loads(path.read_text(encoding="utf-8"))
    del nb["cells"][0]["id"]
    nb["nbformat_minor"] = 4
    path.write_text(json.dumps(nb), encoding="utf-8")
    before = path.read_bytes()
    lesson = build_zh.find_lesson("20", tmp_path)
    with pytest.raises(build_zh.BuildError, match="cells without an id"):
        build_zh.sync(lesson)
    assert path.read_bytes() == before


def test_translation_files_round_trip_and_reject_malformed_markers(tmp_path):
    lesson = build_zh.Lesson(tmp_path / "20_x.ipynb", tmp_path / "20_x.md", tmp_path / "zh" / "20_x.ipynb", tmp_path)
    entries = [build_zh.Entry("c1", "0123456789abcdef", "# 标题\n\n```mermaid\nA --> B\n```"),
               build_zh.Entry("c2", "fedcba9876543210", "正文", todo=True)]
    assert build_zh.parse_translation(build_zh.format_translation(lesson, entries)) == entries
    with pytest.raises(build_zh.BuildError, match="malformed marker"):
        build_zh.parse_translation("<!-- cell: c1 | en-sha256: 123 -->\ntext")
    with pytest.raises(build_zh.BuildError, match="two entries"):
        build_zh.parse_translation("<!-- cell: c1 | en-sha256: 0123456789abcdef -->\na\n"
                                   "<!-- cell: c1 | en-sha256: 0123456789abcdef -->\nb")


def test_the_hash_ignores_line_endings_and_trailing_spaces_only():
    assert build_zh.english_hash("a  \r\nb\n") == build_zh.english_hash("a\nb")
    assert build_zh.english_hash("a\nb") != build_zh.english_hash("a\nc")


def test_a_planted_change_in_a_real_lesson_is_detected_and_a_rebuild_fixes_it(tmp_path):
    real = LESSONS[0]
    # the other lessons and solutions come along (English and translation): the lesson links to some of them,
    # and each such link points at its Chinese edition
    others = [path for ls in LESSONS if ls is not real for path in (ls.en_path, ls.tr_path)]
    for path in (real.en_path, real.tr_path, real.code_path, real.zh_path, *others):
        target = tmp_path / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    lesson = build_zh.find_lesson(real.number, tmp_path)
    assert build_zh.problems(lesson) == [], "the committed lesson must be in sync to start with"
    nb = json.loads(lesson.en_path.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"][1:] if c["cell_type"] == "markdown")
    cell["source"] = "".join(cell["source"]) + "\n\nA sentence the translator has not seen."
    lesson.en_path.write_text(build_zh.dumps(nb), encoding="utf-8")
    found = build_zh.problems(lesson)
    assert [p.cell_id for p in found] == [cell["id"]] and "English text changed" in str(found[0])
    # re-translate (here: the old translation plus the new sentence), then rebuild
    build_zh.sync(lesson)
    entries = build_zh.parse_translation(lesson.tr_path.read_text(encoding="utf-8"))
    fixed = next(e for e in entries if e.cell_id == cell["id"])
    assert fixed.todo and fixed.text.endswith("A sentence the translator has not seen.")
    old_translation = fixed.text.split(build_zh.REFERENCE)[0].strip()
    _translate(lesson, {fixed.cell_id: old_translation + "\n\n译者还没见过的一句话。"})
    assert build_zh.main([real.number], root=tmp_path) == 0
    assert build_zh.problems(lesson) == []


def test_relative_images_and_links_point_at_the_same_files_from_notebooks_zh(tmp_path):
    for name in ("notebooks/20_x.ipynb", "notebooks/21_y.ipynb", "notebooks/22_z.ipynb",
                 "notebooks/solutions/20_x_solutions.ipynb", "translations/zh/21_y.md",
                 "translations/zh/solutions/20_x_solutions.md"):  # 22_z has no Chinese edition yet
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}", encoding="utf-8")
    lesson, _, _, solutions = build_zh.lessons(tmp_path)
    assert (lesson.key, solutions.key) == ("20", "solutions/20")
    assert solutions.zh_path == tmp_path / "notebooks" / "zh" / "solutions" / "20_x_solutions.ipynb"
    text = ('![图](img/20_a.png "标题") <img src="img/b.png" width="300"> [数据](../data/README.md) '
            "[第21课](21_y.ipynb) [第22课](22_z.ipynb) [答案](solutions/20_x_solutions.ipynb#练习-1) "
            "[网页](https://pytorch.org) [锚点](#summary) `![c](img/c.png)`")
    assert build_zh.relink(text, lesson) == (
        '![图](../img/20_a.png "标题") <img src="../img/b.png" width="300"> [数据](../../data/README.md) '
        "[第21课](21_y.ipynb) [第22课](../22_z.ipynb) [答案](solutions/20_x_solutions.ipynb#练习-1) "
        "[网页](https://pytorch.org) [锚点](#summary) `![c](img/c.png)`")
    # from notebooks/zh/solutions/: the lessons' Chinese editions are one folder up, the pictures two
    text = "[第21课](../21_y.ipynb) [第20课](../20_x.ipynb) ![图](../img/20_a.png)"
    assert build_zh.relink(text, solutions) == ("[第21课](../21_y.ipynb) [第20课](../../20_x.ipynb) "
                                                "![图](../../img/20_a.png)")


def test_a_solutions_notebook_is_named_by_its_key_file_or_path(tmp_path):
    for name in ("notebooks/19_a.ipynb", "notebooks/solutions/19_a_solutions.ipynb"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}", encoding="utf-8")
    assert build_zh.find_lesson("19", tmp_path).en_path.name == "19_a.ipynb"
    for name in ("solutions/19", "19_a_solutions.ipynb", "notebooks/solutions/19_a_solutions.ipynb",
                 "translations/zh/solutions/19_a_solutions.md", "notebooks/zh/solutions/19_a_solutions.ipynb"):
        assert build_zh.find_lesson(name, tmp_path).en_path.name == "19_a_solutions.ipynb", name
    with pytest.raises(ValueError, match="'solutions/20' not found; known: 19, solutions/19"):
        build_zh.find_lesson("solutions/20", tmp_path)


_COMMENTED = ('# NBVAL_IGNORE_OUTPUT\nx = "# not a comment"  # the value\n'
              'print(x)  # noqa: T201\n# wrong: before optimizer.step()\nprint(len(x))')


@pytest.fixture
def commented(demo):
    """The demo lesson with a code cell that has comments, a '#' in a string and pragmas (not translated yet)."""
    nb = json.loads(demo.en_path.read_text(encoding="utf-8"))
    nb["cells"].insert(2, _cell("a9", "code", _COMMENTED, [{"output_type": "stream", "name": "stdout",
                                                              "text": "# not a comment\n15\n"}]))
    demo.en_path.write_text(build_zh.dumps(nb), encoding="utf-8")
    return demo


def _translate_comments(lesson, texts):
    entries = build_zh.parse_code_translation(lesson.code_path.read_text(encoding="utf-8"))
    for e in entries:
        e.comments.update({en: zh for en, zh in texts.items() if en in e.comments})
    lesson.code_path.write_text(build_zh.format_code_translation(lesson, entries), encoding="utf-8")


def test_comments_are_translated_but_strings_pragmas_and_outputs_are_not(commented):
    found = build_zh.problems(commented)
    assert [p.cell_id for p in found] == [None] and "does not exist" in str(found[0])
    report = build_zh.sync_code(commented)
    assert report["new"] == ["a9: # the value", "a9: # wrong: before optimizer.step()"]  # no pragma, no string
    assert {str(p).split(": ", 1)[0] for p in build_zh.problems(commented)} == {"cell a9 of 20_demo.ipynb"}
    assert build_zh.main(["20"], root=commented.root) == 1  # the build refuses untranslated comments
    _translate_comments(commented, {"# the value": "# 这个值", "# wrong: before optimizer.step()":
                                    "# 错误：在 optimizer.step() 之前调用"})
    assert build_zh.main(["20"], root=commented.root) == 0 and build_zh.problems(commented) == []
    zh = json.loads(commented.zh_path.read_text(encoding="utf-8"))["cells"][2]
    en = json.loads(commented.en_path.read_text(encoding="utf-8"))["cells"][2]
    assert "".join(zh["source"]) == ('# NBVAL_IGNORE_OUTPUT\nx = "# not a comment"  # 这个值\n'
                                     'print(x)  # noqa: T201\n# 错误：在 optimizer.step() 之前调用\nprint(len(x))')
    assert zh["outputs"] == en["outputs"]
    assert _without_comments("".join(zh["source"])) == _without_comments(_COMMENTED)
    assert build_zh.strip_comments(_COMMENTED) == ('# NBVAL_IGNORE_OUTPUT\nx = "# not a comment"\n'
                                                   'print(x)  # noqa: T201\n\nprint(len(x))')


def test_an_edited_english_comment_is_reported_and_sync_keeps_the_old_chinese_as_a_hint(commented):
    build_zh.sync_code(commented)
    _translate_comments(commented, {"# the value": "# 这个值", "# wrong: before optimizer.step()": "# 错误"})
    assert build_zh.main(["20"], root=commented.root) == 0
    nb = json.loads(commented.en_path.read_text(encoding="utf-8"))
    nb["cells"][2]["source"] = _COMMENTED.replace("# the value", "# the string")
    commented.en_path.write_text(build_zh.dumps(nb), encoding="utf-8")
    messages = [str(p) for p in build_zh.problems(commented)]
    assert len(messages) == 2 and "'# the string' has no translation" in messages[0]
    assert "stale entry" in messages[1] and "'# the value'" in messages[1]
    assert "python tools/build_zh.py --sync 20" in messages[0]
    assert build_zh.main(["--check"], root=commented.root) == 1
    report = build_zh.sync_code(commented)
    assert report == {"kept": ["a9: # wrong: before optimizer.step()"], "moved": [], "new": ["a9: # the string"],
                      "dropped": ["a9: # the value"]}
    entry = build_zh.parse_code_translation(commented.code_path.read_text(encoding="utf-8"))[0]
    assert entry.comments["# the string"] == "" and entry.was["# the string"] == "# 这个值"
    _translate_comments(commented, {"# the string": "# 这个字符串"})
    assert build_zh.main(["20"], root=commented.root) == 0 and build_zh.problems(commented) == []
    assert "\nwas:" not in commented.code_path.read_text(encoding="utf-8")


def test_a_translation_must_be_a_comment_and_keep_its_pragma(commented):
    build_zh.sync_code(commented)
    _translate_comments(commented, {"# the value": "这个值", "# wrong: before optimizer.step()": "# 错误"})
    assert "must start with '#'" in str(build_zh.problems(commented)[0])
    with pytest.raises(build_zh.BuildError, match="two translations"):
        build_zh.parse_code_translation("<!-- code: a -->\nen: # x\nzh: # 一\nen: # x\nzh: # 二")
    with pytest.raises(build_zh.BuildError, match="must follow its 'en:'"):
        build_zh.parse_code_translation("<!-- code: a -->\nzh: # 一")
    assert build_zh.is_pragma("# NBVAL_IGNORE_OUTPUT") and build_zh.is_pragma("# noqa: E501")
    assert not build_zh.is_pragma("# the value")


@pytest.mark.parametrize("lesson", LESSONS, ids=_ids)
def test_the_chinese_notebooks_comments_are_chinese(lesson):
    cells = json.loads(lesson.zh_path.read_text(encoding="utf-8"))["cells"]
    chinese = [c for c in cells if c["cell_type"] == "code" and
               any(CJK.search(line.split("#", 1)[-1]) for line in c["source"] if "#" in line)]
    assert chinese, f"no code cell of {lesson.zh_path.name} has a Chinese comment"


def _course_script():
    return load_script("course.py", "course_script_zh")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_lab_lang_zh_opens_the_chinese_copies_with_jupyterlab_in_chinese_and_en_does_not(lang, monkeypatch, tmp_path):
    course = _course_script()
    seen = {}
    monkeypatch.setattr(course, "copy_new_lessons", list)
    monkeypatch.setattr(course, "lab_app_dir", lambda python: tmp_path)
    monkeypatch.setattr(course, "run_foreground",
                        lambda cmd, **kw: seen.update(cmd=cmd, env=kw["env"], cwd=kw["cwd"]) or 0)
    monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)
    monkeypatch.setenv("CAMP_LANG", "zh" if lang == "en" else "en")  # a stale value in the shell loses
    assert course.cmd_lab(Path("python"), ["--port", "8889"], lang) == 0
    assert seen["cmd"][seen["cmd"].index("--notebook-dir") + 1] == str(course.LEARNER_NOTEBOOKS)
    # started in the learner's folder, so its terminals open there (tests/e2e checks where they open)
    assert Path(seen["cwd"]) == course.LEARNER_NOTEBOOKS
    assert seen["env"]["CAMP_LANG"] == lang  # camp_utils' messages in the learner's language
    if lang == "en":
        assert "JUPYTER_CONFIG_PATH" not in seen["env"] and not any("default_url" in a for a in seen["cmd"])
        return
    # the Chinese folder opens first; options the learner passes come later, so they win
    assert seen["cmd"].index("--LabApp.default_url=/lab/tree/zh") < seen["cmd"].index("--port")
    config = Path(seen["env"]["JUPYTER_CONFIG_PATH"].split(os.pathsep)[0])
    overrides = json.loads((config / "labconfig" / "default_setting_overrides.json").read_text(encoding="utf-8"))
    assert overrides == {"@jupyterlab/translation-extension:plugin": {"locale": "zh_CN"}}
    assert re.search(r"^jupyterlab-language-pack-zh-CN==\S+", (ROOT / "requirements.txt").read_text(), re.M)


def test_the_full_test_run_executes_the_chinese_notebooks_in_english_and_portable_runs_do_not(monkeypatch):
    course = _course_script()
    calls = []
    monkeypatch.setenv("CAMP_TEST_WORKERS", "1")  # one pytest per pass, nothing else (workers: test_course_script)
    monkeypatch.setattr(course, "cmd_lint", lambda python: 0)
    monkeypatch.setattr(course.subprocess, "call", lambda cmd, cwd, env: calls.append((cmd, env)) or 0)
    monkeypatch.setenv("CAMP_LANG", "zh")
    monkeypatch.setenv("CAMP_TEST_ZH", "1")
    assert course.cmd_test(Path("python"), []) == 0
    (english, english_env), (chinese, chinese_env) = calls
    assert "notebooks/zh" not in english and english_env.get("CAMP_TEST_ZH") is None
    assert chinese[-1:] == ["notebooks/zh"] and chinese_env["CAMP_TEST_ZH"] == "1"  # lessons and solutions
    assert chinese_env["CAMP_EXPECT_NOTEBOOKS"] == "notebooks/zh,notebooks/zh/solutions"
    assert "CAMP_LANG" not in english_env and "CAMP_LANG" not in chinese_env  # outputs are the English ones
    calls.clear()
    assert course.cmd_test(Path("python"), [], "generic") == 0
    assert calls[0][1].get("CAMP_TEST_ZH") is None and "CAMP_LANG" not in calls[0][1]
    calls.clear()
    assert course.cmd_test(Path("python"), ["notebooks"]) == 0
    assert calls[0][1].get("CAMP_TEST_ZH") is None


def test_notebooks_conftest_collects_zh_only_when_asked(monkeypatch):
    def collect_ignore():
        return load_script("notebooks/conftest.py", "notebooks_conftest").collect_ignore

    monkeypatch.delenv("CAMP_TEST_ZH", raising=False)
    assert collect_ignore() == ["zh"]
    monkeypatch.setenv("CAMP_TEST_ZH", "1")
    monkeypatch.setenv("CAMP_LANG", "zh")
    assert collect_ignore() == []
    assert "CAMP_LANG" not in os.environ  # every kernel nbval starts prints the English messages


def test_the_chinese_notebooks_run_right_after_the_english_lessons():
    module = load_script("notebooks/conftest.py", "notebooks_conftest_order")
    nb = ROOT / "notebooks"
    paths = [ROOT / "tests" / "test_x.py", nb / "solutions" / "20_s.ipynb", nb / "20_a.ipynb", nb / "20_a.ipynb",
             nb / "21_b.ipynb", nb / "zh" / "20_a.ipynb", nb / "zh" / "21_b.ipynb"]
    items = [type("Item", (), {"path": p})() for p in paths]
    module.pytest_collection_modifyitems(None, None, items)
    assert [Path(i.path).relative_to(ROOT).as_posix() for i in items] == [
        "tests/test_x.py", "notebooks/solutions/20_s.ipynb", "notebooks/20_a.ipynb", "notebooks/20_a.ipynb",
        "notebooks/21_b.ipynb", "notebooks/zh/20_a.ipynb", "notebooks/zh/21_b.ipynb"]
    items[:] = [items[i] for i in (0, 5, 6, 1, 2, 3, 4)]
    module.pytest_collection_modifyitems(None, None, items)
    assert [Path(i.path).relative_to(ROOT).as_posix() for i in items][-3:] == [
        "notebooks/21_b.ipynb", "notebooks/zh/20_a.ipynb", "notebooks/zh/21_b.ipynb"]


def _rejected_patterns():
    """The 'rejected (pattern)' column of translations/zh/GLOSSARY.md: regular expressions in backticks."""
    rows = (ROOT / "translations" / "zh" / "GLOSSARY.md").read_text(encoding="utf-8").splitlines()
    patterns = []
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0] not in ("English", "") and not set(cells[0]) <= set("-"):
            patterns += re.findall(r"`([^`]+)`", cells[2])
    return patterns


def test_the_glossary_rejects_the_renderings_the_native_review_flagged():
    patterns = _rejected_patterns()
    assert {"调整器", "框架(?!班)", "指点游戏", "看板", "小部件", "挂钟时间", "默认的数据加载器"} <= set(patterns)
    assert re.search("框架(?!班)", "PyTorch框架班") is None and re.search("框架(?!班)", "这个框架") is not None
    run_noun = next(p for p in patterns if p.endswith("个运行(?!中的服务器)"))  # TensorBoard's run, not the verb
    assert all(re.search(run_noun, ok) is None for ok in ("一个 run（一次运行记录）", "每次运行", "一个运行中的服务器"))
    assert re.search(run_noun, "这个运行里同时有了两次执行的数据") and re.search(run_noun, "四个运行并排显示")
    trust = next(p for p in patterns if "Trust Notebook" in p)  # the English menu only in brackets
    assert re.search(trust, "*文件 → 信任笔记本*（File → Trust Notebook）") is None
    assert re.search(trust, "*File → Trust Notebook*")


def test_no_rejected_rendering_in_the_chinese_notebooks_or_readme():
    texts = {"README.zh-CN.md": (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")}
    for path in sorted((ROOT / "notebooks" / "zh").rglob("[0-9][0-9]_*.ipynb")):  # lessons and solutions
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        texts[path.name] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    found = [f"{name}: {m.group(0)!r} (pattern {pattern!r}) in ...{text[max(0, m.start() - 20):m.end() + 20]}..."
             for pattern in _rejected_patterns() for name, text in texts.items()
             for m in re.finditer(pattern, text)]
    assert not found, "rejected renderings (see translations/zh/GLOSSARY.md):\n" + "\n".join(found)


@pytest.mark.parametrize("folder", ["notebooks", "notebooks/zh", "notebooks/solutions", "notebooks/zh/solutions"])
def test_every_relative_link_and_image_of_the_notebooks_exists(folder):
    """A link is checked from the notebook's own folder, as JupyterLab and GitHub open it."""
    broken = []
    for path in sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            text = build_zh._CODE.sub("", "".join(cell["source"]))
            spans = [m.span() for m in build_zh._INLINE_CODE.finditer(text)]
            for m in build_zh._LINK.finditer(text):
                target = m[2].split("#")[0]
                external = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target)
                if any(a < m.start() < b for a, b in spans) or not target or external:
                    continue
                if not (path.parent / target).exists():
                    broken.append(f"{path.relative_to(ROOT)} cell {cell.get('id')}: {m[2]}")
    assert broken == []
