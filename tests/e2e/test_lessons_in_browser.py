"""The lessons as a learner sees them: JupyterLab in a real headless Chromium (see conftest.py).

Each test opens the learner's copy of a lesson in the browser, runs what it needs
through JupyterLab's own menu, and checks what is on the screen -- the things
nbval cannot see: the inline TensorBoard frame and what TensorBoard shows in it
(lesson 20, Run All), progress bars as widgets (lesson 21, the cells up to its
first ``fit``), the interactive scheduler explorer redrawing (lesson 19, its
imports and the explorer's cell), and that a notebook of each folder opens
cleanly with its kernel. Whether every cell of every notebook runs and prints
what is committed is nbval's job (``course.py test`` runs each notebook once);
``tests/test_notebooks.py`` checks every notebook's kernel from the files.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A notebook of each folder: what differs between them in the browser is the folder (the kernel's working folder,
# relative pictures); their kernelspecs are checked from the files for all twenty (tests/test_notebooks.py).
OPENED = ["20_tensorboard_install.ipynb", "zh/22_tensorboard_images_make_grid.ipynb",
          "solutions/23_hooks_and_cam_solutions.ipynb",
          "zh/solutions/21_tensorboard_scalars_histograms_solutions.ipynb"]
LESSON_19 = "19_lr_schedulers.ipynb"
LESSON_20 = "20_tensorboard_install.ipynb"
LESSON_21 = "21_tensorboard_scalars_histograms.ipynb"
TB_FRAME = "iframe[id^='tensorboard-frame-']"
NEWS_QUESTION = "notified about Jupyter news"
TEXT_PROGRESS_BAR = re.compile(r"\d+%\|")  # tqdm's text bar, e.g. " 40%|####      | 4/10"


def _wait_until(check, timeout: float, what: str, page):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        page.wait_for_timeout(300)


def test_lesson_20_runs_and_its_inline_tensorboard_shows_the_y_equals_2x_scalar(lab, stop_kernels_after):
    page = lab.open_notebook(LESSON_20)
    seconds = lab.run_all(page)
    print(f"lesson 20: Run All took {seconds:.0f} s in the browser")
    assert lab.error_outputs(page) == []
    assert NEWS_QUESTION not in page.locator("body").inner_text()

    frame_element = page.locator(TB_FRAME).first
    frame_element.scroll_into_view_if_needed()
    src = _wait_until(lambda: frame_element.get_attribute("src"), 60, "the %tensorboard frame's address", page)
    # jupyter-server-proxy is installed, so the frame goes through JupyterLab's own port
    assert re.fullmatch(re.escape(lab.url) + r"proxy/\d+/", src), src

    tensorboard = page.frame_locator(TB_FRAME).first
    tensorboard.get_by_text("y=2x", exact=True).first.wait_for(state="visible", timeout=90_000)
    # As a learner would: type the tag into TensorBoard's tag filter, so its chart is the one on screen.
    tag_filter = tensorboard.locator("input[placeholder='Filter tags (regex)']")
    tag_filter.fill("^y=2x$")
    tag_filter.press("Escape")  # close the suggestions list that would cover the chart
    tensorboard.locator("canvas, svg").last.wait_for(state="visible", timeout=30_000)
    page.wait_for_timeout(2000)  # let the chart draw before the picture is taken
    shot = lab.screenshot(frame_element, "lesson20_tensorboard_frame.png")
    print(f"screenshot: {shot}")

    # Ask the TensorBoard behind the frame, through the frame's own address, for the points it draws.
    api = page.context.request
    tags = api.get(src + "data/plugin/scalars/tags").json()
    runs = sorted(run for run, run_tags in tags.items() if "y=2x" in run_tags)
    assert runs, f"no run with tag y=2x among {sorted(tags)}"
    series = {run: api.get(src + "data/plugin/scalars/scalars", params={"run": run, "tag": "y=2x"}).json()
              for run in runs}
    hundred = [run for run, rows in series.items()
               if [step for _, step, _ in rows] == list(range(100))
               and all(value == 2 * step for _, step, value in rows)]
    assert hundred, {run: len(rows) for run, rows in series.items()}

    saved = lab.save(page, LESSON_20)  # the learner's copy holds the run; the course's does not change
    assert not [o for c in saved["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert saved["cells"] and lab.course_changed() == []


def _code_cell(page, name: str, text: str):
    """The first code cell of notebook ``name`` whose source holds ``text``.

    Found by its position in the notebook's file: a cell scrolled out of view shows no source text in the
    page (the editor draws only what is on screen), but every cell is there, in order.
    """
    cells = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))["cells"]
    index = next(k for k, c in enumerate(cells) if c["cell_type"] == "code" and text in "".join(c["source"]))
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.scroll_into_view_if_needed()
    assert "jp-CodeCell" in (cell.get_attribute("class") or ""), f"cell {index} of {name} is not a code cell"
    return cell


def test_lesson_21_shows_training_progress_as_a_widget(lab, stop_kernels_after):
    assert "CAMP_PROGRESS" not in lab.env  # a learner's session: progress bars are on
    page = lab.open_notebook(LESSON_21)
    # The cells up to the first fit() (its progress bar), as Run > Run All Above Selected Cell from the next one.
    first_fit = _code_cell(page, LESSON_21, "from camp_utils.train import fit")
    after_fit = first_fit.locator("xpath=following-sibling::div[contains(@class, 'jp-CodeCell')][1]")
    seconds = lab.run_all(page, above=after_fit)
    print(f"lesson 21: the cells up to the first fit took {seconds:.0f} s in the browser")
    assert lab.error_outputs(page) == []
    assert re.fullmatch(r"\[\d+\]:", first_fit.locator(".jp-InputPrompt").inner_text().strip())

    bars = page.locator(".jp-OutputArea-output .widget-hprogress")
    assert bars.count() >= 1, "no progress bar widget in the outputs"
    bars.first.scroll_into_view_if_needed()
    assert bars.first.is_visible()
    body = page.locator(".jp-Notebook").first.text_content()
    assert "Error displaying widget" not in body
    stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').all_text_contents()
    assert not [t for t in stderr if TEXT_PROGRESS_BAR.search(t)], "a progress bar was printed as text"
    widget_area = bars.first.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea-output')][1]")
    print(f"screenshot: {lab.screenshot(widget_area, 'lesson21_progress_widget.png')}")


def test_lesson_19_scheduler_explorer_redraws_the_curve_when_a_slider_moves(lab, stop_kernels_after):
    page = lab.open_notebook(LESSON_19)
    # what the explorer needs: the imports (first cell), then its own cell -- not the lesson's training
    lab.run_cell(page, page.locator(".jp-Notebook .jp-CodeCell").first)
    lab.run_cell(page, _code_cell(page, LESSON_19, 'explorer("CosineAnnealingWarmRestarts"'))
    assert lab.error_outputs(page) == []

    slider = page.locator(".jp-OutputArea-output .widget-slider").first
    slider.wait_for(state="visible", timeout=60_000)
    slider.scroll_into_view_if_needed()
    explorer = slider.locator(
        "xpath=ancestor::div[contains(@class, 'jp-OutputArea-output')][1]")
    figure = explorer.locator("img, canvas").last
    figure.wait_for(state="visible", timeout=60_000)
    page.wait_for_timeout(1000)
    before = figure.screenshot()
    lab.screenshot(explorer, "lesson19_explorer_before.png")

    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for _ in range(8):
        page.keyboard.press("ArrowRight")
    _wait_until(lambda: explorer.locator("img, canvas").last.screenshot() != before, 60,
                "the explorer's figure to change after the slider moved", page)
    print(f"screenshot: {lab.screenshot(explorer, 'lesson19_explorer_after.png')}")


@pytest.mark.parametrize("name", OPENED)
def test_a_notebook_of_each_folder_opens_with_its_kernel_and_runs_its_first_cell(lab, stop_kernels_after, name):
    page = lab.open_notebook(name)
    assert lab.dialogs(page) == [], "a dialog (e.g. kernel not found) opened with the notebook"
    kernel = page.locator(".jp-NotebookPanel .jp-KernelName").first.inner_text().strip()
    assert kernel.startswith("Python 3"), f"kernel shown: {kernel!r}"

    first = page.locator(".jp-Notebook .jp-CodeCell").first
    lab.run_cell(page, first)
    assert re.fullmatch(r"\[1\]:", first.locator(".jp-InputPrompt").inner_text().strip())
    errors = [t for t in first.locator(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').all_text_contents()
        if re.search(r"Traceback|Error\b", t)]
    assert errors == []
    assert lab.dialogs(page) == []
    assert NEWS_QUESTION not in page.locator("body").inner_text()


@pytest.mark.parametrize(("locale", "typed", "label", "name"), [
    ("en", "trust", "Trust Notebook", "20_tensorboard_install.ipynb"),
    # JupyterLab 4.6's palette finds nothing for a Chinese query (信任, 笔记本: "No commands found"), so lesson 20's
    # Chinese text says to pick 信任笔记本 from the list, in the group 笔记本操作, without typing
    ("zh_CN", "", "信任笔记本", "zh/20_tensorboard_install.ipynb"),
])
def test_trust_notebook_is_in_the_command_palette_where_lesson_20_says(lab, stop_kernels_after, locale, typed,
                                                                       label, name):
    # Lesson 20 §8, both editions: a notebook you did not run yourself is trusted from the command palette
    # (Ctrl+Shift+C, then Trust Notebook / 信任笔记本); JupyterLab 4's File menu has no such item
    setting = "lab/api/settings/@jupyterlab/translation-extension:plugin"
    lab.api_json("PUT", setting, {"raw": json.dumps({"locale": locale})})  # what Settings -> Language does
    try:
        page = lab.open_notebook(name)
        page.locator(".lm-MenuBar-item").first.click()  # File (文件)
        page.locator(".lm-Menu-item").first.wait_for(state="visible")
        assert page.locator('.lm-Menu-item[data-command="notebook:trust"]').count() == 0
        page.keyboard.press("Escape")
        page.locator(".jp-NotebookPanel .jp-Notebook").first.click(position={"x": 5, "y": 5})
        page.keyboard.press("Control+Shift+C")
        page.locator(".lm-CommandPalette-input").first.fill(typed)
        item = page.locator(".lm-CommandPalette-item", has_text=label).first
        item.scroll_into_view_if_needed(timeout=15_000)
        item.wait_for(state="visible", timeout=15_000)
        assert item.get_attribute("data-command") == "notebook:trust"
        if not typed:  # the group the Chinese text names: the nearest header above the item
            group = item.evaluate("""el => { let e = el.previousElementSibling;
                while (e && !e.classList.contains('lm-CommandPalette-header')) e = e.previousElementSibling;
                return e ? e.textContent.trim() : ''; }""")
            assert group == "笔记本操作", group
    finally:
        lab.api_json("PUT", setting, {"raw": "{}"})


def test_a_terminal_starts_in_the_folder_lesson_20_says(lab, stop_kernels_after):
    # Lesson 20 and README.zh-CN: "a terminal opened in JupyterLab starts in my_notebooks/ or my_notebooks/zh/",
    # then `cd ..` or `cd ../..` reaches the project folder. Opened through the menu, and as the Launcher
    # opens one (it sends the folder the file browser shows: '' for my_notebooks/, 'zh' for the Chinese edition).
    page = lab.new_page()
    page.goto(f"{lab.url}lab?reset&token={lab.token}")
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^File$")).wait_for(state="visible", timeout=90_000)
    known = set(lab.shell_folders())

    def new_shell_folder():
        fresh = _wait_until(lambda: {p: f for p, f in lab.shell_folders().items() if p not in known}, 60,
                            "a new terminal's shell", page)
        page.wait_for_timeout(1000)  # a login shell may start a few more processes of its own
        fresh = {p: f for p, f in lab.shell_folders().items() if p not in known}
        known.update(fresh)
        assert len(set(fresh.values())) == 1, fresh
        return next(iter(fresh.values()))

    try:
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^File$")).click()
        page.locator(".lm-Menu-item", has_text=re.compile(r"^New$")).first.hover()
        page.locator('.lm-Menu-item[data-command="terminal:create-new"]').click()
        assert new_shell_folder() == lab.learner  # File > New > Terminal
        for browsed, expected in (("", lab.learner), ("zh", lab.learner / "zh")):
            lab.api_json("POST", "api/terminals", {"cwd": browsed})  # what the Launcher sends
            assert new_shell_folder() == expected, browsed
    finally:
        for terminal in lab.api("GET", "api/terminals"):
            lab.api("DELETE", f"api/terminals/{terminal['name']}")


def test_a_terminal_runs_the_courses_python_tensorboard_and_torchrun(lab):
    # Lesson 20 types `tensorboard --logdir ...` and lesson 19 `torchrun ...` in a JupyterLab terminal: there they
    # must be the course's programs, as `course.py lab` starts JupyterLab (its output here is a log file, not a
    # terminal: plain Jupyter would start a login shell, whose /etc/profile sets PATH anew).
    name = lab.api_json("POST", "api/terminals", {})["name"]
    try:
        typed = "for p in python tensorboard torchrun; do echo \"at=$(command -v $p)\"; done; echo done-$((6*7))\r"
        seen = lab.terminal_output(name, typed, until="done-42")
    finally:
        lab.api("DELETE", f"api/terminals/{name}")
    found = [line.split("at=", 1)[1].strip() for line in seen.splitlines() if line.startswith("at=")]
    scripts = Path(lab.env["CAMP_SCRIPTS"])
    assert found == [str(scripts / p) for p in ("python", "tensorboard", "torchrun")], seen


def test_the_terminal_commands_of_lessons_19_to_21_run_where_the_lessons_say(lab):
    # Typed into JupyterLab's own terminal, from the folder the text names: lesson 20 §3 `tensorboard --version`;
    # lessons 19 §9 and 21 §7 `torchrun --standalone --nproc_per_node=2 scripts/...` "from this folder" (the
    # learner's copy of the lessons, my_notebooks/); lesson 20 §5 `cd ..` then `tensorboard --logdir runs`, which
    # then serves the runs the lessons wrote; and from the Chinese edition's folder `cd ../..` to the same place.
    import urllib.request

    steps = iter(range(100, 200))

    def typed(name, command, until=None, timeout=180.0):
        mark = f"done-{next(steps)}"
        end = f"echo \"exit=$?\"; echo {mark[:5]}$(( {mark[5:]} ))\r" if until is None else ""
        seen = lab.terminal_output(name, command + ("; " + end if end else "\r"), until=until or mark,
                                   timeout=timeout)
        return seen.split(command)[-1] if command in seen else seen

    name = lab.api_json("POST", "api/terminals", {"cwd": ""})["name"]
    try:
        import tensorboard
        out = typed(name, "tensorboard --version")
        assert tensorboard.__version__ in out and "exit=0" in out, out
        for script in ("scripts/ddp_logging.py", "scripts/ddp_fit.py"):
            out = typed(name, f"torchrun --standalone --nproc_per_node=2 {script}")
            assert "exit=0" in out, out
        out = typed(name, "cd .. && tensorboard --logdir runs", until="(Press CTRL+C to quit)", timeout=120)
        port = int(re.search(r"at http://localhost:(\d+)/", out).group(1))
        request = urllib.request.Request(f"http://127.0.0.1:{port}/data/runs")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no http_proxy for this machine
        with opener.open(request, timeout=30) as reply:
            runs = json.loads(reply.read())
        assert "21/ddp/rank0" in runs, runs  # written by the torchrun above, into the project's runs/
        lab.terminal_output(name, "\x03", until=None)  # Ctrl+C stops it, as lesson 20 says
        stopped = time.monotonic() + 60
        while time.monotonic() < stopped:  # it has stopped once its port no longer answers
            try:
                opener.open(request, timeout=5).close()
            except OSError:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("Ctrl+C did not stop TensorBoard within 60 s (or the terminal never received it)")
        # What is typed while the program is still exiting is thrown away by the terminal: give it a moment,
        # and type the check again if it was (each try waits for its own mark).
        for attempt in range(3):
            time.sleep(2)
            try:
                out = typed(name, "true", timeout=30)
                break
            except TimeoutError:
                if attempt == 2:
                    raise
        assert "exit=0" in out, out
        folder = re.search(r"at=(/[^\r\n]*)", typed(name, 'echo "at=$(pwd)"')).group(1)
        assert Path(folder) == lab.base, "cd .. reaches the project folder"
    finally:
        lab.api("DELETE", f"api/terminals/{name}")
    name = lab.api_json("POST", "api/terminals", {"cwd": "zh"})["name"]  # the Chinese edition's Launcher
    try:
        out = typed(name, 'cd ../.. && echo "at=$(pwd)"')
        assert Path(re.search(r"at=(/[^\r\n]*)", out).group(1)) == lab.base and "exit=0" in out, out
    finally:
        lab.api("DELETE", f"api/terminals/{name}")
