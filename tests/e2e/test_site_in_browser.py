"""The course's website (``python course.py site``) as a reader meets it: built offline, read in headless Chromium.

The site is built once, into a temporary folder, with the same command the README gives (``tools/build_site.py``,
which fails on any Sphinx warning: a broken link, a missing image, a cross-reference that does not resolve), and
served over HTTP on a free localhost port. Every page of both editions is then opened as a reader would; a few
pictures of it are kept in ``build/e2e-screenshots/`` (git-ignored) to be looked at.
"""
from __future__ import annotations

import functools
import http.server
import json
import re
import socketserver
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import build_site  # noqa: E402

# The formulas MathJax has not rendered: each one Sphinx writes (span/div.math.notranslate, holding \\( ... \\)
# or \\[ ... \\]) gets MathJax's rendering inside it (HTML-CSS, or another output of MathJax's).
RAW_MATH = """() => [...document.querySelectorAll('span.math.notranslate, div.math.notranslate')]
    .filter(e => !e.querySelector('.MathJax, .MathJax_Display, .MathJax_MathML, .MathJax_CHTML, .MathJax_SVG'))
    .map(e => e.textContent.slice(0, 60))"""


def _typeset(page, timeout: float = 60_000) -> None:
    """Wait until MathJax has rendered every formula of the page (at once on a page without any)."""
    page.wait_for_function(f"() => ({RAW_MATH})().length === 0", timeout=timeout)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(out)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", out
    finally:
        server.shutdown()
        server.server_close()


def _pages(out: Path) -> list[str]:
    """Every page a reader reaches from the table of contents, in both editions (site-relative paths)."""
    pages = []
    for code, edition in build_site.EDITIONS.items():
        names = ["index", Path(edition.readme).with_suffix("").as_posix(),
                 *(Path(p).with_suffix("").as_posix() for p in build_site.lesson_pages(edition)),
                 Path(edition.data_readme).with_suffix("").as_posix()]
        pages += [f"{code}/{name}.html" for name in names]
    assert all((out / p).is_file() for p in pages), [p for p in pages if not (out / p).is_file()]
    return pages


@pytest.fixture
def reader(lab, site):
    """A browser page that records what goes wrong: console errors, uncaught exceptions, failed requests."""
    page = lab.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"exception: {e}"))
    # (a request the browser abandons because the test moves on to the next page is not the page's fault)
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})")
            if r.failure != "net::ERR_ABORTED" else None)
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    yield page, problems
    lab.close_pages()


def _open(page, url: str) -> None:
    page.goto(url, wait_until="load")
    page.evaluate("() => document.querySelectorAll('img').forEach(img => { img.loading = 'eager'; })")
    page.wait_for_function("() => [...document.images].every(img => img.complete)", timeout=30_000)
    try:
        _typeset(page)
    except Exception:  # the assertion below names the formulas left
        pass


def test_every_page_loads_cleanly_with_its_images_and_its_math_rendered(site, reader):
    url, out = site
    page, problems = reader
    report = {}
    for path in _pages(out):
        problems.clear()
        _open(page, url + path)
        broken = page.evaluate("() => [...document.images].filter(i => i.naturalWidth === 0).map(i => i.src)")
        images = page.evaluate("() => document.images.length")
        raw = page.evaluate(RAW_MATH)  # every formula rendered
        formulas = page.evaluate("() => document.querySelectorAll('.math.notranslate').length")
        report[path] = (images, formulas)
        assert problems == [] and broken == [] and raw == [], (path, problems, broken, raw)
    lessons = [p for p in report if re.search(r"/notebooks/(zh/)?\d\d_", p)]
    assert all(report[p][0] > 0 for p in lessons), {p: report[p] for p in lessons}  # every lesson has figures
    assert report["en/notebooks/19_lr_schedulers.html"][1] > 20
    assert report["zh/notebooks/zh/19_lr_schedulers.html"][1] > 20
    _open(page, url + "en/notebooks/19_lr_schedulers.html")
    print(f"screenshot: {_shot(page, 'site_lesson19_en.png')}")


