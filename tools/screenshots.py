"""Take the TensorBoard screenshots that lessons 19, 21 and 22 show, from the lessons' own runs.

In a static view of a notebook (GitHub, nbviewer, the test suite) the
``%tensorboard`` frame is blank, so the lessons show pictures of the dashboards
they teach instead. This script makes them the way a learner sees them: it
serves ``runs/19``, ``runs/21`` and ``runs/22`` with a real TensorBoard
(:class:`camp_utils.tb.TensorBoardServer`), opens each dashboard in headless
Chromium (Playwright, as the browser tests do) and saves the page to
``notebooks/img/``.

Run the lessons first (``python course.py execute notebooks/19_*.ipynb
notebooks/21_*.ipynb notebooks/22_*.ipynb``), then::

    .venv/bin/python tools/screenshots.py            # all of them
    .venv/bin/python tools/screenshots.py 22_graph   # the ones whose name starts so

Look at every picture before committing it.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "e2e"), str(ROOT / "tests")]  # conftest imports script_loader
from camp_utils.tb import TensorBoardServer  # noqa: E402
from conftest import find_chromium  # noqa: E402  (the browser tests' way to find Chromium)

IMG = ROOT / "notebooks" / "img"
VIEWPORT = {"width": 1280, "height": 760}


@dataclass(frozen=True)
class Shot:
    """One picture: which folder to serve, the dashboard's address and what to wait for."""

    name: str  # file name in notebooks/img/, without .png
    logdir: str  # below runs/
    page: str  # TensorBoard's address after '#'
    ready: str | None  # a Playwright selector ("text=..." or CSS) visible once the dashboard has its data;
    # None: the page draws into WebGL and shadow DOM that no selector sees, so only wait `settle_ms`
    expand: str | None = None  # graph node to double-click (open) before the picture
    settle_ms: int = 2500  # time for charts to finish drawing after `ready`


def _hash(dashboard: str, runs: str | None = None, tags: str | None = None) -> str:
    parts = [dashboard]
    if runs:
        parts.append("regexInput=" + quote(runs, safe=""))
    if tags:
        parts.append("tagFilter=" + quote(tags, safe=""))
    return "&".join(parts)


SHOTS = [
    Shot("19_tensorboard_hparams", "19", "hparams", "text=hparams/valid_loss", settle_ms=3000),
    Shot("21_tensorboard_loss_train_valid", "21", _hash("scalars", "^lenet_sgd", "^Loss$"), "text=tag: Loss"),
    Shot("21_tensorboard_histograms", "21", _hash("histograms", "^lenet_sgd$", "^(params|grads)/conv1.weight$"),
         "text=params/conv1.weight"),
    Shot("21_tensorboard_distributions", "21", _hash("distributions", "^lenet_sgd$", "^(params|grads)/conv1.weight$"),
         "text=params/conv1.weight"),
    Shot("22_tensorboard_images_slider", "22", _hash("images", "^kernels$", "^gapnet/conv1_all$"),
         "text=gapnet/conv1_all"),
    Shot("22_tensorboard_graph_lenet", "22", "graphs&run=graph_lenet", "svg g.node", expand="LeNet", settle_ms=3000),
    Shot("22_tensorboard_projector", "22", "projector&run=projector", None, settle_ms=20000),
]


def take(shot: Shot, browser) -> Path:
    """Open ``shot``'s page in a TensorBoard of its own and save the screenshot; return its path."""
    # A relative folder, served from the project's root: TensorBoard prints the folder it serves under
    # the run list, and the pictures must not show this machine's paths.
    with TensorBoardServer(Path("runs") / shot.logdir) as board:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{board.url}#{shot.page}")
        if shot.ready:
            page.locator(shot.ready).first.wait_for(state="visible", timeout=90_000)
        if shot.expand:
            node = page.locator("svg g.node", has_text=shot.expand).first
            node.wait_for(state="visible", timeout=30_000)
            node.dblclick()
        page.wait_for_timeout(shot.settle_ms)
        target = IMG / f"{shot.name}.png"
        page.screenshot(path=str(target))
        page.close()
        return target


def main(prefixes: list[str]) -> int:
    """Take the screenshots whose names start with one of ``prefixes`` (all by default)."""
    from playwright.sync_api import sync_playwright

    os.chdir(ROOT)
    chromium = find_chromium()
    if chromium is None:
        print("no Chromium found: install Debian's `chromium` or set CAMP_CHROMIUM", file=sys.stderr)
        return 1
    shots = [s for s in SHOTS if not prefixes or any(s.name.startswith(p) for p in prefixes)]
    if not shots:
        print(f"no screenshot starts with {prefixes}; names: {[s.name for s in SHOTS]}", file=sys.stderr)
        return 1
    missing = sorted({s.logdir for s in shots if not (ROOT / "runs" / s.logdir).is_dir()})
    if missing:
        print(f"runs/{missing[0]} does not exist: execute lesson {missing[0]} first", file=sys.stderr)
        return 1
    # WebGL (the projector) through Chromium's software renderer: headless machines have no GPU.
    args = ["--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=args)
        try:
            for shot in shots:
                start = time.perf_counter()
                path = take(shot, browser)
                print(f"{path.relative_to(ROOT)} ({time.perf_counter() - start:.0f} s)")
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
