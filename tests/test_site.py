"""tools/build_site.py without a build: what it stages (tests/e2e/test_site_in_browser.py builds and reads it)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import build_site  # noqa: E402

EN, ZH = build_site.EDITIONS["en"], build_site.EDITIONS["zh"]


def _notebook(*cells):
    return {"cells": list(cells), "metadata": {"widgets": {"state": {}}, "kernelspec": {"name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


def _code(outputs, **meta):
    return {"cell_type": "code", "id": "c", "metadata": meta, "source": "x", "outputs": outputs,
            "execution_count": 1}


def test_each_edition_has_every_lesson_then_every_solution():
    for edition, folder in ((EN, "notebooks"), (ZH, "notebooks/zh")):
        pages = build_site.lesson_pages(edition)
        assert [Path(p).name[:2] for p in pages] == ["19", "20", "21", "22", "23"] * 2
        assert all(p.startswith(folder + "/") for p in pages[:5])
        assert all(p.startswith(folder + "/solutions/") for p in pages[5:])


def test_the_language_switch_pairs_each_page_with_the_same_page_in_the_other_edition():
    assert build_site.counterpart("notebooks/23_hooks_and_cam", EN) == "notebooks/zh/23_hooks_and_cam"
    assert build_site.counterpart("notebooks/zh/solutions/21_x_solutions", ZH) == "notebooks/solutions/21_x_solutions"
    assert build_site.counterpart("README", EN) == "README.zh-CN"
    assert build_site.counterpart("data/README.zh-CN", ZH) == "data/README"
    assert build_site.counterpart("genindex", EN) == "index"


def test_a_widget_shows_its_picture_and_says_it_is_live_in_jupyterlab():
    widget = {"output_type": "display_data", "metadata": {},
              "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "m"}, "image/png": "iVBOR",
                       "text/plain": "explorer"}}
    nb = build_site.static_notebook(_notebook(_code([widget])), ZH)
    [picture, note] = nb["cells"][0]["outputs"]
    assert set(picture["data"]) == {"image/png", "text/plain"}
    assert note["data"]["text/html"] == ZH.live_widget and "lab --lang zh" in note["data"]["text/html"]
    assert "widgets" not in nb["metadata"]  # no widget library fetched from the internet


def test_the_inline_tensorboard_frame_becomes_a_note_and_collapsed_inputs_a_toggle():
    frame = {"output_type": "display_data", "metadata": {},
             "data": {"text/html": ['<iframe id="tensorboard-frame-1a2b"></iframe>'], "text/plain": "HTML"}}
    other = {"output_type": "stream", "name": "stdout", "text": "kept"}
    nb = build_site.static_notebook(_notebook(_code([frame, other], jupyter={"source_hidden": True})), EN)
    cell = nb["cells"][0]
    assert cell["outputs"] == [build_site._html_output(EN.live_frame), other]
    assert cell["metadata"]["tags"] == ["hide-input"]


def test_links_to_the_other_editions_pages_go_to_its_site_and_the_rest_stay():
    text = ("[中文版](README.zh-CN.md) [lesson](notebooks/20_tensorboard_install.ipynb) "
            "`[code](README.zh-CN.md)` ![pic](notebooks/img/x.png)")
    assert build_site.cross_links(text, "README.md", EN) == (
        '<a href="../zh/README.zh-CN.html">中文版</a> [lesson](notebooks/20_tensorboard_install.ipynb) '
        "`[code](README.zh-CN.md)` ![pic](notebooks/img/x.png)")
    text = "[English](../../README.md#quick-start)"
    assert build_site.cross_links(text, "notebooks/zh/20_tensorboard_install.ipynb", ZH) == (
        '<a href="../../../en/README.html#quick-start">English</a>')


def test_staging_copies_the_pages_and_the_files_they_link_to(tmp_path):
    pages = build_site.stage(EN, tmp_path / "en")
    assert pages[0] == "README" and pages[-1] == "data/README" and len(pages) == 12
    staged = json.loads((tmp_path / "en" / "notebooks" / "19_lr_schedulers.ipynb").read_text(encoding="utf-8"))
    assert "widgets" not in staged["metadata"]
    assert (tmp_path / "en" / "notebooks" / "img").is_dir()
    assert not (tmp_path / "en" / "README.zh-CN.md").exists()  # the other edition's pages are linked, not copied
    index = (tmp_path / "en" / "index.md").read_text(encoding="utf-8")
    assert "notebooks/19_lr_schedulers\n" in index and "notebooks/solutions/23_hooks_and_cam_solutions" in index


def test_a_linked_file_that_is_not_a_page_is_found_to_be_copied_as_a_download(tmp_path):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "run.py").write_text("print(1)\n")
    page = tmp_path / "page.md"
    page.write_text("[the script](scripts/run.py), [gone](scripts/gone.py), `[code](scripts/run.py)`, "
                    "[web](https://pytorch.org)\n", encoding="utf-8")
    assert build_site.linked_files(page, tmp_path) == {(tmp_path / "scripts" / "run.py").resolve()}