def test_the_language_switch_leads_to_the_same_lesson_in_the_other_edition(site, reader):
    url, _ = site
    page, problems = reader
    _open(page, url + "en/notebooks/23_hooks_and_cam.html")
    assert page.locator("h1").first.inner_text().startswith("Lesson 23")
    page.locator(".camp-banner a.camp-lang").click()
    page.wait_for_load_state("load")
    assert page.url == url + "zh/notebooks/zh/23_hooks_and_cam.html"
    assert page.locator("h1").first.inner_text().startswith("第23课")
    _typeset(page)
    print(f"screenshot: {_shot(page, 'site_lesson23_zh.png')}")
    page.locator(".camp-banner a.camp-lang").click()
    page.wait_for_load_state("load")
    assert page.url == url + "en/notebooks/23_hooks_and_cam.html"
    _open(page, url + "zh/notebooks/zh/solutions/21_tensorboard_scalars_histograms_solutions.html")
    page.locator(".camp-banner a.camp-lang").click()
    page.wait_for_load_state("load")
    assert page.url == url + "en/notebooks/solutions/21_tensorboard_scalars_histograms_solutions.html"
    # the banner says where the runnable notebook is and how to open it
    banner = page.locator(".camp-banner").inner_text()
    assert "notebooks/solutions/21_tensorboard_scalars_histograms_solutions.ipynb" in banner
    assert "python course.py lab" in banner
    assert problems == []


@pytest.mark.parametrize(("edition", "query", "expected"), [
    ("en", "pointing game", "notebooks/23_hooks_and_cam.html"),
    ("zh", "指向游戏", "notebooks/zh/23_hooks_and_cam.html"),
    ("zh", "调度器", "notebooks/zh/19_lr_schedulers.html"),
])
def test_search_works_offline_in_both_languages(site, reader, edition, query, expected):
    url, _ = site
    page, problems = reader
    page.goto(f"{url}{edition}/search.html?q={query}")
    results = page.locator("#search-results ul.search li a")
    results.first.wait_for(state="visible", timeout=30_000)
    found = [urljoin(page.url, href) for href in
             page.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")]
    assert any(link.split("#")[0].split("?")[0] == url + f"{edition}/{expected}" for link in found), found
    if edition == "zh" and query == "调度器":
        print(f"screenshot: {_shot(page, 'site_search_zh.png')}")
    assert problems == []


def test_what_needs_a_kernel_shows_its_static_output_and_says_how_to_run_it_live(site, reader):
    url, _ = site
    page, problems = reader
    _open(page, url + "en/notebooks/19_lr_schedulers.html")
    assert page.locator(".camp-static", has_text="explorer as the notebook last drew it").count() == 1
    # the explorer's committed picture is right above that note
    assert page.locator(".camp-static").first.evaluate(
        "note => !!note.closest('.cell_output').querySelector('img')")
    _open(page, url + "en/notebooks/20_tensorboard_install.html")
    assert page.locator("iframe").count() == 0
    assert page.locator(".camp-static", has_text="TensorBoard itself").count() == 1
    _open(page, url + "zh/notebooks/zh/20_tensorboard_install.html")
    assert page.locator(".camp-static", has_text="TensorBoard 本身").count() == 1
    assert problems == []


def test_cells_collapsed_in_jupyterlab_stay_collapsed(site, reader):
    url, _ = site
    page, _ = reader
    for path in ("notebooks/19_lr_schedulers.ipynb", "notebooks/23_hooks_and_cam.ipynb"):
        nb = json.loads((ROOT / path).read_text(encoding="utf-8"))
        hidden = sum(1 for c in nb["cells"] if c.get("metadata", {}).get("jupyter", {}).get("source_hidden"))
        _open(page, url + "en/" + path.replace(".ipynb", ".html"))
        toggles = page.locator("details.hide.above-input")
        assert toggles.count() == hidden, (path, hidden, toggles.count())
        assert all(not toggles.nth(i).evaluate("d => d.open") for i in range(toggles.count()))


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and ((tag == "a" and name == "href") or (tag in ("img", "script") and name == "src")
                          or (tag == "link" and name == "href")):
                self.targets.append(value)


def test_every_link_and_picture_inside_the_site_resolves(site):
    _, out = site
    missing = []
    for html in sorted(out.rglob("*.html")):
        if "_static" in html.relative_to(out).parts:  # the theme's template fragments, not pages
            continue
        parser = _Links()
        parser.feed(html.read_text(encoding="utf-8"))
        for target in parser.targets:
            parsed = urlparse(target)
            if parsed.scheme or target.startswith(("#", "mailto:", "//")) or not parsed.path:
                continue
            resolved = (html.parent / unquote(parsed.path)).resolve()
            if resolved.is_dir():
                resolved = resolved / "index.html"
            if not resolved.exists():
                missing.append(f"{html.relative_to(out)} -> {target}")
    assert missing == []


SCREENSHOTS = ROOT / "build" / "e2e-screenshots"  # as conftest.py's (git-ignored)


def _shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path))
    return path
