"""Build the course as a static website, both editions, from the committed notebooks (nothing is executed).

    python course.py site                  # installs requirements-site.txt once, then runs this
    python tools/build_site.py [--out DIR] # default build/site/; open build/site/index.html

What it makes (``build/site/``, git-ignored)::

    index.html          -> en/index.html
    en/                 the English edition: README (set-up), the five lessons, their solutions, data/README.md
    zh/                 the Chinese edition (中文版): README.zh-CN, notebooks/zh/, notebooks/zh/solutions/, ...

Each edition is one Sphinx project (MyST-NB reads the executed notebooks with
execution off, the Sphinx Book Theme lays them out, sphinx-copybutton adds the
copy buttons), staged in ``build/site-src/<edition>/`` with the repository's own
layout, so every relative link of the notebooks and READMEs resolves as it does
on disk. Two projects, because search is per language: Sphinx indexes Chinese
with jieba's word segmentation, English with its stemmer.

While staging, what only a live kernel can show is replaced by what it would
show: the explorer widget of lesson 19 by its committed picture, the inline
TensorBoard frame of ``%tensorboard`` by a note that points at the screenshots;
each with a sentence saying how to run it live. Cells whose input is collapsed
in JupyterLab (``jupyter.source_hidden``) stay collapsed (a toggle). Every page
starts with where its runnable notebook is, the command that opens it and a
link to the same page in the other edition.

Math is rendered offline by the MathJax 2 that Jupyter ships
(``jupyter-server-mathjax``), copied into the site. The build fails on any
Sphinx warning (a broken link, a missing image, a cross-reference that does
not resolve): ``tests/e2e/test_site_in_browser.py`` builds it and reads it in Chromium.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "build" / "site"
STAGE = ROOT / "build" / "site-src"
LESSON = re.compile(r"^\d\d_.*\.ipynb$")
# Markdown link / image targets (inline links only: the course uses no reference-style links).
LINK = re.compile(r"!?\[(?:[^\[\]\n]|\[[^\[\]\n]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)


@dataclass(frozen=True)
class Edition:
    """One language of the course: where its pages are in the repository, and the words the site adds."""

    code: str            # folder in the site: en, zh
    language: str        # Sphinx's language (search, labels)
    title: str
    readme: str          # the edition's README, its set-up page
    data_readme: str
    lessons: str         # folder of its lesson notebooks
    solutions: str
    run_note: str        # the banner; {notebook} is the runnable notebook's path, {mine} the learner's copy
    other_label: str     # the language switch, in this edition's words
    live_widget: str     # replaces the explorer widget's live view
    live_frame: str      # replaces the %tensorboard frame
    search_label: str


EDITIONS = {
    "en": Edition(
        code="en", language="en", title="PyTorch Camp · Week 5", readme="README.md", data_readme="data/README.md",
        lessons="notebooks", solutions="notebooks/solutions",
        run_note=("The runnable notebook is <code>{notebook}</code>. In the course folder, "
                  "<code>python course.py lab</code> installs what it needs on first use and opens it in "
                  "JupyterLab, as your own copy <code>{mine}</code>."),
        other_label="中文版", search_label="Search",
        live_widget=("<p class=\"camp-static\">This is the explorer as the notebook last drew it. In JupyterLab "
                     "(<code>python course.py lab</code>) it is live: pick a scheduler, move the sliders, and "
                     "the curve is drawn again.</p>"),
        live_frame=("<p class=\"camp-static\">In JupyterLab this cell shows TensorBoard itself inside the "
                    "notebook, served by a TensorBoard running on your computer; a web page cannot. Run the "
                    "notebook (<code>python course.py lab</code>) to see it live; the screenshots in this "
                    "lesson show what it looks like.</p>"),
    ),
    "zh": Edition(
        code="zh", language="zh_CN", title="PyTorch 框架班 · 第五周", readme="README.zh-CN.md",
        data_readme="data/README.zh-CN.md", lessons="notebooks/zh", solutions="notebooks/zh/solutions",
        run_note=("可运行的笔记本是 <code>{notebook}</code>。在课程文件夹中运行 "
                  "<code>python course.py lab --lang zh</code>：第一次运行时会先安装所需的一切，然后在 JupyterLab "
                  "中打开它（你自己的副本 <code>{mine}</code>）。"),
        other_label="English", search_label="搜索",
        live_widget=("<p class=\"camp-static\">这是笔记本最后一次画出的交互式探索器（explorer）。在 JupyterLab 中"
                     "（<code>python course.py lab --lang zh</code>）它是活的：选择调度器、拖动滑块，"
                     "曲线就会重新画出。</p>"),
        live_frame=("<p class=\"camp-static\">在 JupyterLab 中，这个单元格会在笔记本里显示 TensorBoard 本身"
                    "（由你电脑上运行的 TensorBoard 提供）；网页做不到这一点。运行这个笔记本"
                    "（<code>python course.py lab --lang zh</code>）就能看到实时的页面；"
                    "本课的截图展示了它的样子。</p>"),
    ),
}


def lesson_pages(edition: Edition, root: Path = ROOT) -> list[str]:
    """The notebooks of an edition, lessons then solutions, as repository paths (``notebooks/19_x.ipynb``)."""
    pages = []
    for folder in (edition.lessons, edition.solutions):
        pages += [f"{folder}/{p.name}" for p in sorted((root / folder).glob("*.ipynb")) if LESSON.match(p.name)]
    return pages


def counterpart(page: str, edition: Edition) -> str:
    """The same page in the other edition (repository paths without suffix, e.g. ``notebooks/zh/19_x``)."""
    if page == "index":
        return "index"
    if page == Path(edition.readme).with_suffix("").as_posix():
        return Path(EDITIONS["zh" if edition.code == "en" else "en"].readme).with_suffix("").as_posix()
    if page == Path(edition.data_readme).with_suffix("").as_posix():
        return Path(EDITIONS["zh" if edition.code == "en" else "en"].data_readme).with_suffix("").as_posix()
    if edition.code == "en" and page.startswith("notebooks/"):
        return "notebooks/zh/" + page.removeprefix("notebooks/")
    if edition.code == "zh" and page.startswith("notebooks/zh/"):
        return "notebooks/" + page.removeprefix("notebooks/zh/")
    return "index"


def _is_frame(output: dict) -> bool:
    html = output.get("data", {}).get("text/html", "")
    return "tensorboard-frame-" in ("".join(html) if isinstance(html, list) else html)


def static_notebook(nb: dict, edition: Edition) -> dict:
    """The notebook as the site shows it: what needs a live kernel replaced by what it would show.

    * a widget's live view (``application/vnd.jupyter.widget-view+json``) is dropped, so its committed
      picture (``image/png``) is shown, followed by :attr:`Edition.live_widget`; the widget state in the
      notebook's metadata goes too (it would make the page load the widget library from the internet);
    * the ``%tensorboard`` frame (an iframe on the learner's ``localhost``) becomes :attr:`Edition.live_frame`;
    * a cell whose input JupyterLab shows collapsed gets MyST-NB's ``hide-input`` tag (a toggle).
    """
    nb = copy.deepcopy(nb)
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        meta = cell.setdefault("metadata", {})
        if meta.get("jupyter", {}).get("source_hidden"):
            tags = meta.setdefault("tags", [])
            if "hide-input" not in tags:
                tags.append("hide-input")
        outputs = []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data:
                data.pop("application/vnd.jupyter.widget-view+json")
                outputs.append(output)
                outputs.append(_html_output(edition.live_widget))
            elif _is_frame(output):
                outputs.append(_html_output(edition.live_frame))
            else:
                outputs.append(output)
        if "outputs" in cell:
            cell["outputs"] = outputs
    return nb


def _html_output(html: str) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {"text/html": html, "text/plain": ""}}


def _markdown_of(path: Path) -> list[str]:
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    return [path.read_text(encoding="utf-8")]


def other_edition_pages(edition: Edition, root: Path = ROOT) -> dict[Path, str]:
    """The pages of the other edition: repository file -> its page name there (``notebooks/zh/19_x``)."""
    other = EDITIONS["zh" if edition.code == "en" else "en"]
    return {(root / p).resolve(): Path(p).with_suffix("").as_posix()
            for p in (other.readme, other.data_readme, *lesson_pages(other, root))}


def cross_links(text: str, page: str, edition: Edition, root: Path = ROOT) -> str:
    """``text`` with its links to pages of the other edition turned into links into that edition's site."""
    others = other_edition_pages(edition, root)
    other_code = "zh" if edition.code == "en" else "en"
    up = "../" * (page.count("/") + 1)

    def fix(match: re.Match) -> str:
        whole, target = match[0], match[1]
        if whole.startswith("!") or re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|/|#)", target):
            return whole
        path, _, fragment = target.partition("#")
        name = others.get(((root / page).parent / path).resolve())
        if name is None:
            return whole
        label = whole[1:whole.index("](")]
        href = f"{up}{other_code}/{name}.html" + (f"#{fragment}" if fragment else "")
        return f'<a href="{href}">{label}</a>'

    parts = re.split(r"(```.*?```|`[^`\n]*`)", text, flags=re.S)
    return "".join(p if i % 2 else LINK.sub(fix, p) for i, p in enumerate(parts))


def linked_files(page: Path, root: Path = ROOT) -> set[Path]:
    """Files of the repository that ``page``'s markdown links to (not pages: they are copied as downloads)."""
    found = set()
    for text in _markdown_of(page):
        text = CODE.sub(" ", text)
        for target in LINK.findall(text):
            if re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|/|#)", target):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            if path.is_file() and root in path.parents:
                found.add(path)
    return found


def stage(edition: Edition, dest: Path, root: Path = ROOT) -> list[str]:
    """Copy an edition into ``dest`` with the repository's layout; return its pages in reading order."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    notebooks = lesson_pages(edition, root)
    pages = [edition.readme, *notebooks, edition.data_readme]
    wanted: set[Path] = set()
    for page in pages:
        wanted |= linked_files(root / page, root)
    wanted -= set(other_edition_pages(edition, root))
    for page in notebooks:
        nb = static_notebook(json.loads((root / page).read_text(encoding="utf-8")), edition)
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                cell["source"] = cross_links("".join(cell["source"]), page, edition, root)
        target = dest / page
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")
    for page in (edition.readme, edition.data_readme):
        target = dest / page
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(cross_links((root / page).read_text(encoding="utf-8"), page, edition, root),
                          encoding="utf-8")
    for path in wanted:
        if path.suffix in (".ipynb", ".md"):  # a page of this edition, staged above
            continue
        target = dest / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    shutil.copytree(root / "notebooks" / "img", dest / "notebooks" / "img", dirs_exist_ok=True)
    toc = "\n".join(Path(p).with_suffix("").as_posix() for p in pages)
    (dest / "index.md").write_text(f"# {edition.title}\n\n```{{toctree}}\n:maxdepth: 1\n\n{toc}\n```\n",
                                   encoding="utf-8")
    return [Path(p).with_suffix("").as_posix() for p in pages]


CONF = '''\
# Written by tools/build_site.py for one edition of the course; rebuilt on every build.
import json
import os
import sys

sys.path.insert(0, {tools!r})
import build_site

EDITION = build_site.EDITIONS[{code!r}]
project = EDITION.title
language = EDITION.language
extensions = ["myst_nb", "sphinx_copybutton", "sphinx.ext.mathjax"]
root_doc = "index"
exclude_patterns = ["_build"]
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "html_image", "colon_fence"]
myst_heading_anchors = 4
suppress_warnings = ["myst.header", "misc.highlighting_failure"]
html_theme = "sphinx_book_theme"
html_title = EDITION.title
html_static_path = ["_static"]
html_css_files = ["camp.css"]
html_theme_options = {{"show_toc_level": 2, "use_download_button": False, "navigation_with_keys": False,
                      "footer_content_items": []}}  # no "By <author>" line
html_last_updated_fmt = None
# MathJax 2, shipped by Jupyter (jupyter-server-mathjax) and copied into _static: no network at reading time.
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
# That copy holds the STIX-Web web fonts only: use them, look for no font installed on the reader's computer
# (the test for one shows up as a failed font request), and no image fonts.
mathjax2_config = {{"tex2jax": {{"inlineMath": [["\\\\(", "\\\\)"]], "displayMath": [["\\\\[", "\\\\]"]],
                                 "processEscapes": True,
                                 # MyST-NB marks notebook cells to be ignored; Sphinx's math elements are processed
                                 "processClass": "math|output_area", "ignoreClass": "tex2jax_ignore|mathjax_ignore"}},
                   "HTML-CSS": {{"availableFonts": [], "preferredFont": None, "webFont": "STIX-Web",
                                "imageFont": None,
                                # its stand-in font for a glyph it lacks: none to fetch (about:blank is refused)
                                "styles": {{"@font-face": {{"font-family": "MathJax_Blank",
                                                          "src": "local('MathJax_Blank')"}}}}}}}}
html_context = {{"default_mode": "light"}}
html_favicon = "_static/favicon.png"
copybutton_exclude = ".linenos, .gp, .go"


def banner(app, pagename, templatename, context, doctree):
    if "body" not in context:
        return
    other = build_site.counterpart(pagename, EDITION)
    depth = pagename.count("/")
    other_url = "../" * (depth + 1) + ("zh" if EDITION.code == "en" else "en") + "/" + other + ".html"
    parts = [f'<a class="camp-lang" href="{{other_url}}" hreflang="{{"zh" if EDITION.code == "en" else "en"}}">'
             f'{{EDITION.other_label}}</a>']
    source = pagename + ".ipynb"
    if pagename.startswith("notebooks/"):
        mine = "my_notebooks/" + pagename.removeprefix("notebooks/") + ".ipynb"
        parts.append(EDITION.run_note.format(notebook=source, mine=mine))
    context["body"] = f'<div class="camp-banner">{{" ".join(parts)}}</div>' + context["body"]


def setup(app):
    app.connect("html-page-context", banner)
    if EDITION.code == "zh":
        app.add_search_language(build_site.chinese_search())
'''

CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# The browser's side of the same split: Latin words as Sphinx splits them, and every run of Chinese characters
# into its overlapping pairs of characters, so that a query matches the index whatever words it is made of.
SPLIT_QUERY_JS = r"""
function splitQuery(query) {
  const terms = [];
  for (const part of query.split(/[^\p{Letter}\p{Number}_\p{Emoji_Presentation}]+/gu)) {
    if (!part) continue;
    for (const piece of part.split(/([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)/u)) {
      if (!piece) continue;
      if (/^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+$/u.test(piece)) {
        if (piece.length === 1) terms.push(piece);
        for (let i = 0; i + 1 < piece.length; i++) terms.push(piece.slice(i, i + 2));
      } else {
        terms.push(piece);
      }
    }
  }
  return terms;
}
"""


def chinese_search():
    """Sphinx's Chinese search, made to find what a reader types.

    * Sphinx segments the pages with jieba, but the browser cannot: a query is split only at spaces and
      punctuation, so "指向游戏" is looked up as one word, which jieba had cut into 指向 + 游戏 -- no result.
      Here the index also holds every pair of neighbouring Chinese characters, and the browser splits a query
      into the same pairs (:data:`SPLIT_QUERY_JS`); a page matches when it holds all of them.
    * Sphinx 9.0 names the browser's stemmer after ``language_name`` (``window.Stemmer = ChineseStemmer``), but
      the stemmer file it ships for Chinese pages is the English one (Latin words are stemmed in English),
      which defines ``EnglishStemmer``: every search page stopped with "ChineseStemmer is not defined".
    """
    from sphinx.search.zh import SearchChinese

    class SearchChineseForReaders(SearchChinese):
        language_name = "English"  # the stemmer it really uses
        js_splitter_code = SPLIT_QUERY_JS

        def split(self, input: str) -> list[str]:
            words = super().split(input)
            for run in CJK_RUN.findall(input):
                words += [run[i:i + 2] for i in range(len(run) - 1)]
            return words

    return SearchChineseForReaders


CSS = """\
.camp-banner { border-left: 4px solid #2a7ae2; background: #f3f7fd; padding: .6em 1em; margin: 0 0 1.2em 0;
               font-size: .92em; }
.camp-banner .camp-lang { float: right; font-weight: 600; margin-left: 1em; }
.camp-static { border-left: 4px solid #999; background: #f7f7f7; padding: .5em 1em; font-size: .92em; }
"""


def favicon(path: Path) -> None:
    """A 32 x 32 icon for the browser's tab: an lr curve that drops in steps, in the banner's blue."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, 31, 31), radius=6, fill=(42, 122, 226, 255))
    draw.line([(5, 8), (13, 8), (13, 16), (20, 16), (20, 22), (27, 22)], fill=(255, 255, 255, 255), width=3)
    image.save(path)


def build(out: Path = DEFAULT_OUT, editions: list[str] | None = None, python: str = sys.executable) -> int:
    """Stage and build each edition into ``out/<edition>/``; 0 when every build passed without a warning."""
    import jupyter_server_mathjax

    mathjax = Path(jupyter_server_mathjax.__file__).parent / "static"
    status = 0
    out.mkdir(parents=True, exist_ok=True)
    for code in editions or list(EDITIONS):
        edition = EDITIONS[code]
        src = STAGE / code
        stage(edition, src)
        (src / "conf.py").write_text(CONF.format(tools=str(ROOT / "tools"), code=code), encoding="utf-8")
        static = src / "_static"
        static.mkdir(exist_ok=True)
        (static / "camp.css").write_text(CSS, encoding="utf-8")
        favicon(static / "favicon.png")
        shutil.copytree(mathjax, static / "mathjax", dirs_exist_ok=True)
        target = out / code
        if target.exists():
            shutil.rmtree(target)
        print(f"== building the {code} edition into {target}", flush=True)
        # built inside the stage (MyST-NB writes its output files next to the build folder), then moved
        html = src / "_build" / "html"
        done = subprocess.run([python, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", "-j", "auto",
                               str(src), str(html)], cwd=src, env={**os.environ, "PYTHONHASHSEED": "0"})
        status |= done.returncode
        if html.is_dir():
            shutil.copytree(html, target)
    (out / "index.html").write_text('<!DOCTYPE html><meta charset="utf-8"><title>PyTorch Camp</title>'
                                    '<meta http-equiv="refresh" content="0; url=en/index.html">'
                                    '<a href="en/index.html">English</a> · <a href="zh/index.html">中文版</a>\n',
                                    encoding="utf-8")
    return status


def main(argv: list[str] | None = None) -> int:
    """Build the course's website from the committed notebooks; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the site goes (default build/site)")
    parser.add_argument("--edition", choices=list(EDITIONS), action="append", help="only this edition (repeatable)")
    ns = parser.parse_args(argv)
    status = build(ns.out.resolve(), ns.edition)
    print(f"== site: {ns.out / 'index.html'}" if status == 0 else "== the site build found problems (above)")
    return status


if __name__ == "__main__":
    sys.exit(main())
