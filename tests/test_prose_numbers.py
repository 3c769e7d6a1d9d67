"""No number in a lesson's prose that its outputs do not show.

Every measured-looking number in a markdown cell -- a decimal (``0.067``, ``1.35``), a
percentage (``53 %``) or a decimal factor (``1.25×``) -- must be shown by the notebook
itself: printed by a code cell up to the end of the markdown cell's section (the
sentence may round it: ``0.0794`` printed is "0.079" or "about 0.08" in prose), or
written in the notebook's code (a setting such as ``lr=0.05``). A solutions notebook
may also quote what its lesson printed. What no cell can print -- a figure from a paper
or the docs, arithmetic, an exercise's input, what a committed screenshot shows -- is
listed in :data:`CITED` with where it comes from. Both editions are checked: the Chinese
notebooks carry the English outputs, and their prose must quote the same numbers.

Headings' section numbers, ``§3.3``-style references, software versions, maths
(``$...$``), inline code and links are not prose numbers.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted([*ROOT.glob("notebooks/[0-9]*.ipynb"), *ROOT.glob("notebooks/solutions/[0-9]*.ipynb"),
                    *ROOT.glob("notebooks/zh/[0-9]*.ipynb")])

# Numbers no cell prints, per notebook (file name without "_solutions" and folder): number -> its source.
CITED = {
    "19_lr_schedulers": {
        "23.74": "Goyal et al. 2017, Table 1 (top-1 error, batch 8192)",
        "23.60": "Goyal et al. 2017, Table 1 (top-1 error, batch 256)",
        "13.5": "arithmetic: ExponentialLR(gamma=0.95) halves the lr every ln 2 / ln(1/0.95) = 13.5 epochs",
        "0.85": "torch.optim.lr_scheduler.OneCycleLR docs: base_momentum=0.85",
        "0.95": "torch.optim.lr_scheduler.OneCycleLR docs: max_momentum=0.95",
        "0.009": "arithmetic: StepLR from MAX_LR = 0.09 after one step of gamma = 0.1",
    },
    "20_tensorboard_install": {
        "0.6": "TensorBoard's default smoothing weight (its settings pane)",
        "0.8": "advice for the smoothing slider (a setting to choose, not a measurement)",
        "0.95": "advice for the smoothing slider (a setting to choose, not a measurement)",
        "0.99": "a setting the exercise asks the learner to choose",
        "0.37": "arithmetic: 0.99 ** 99 = 0.37",
        "1.57": "arithmetic: arctan(x) tends to pi/2 = 1.57",
        "2.31": "the glibc version in the name of tensorboard-data-server's Linux wheel (manylinux_2_31_x86_64)",
    },
    "21_tensorboard_scalars_histograms": {
        "0.6": "TensorBoard's default smoothing weight (its settings pane)",
        "1.4": "read off the committed screenshot img/21_tensorboard_loss_train_valid.png",
        "0.4": "read off the committed screenshot img/21_tensorboard_loss_train_valid.png",
        "1.5": "TensorBoard's histogram compression: the mean and ±0.5, ±1, ±1.5 sigma (its source, "
               "tensorboard/plugins/distribution/compressor.py)",
        "6.68": "TensorBoard's compression basis points (the normal distribution's 6.68 % at -1.5 sigma)",
        "15.87": "TensorBoard's compression basis points (15.87 % at -1 sigma)",
        "30.85": "TensorBoard's compression basis points (30.85 % at -0.5 sigma)",
    },
    "22_tensorboard_images_make_grid": {
        "92.8": "read off the committed screenshot img/22_tensorboard_projector.png (the Projector's PCA)",
        "200.0": "an exercise's input value",
    },
    "23_hooks_and_cam": {},
}

_VERSION = re.compile(r"(?i)\b(?:version|pytorch|tensorboard|torchinfo|fastai|jupyterlab|python|torch|torchvision|"
                      r"nbval|ipywidgets|matplotlib)\s+v?\d+(?:\.\d+)+")
_NUMBER = re.compile(r"(?<![\w.·^/])(\d+\.\d+|\d+(?:\.\d+)?(?=\s?%))(?![\w.]*\d)")
_ANY_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def prose(markdown: str) -> str:
    """The markdown without what is not prose: maths, code, links, HTML, section numbers, versions."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$[^$\n]+\$", " ", text)
    text = re.sub(r"`[^`\n]+`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"(?m)^(#+)\s+\d+(?:\.\d+)*\.?", r"\1 ", text)
    text = re.sub(r"§\s?\d+(?:\.\d+)*", " ", text)
    text = re.sub(r"\d+(?:\.\d+)+\s*版", " ", text)  # 2.4 版: a version, in the Chinese edition
    return _VERSION.sub(" ", text)


def prose_numbers(markdown: str) -> list[tuple[str, bool]]:
    """``(number, is_percent)`` for every measured-looking number of the markdown's prose."""
    text = prose(markdown)
    return [(m.group(1), text[m.end():m.end() + 2].strip().startswith("%")) for m in _NUMBER.finditer(text)]


def shows(number: str, percent: bool, printed: list[float]) -> bool:
    """Whether a printed value rounds to ``number`` (a share 0.53 may be quoted as 53 %)."""
    value, decimals = float(number), len(number.split(".")[1]) if "." in number else 0
    candidates = [x for p in printed for x in ((p, 100 * p) if percent else (p,))]
    return any(math.isclose(round(abs(x), decimals), value, abs_tol=1e-9) for x in candidates)


def outputs(cell: dict) -> str:
    texts = []
    for output in cell.get("outputs", []):
        texts.append("".join(output.get("text", "")))
        data = output.get("data", {})
        texts += ["".join(data.get(kind, "")) for kind in ("text/plain", "text/html")]
    return "\n".join(texts)


def unshown_numbers(path: Path) -> list[str]:
    """Every prose number of the notebook at ``path`` that no output, code or citation shows."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    stem = path.stem.removesuffix("_solutions")
    cited = CITED[stem]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    in_code = [float(x) for x in _ANY_NUMBER.findall(code)]
    lesson_printed: list[float] = []
    if path.parent.name == "solutions":  # a solution may quote what its lesson printed
        lesson = json.loads((path.parents[1] / f"{stem}.ipynb").read_text(encoding="utf-8"))["cells"]
        lesson_printed = [float(x) for c in lesson if c["cell_type"] == "code" for x in _ANY_NUMBER.findall(outputs(c))]
    heading = [bool(re.match(r"#{1,3} ", "".join(c["source"]).lstrip())) if c["cell_type"] == "markdown" else False
               for c in cells]
    found = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        end = next((j for j in range(i + 1, len(cells)) if heading[j]), len(cells))  # the end of its section
        printed = [float(x) for c in cells[:end] if c["cell_type"] == "code" for x in _ANY_NUMBER.findall(outputs(c))]
        for number, percent in prose_numbers("".join(cell["source"])):
            if number in cited or number in code or any(math.isclose(float(number), x) for x in in_code):
                continue
            if shows(number, percent, printed + lesson_printed):
                continue
            found.append(f"{cell.get('id')}: {number}{' %' if percent else ''}")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_every_number_in_the_prose_is_printed_or_cited(path):
    assert unshown_numbers(path) == []


def test_the_number_finder_reads_prose_as_meant():
    assert prose_numbers("## 3.3 ExponentialLR\nIn §3.3 with PyTorch 2.2 the lr is 0.0794, about 53 % of "
                         "`lr=0.05` ($\\gamma = 0.95$), 1.25× larger, [see](img/1.5.png).") == [
        ("0.0794", False), ("53", True), ("1.25", False)]
    assert shows("0.08", False, [0.0794]) and shows("53", True, [0.53]) and not shows("0.07", False, [0.0794])
    assert shows("1.35", False, [1.352]) and not shows("1.35", False, [1.52, 1.7])


def test_every_course_notebook_is_checked():
    assert len(NOTEBOOKS) == 15
