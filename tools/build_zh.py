"""Build the Simplified-Chinese edition (中文版) of the lessons from the English notebooks.

    python tools/build_zh.py              # build notebooks/zh/NN_*.ipynb for every lesson with a translation
    python tools/build_zh.py 20 21        # only these lessons (number, file name or path)
    python tools/build_zh.py --check      # report drift for every lesson; write nothing; exit 1 on drift
    python tools/build_zh.py --sync 22    # create/update translations/zh/22_*.md to match the English notebook

The Chinese notebooks are *built*, never edited by hand. A built notebook is the
executed English notebook (``notebooks/NN_name.ipynb``) with the source of every
markdown cell replaced by its translation from ``translations/zh/NN_name.md``;
code cells, their outputs, execution counts, attachments and all metadata are
copied unchanged, so the code a learner runs and the outputs they compare with
are the English edition's, byte for byte. Relative links and images in the
markdown (``img/20_x.png``) are written as in English and re-pointed from
``notebooks/zh/`` when building (:func:`relink`).

A translation source is a markdown file, one entry per markdown cell, keyed by
the cell's nbformat 4.5 ``id``::

    <!-- cell: c05 | en-sha256: 3f2a9c1e7b4d5a60 -->
    ## 2. 安装 TensorBoard
    ...

``en-sha256`` is the first 16 hex digits of the SHA-256 of the English cell's
text (line endings and trailing spaces normalised) *at the time it was
translated*. When the English text changes, the hash no longer matches and the
cell is reported as drifted. An entry whose marker ends in ``| todo`` is not
translated yet (its body is the English text, or the old translation of a cell
whose English changed).

Updating after the English lesson changed::

    python tools/build_zh.py --sync 20     # new/changed cells become "| todo" entries
    # translate those entries in translations/zh/20_*.md and delete their "| todo"
    python tools/build_zh.py 20            # rebuild notebooks/zh/20_*.ipynb

``--sync`` keeps every translation whose English text is unchanged, also when
cells were re-ordered or their ids renumbered (it matches them by hash), drops
entries of deleted cells and writes the entries in notebook order. A change
that touches only code cells or outputs needs just the rebuild.

Only the standard library is used; ``tests/test_zh_edition.py`` imports this
file and fails whenever a committed Chinese notebook is not what a build would
write now.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HASH_DIGITS = 16
MARKER = re.compile(r"^<!-- cell: (?P<id>[A-Za-z0-9_-]+) \| en-sha256: (?P<hash>[0-9a-f]{16})(?P<todo> \| todo)? -->$")
REFERENCE = ("<!-- English to translate: put its translation above this line, "
             "then delete this line, the English and the '| todo' -->")
HEADER = """<!--
Simplified-Chinese source (中文版) of notebooks/{en} -> notebooks/zh/{en}
Built by: python tools/build_zh.py {lesson}
Each entry below is one markdown cell: a marker line with the cell's id and the
hash of the English text it translates, then the Chinese markdown. Entries marked
"| todo" still need (re-)translating: the English to translate is at their end,
below a line "<!-- English to translate ...": put the translation above that line,
delete the line and the English, delete the "| todo", then rebuild.
After the English notebook changed: python tools/build_zh.py --sync {lesson}
-->
"""

__all__ = ["Entry", "Lesson", "Problem", "english_hash", "parse_translation", "format_translation",
           "lessons", "find_lesson", "relink", "build_notebook", "problems", "sync", "write_notebook", "main"]


class BuildError(Exception):
    """The English notebook or the translation source cannot be used as it is."""


@dataclass
class Entry:
    """One translated markdown cell: its id, the English hash it was made from, the Chinese text."""

    cell_id: str
    en_hash: str
    text: str
    todo: bool = False


@dataclass
class Problem:
    """One reason why a Chinese notebook is not in sync, with the cell it concerns."""

    lesson: Lesson
    cell_id: str | None
    message: str

    def __str__(self) -> str:
        where = f"cell {self.cell_id} of " if self.cell_id else ""
        return f"{where}{self.lesson.en_path.name}: {self.message}"


@dataclass
class Lesson:
    """The three files of one lesson: English notebook, translation source, built Chinese notebook."""

    en_path: Path
    tr_path: Path
    zh_path: Path
    root: Path = field(default=ROOT, repr=False)

    @property
    def number(self) -> str:
        return self.en_path.name[:2]

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    @property
    def build_command(self) -> str:
        return f"python tools/build_zh.py {self.number}"

    @property
    def sync_command(self) -> str:
        return f"python tools/build_zh.py --sync {self.number}"


def _normalise(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def _prose(text: str) -> str:
    """Text without code blocks, code spans, formulas, links' targets and HTML tags."""
    for pattern in (r"```.*?```", r"\$\$.*?\$\$", r"\$[^$\n]*\$", r"`[^`\n]*`", r"\]\([^)]*\)", r"<[^>]*>", r"https?://\S+"):
        text = re.sub(pattern, " ", text, flags=re.S)
    return text


def english_hash(text: str) -> str:
    """Return the hash recorded beside a translation: 16 hex digits of SHA-256 of the normalised text.

    Normalising (``\\r\\n`` -> ``\\n``, trailing spaces and blank first/last lines
    removed) means that only a change a reader could see asks for a re-translation.
    """
    return hashlib.sha256(_normalise(text).encode("utf-8")).hexdigest()[:HASH_DIGITS]


def cell_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def parse_translation(text: str, name: str = "translation") -> list[Entry]:
    """Parse a translation source into entries (text before the first marker is a header and ignored).

    Raises:
        BuildError: a cell id appears twice, or a line starts like a marker but is malformed.
    """
    entries: list[Entry] = []
    body: list[str] = []

    def close() -> None:
        if entries:
            while body and not body[-1].strip():
                body.pop()
            while body and not body[0].strip():
                body.pop(0)
            entries[-1].text = "\n".join(body)
        body.clear()

    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        match = MARKER.match(line.rstrip())
        if match:
            close()
            if any(e.cell_id == match["id"] for e in entries):
                raise BuildError(f"{name}, line {number}: cell {match['id']} has two entries")
            entries.append(Entry(match["id"], match["hash"], "", todo=bool(match["todo"])))
        elif line.startswith("<!-- cell:"):
            raise BuildError(f"{name}, line {number}: malformed marker {line!r}; expected "
                             "'<!-- cell: ID | en-sha256: 16 hex digits -->' (optionally ' | todo' before '-->')")
        elif entries:
            body.append(line)
    close()
    return entries


def format_translation(lesson: Lesson, entries: list[Entry]) -> str:
    """The text of a translation source file for these entries (inverse of :func:`parse_translation`)."""
    parts = [HEADER.format(en=lesson.en_path.name, lesson=lesson.number)]
    for e in entries:
        todo = " | todo" if e.todo else ""
        parts.append(f"<!-- cell: {e.cell_id} | en-sha256: {e.en_hash}{todo} -->\n{e.text.strip(chr(10))}\n")
    return "\n".join(parts)


def lessons(root: Path = ROOT) -> list[Lesson]:
    """Every English lesson notebook (``notebooks/NN_*.ipynb``) with its translation and Chinese paths."""
    return [Lesson(p, root / "translations" / "zh" / f"{p.stem}.md", p.parent / "zh" / p.name, root)
            for p in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))]


def find_lesson(name: str, root: Path = ROOT) -> Lesson:
    """The lesson named by its number (``20``), file name or path.

    Raises:
        ValueError: no English notebook matches ``name``.
    """
    key = Path(name).name
    found = [ls for ls in lessons(root) if key in (ls.number, ls.en_path.name, ls.en_path.stem, ls.tr_path.name)]
    if len(found) != 1:
        known = ", ".join(ls.en_path.name for ls in lessons(root)) or "none"
        raise ValueError(f"lesson {name!r} not found; English notebooks: {known}")
    return found[0]


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _english(lesson: Lesson) -> dict:
    nb = read_json(lesson.en_path)
    ids = [c.get("id") for c in nb["cells"]]
    missing = [i for i, cid in enumerate(ids) if not cid]
    if missing or nb.get("nbformat", 0) < 4 or (nb["nbformat"] == 4 and nb.get("nbformat_minor", 0) < 5):
        raise BuildError(f"{lesson.rel(lesson.en_path)} has cells without an id (cell numbers {missing[:10]}, "
                         f"nbformat {nb.get('nbformat')}.{nb.get('nbformat_minor')}); translations are keyed by "
                         "nbformat 4.5 cell ids. Save it with JupyterLab 3+ or nbformat 5.1+ (which add ids) and "
                         "re-run it; this tool never edits the English notebooks.")
    dupes = sorted({cid for cid in ids if ids.count(cid) > 1})
    if dupes:
        raise BuildError(f"{lesson.rel(lesson.en_path)} has duplicate cell ids {dupes}")
    return nb


def _entries(lesson: Lesson) -> list[Entry]:
    if not lesson.tr_path.exists():
        raise BuildError(f"{lesson.rel(lesson.tr_path)} does not exist; start it with `{lesson.sync_command}`")
    return parse_translation(lesson.tr_path.read_text(encoding="utf-8"), lesson.rel(lesson.tr_path))


def translation_problems(lesson: Lesson, nb: dict | None = None, entries: list[Entry] | None = None) -> list[Problem]:
    """Markdown cells of the English notebook that have no current translation, and stray entries."""
    nb = _english(lesson) if nb is None else nb
    entries = _entries(lesson) if entries is None else entries
    by_id = {e.cell_id: e for e in entries}
    tr = lesson.rel(lesson.tr_path)
    fix = f"then run `{lesson.build_command}`"
    found = []
    markdown_ids = set()
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        cid, now = cell["id"], english_hash(cell_text(cell))
        markdown_ids.add(cid)
        e = by_id.get(cid)
        if e is None:
            found.append(Problem(lesson, cid, f"markdown cell has no translation in {tr}: run "
                                 f"`{lesson.sync_command}`, translate the entry marked '| todo', {fix}"))
        elif e.en_hash != now:
            found.append(Problem(lesson, cid, f"the English text changed since it was translated (hash {e.en_hash} "
                                 f"in {tr}, now {now}): run `{lesson.sync_command}`, re-translate the entry marked "
                                 f"'| todo', delete the '| todo', {fix}"))
        elif e.todo:
            found.append(Problem(lesson, cid, f"entry is marked '| todo' in {tr}: translate it, delete the "
                                 f"'| todo', {fix}"))
        elif REFERENCE in e.text:
            found.append(Problem(lesson, cid, f"entry in {tr} still holds the English to translate below the line "
                                 f"'<!-- English to translate ...': delete that line and the English, {fix}"))
        elif not e.text.strip():
            found.append(Problem(lesson, cid, f"translation in {tr} is empty"))
        elif _normalise(e.text) == _normalise(cell_text(cell)) and re.search(r"[A-Za-z]{4}", _prose(e.text)):
            found.append(Problem(lesson, cid, f"translation in {tr} is still the English text: translate it, {fix}"))
    for e in entries:
        if e.cell_id not in markdown_ids:
            found.append(Problem(lesson, e.cell_id, f"{tr} has an entry for a cell that is not a markdown cell of "
                                 f"the English notebook any more: run `{lesson.sync_command}` to drop it"))
    return found


_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.S)
_LINK = re.compile(r"(!?\[[^\]\n]*\]\()([^)\s]+)((?:\s+\"[^\"]*\")?\))")
_SRC = re.compile(r"(<img\b[^>]*?\bsrc=[\"'])([^\"']+)([\"'])", re.I)
_LESSON_FILE = re.compile(r"^\d\d_[^/]*\.ipynb(#.*)?$")


def relink(text: str, lesson: Lesson) -> str:
    """Point relative links and images (``img/x.png``) at the same files from the Chinese notebook's folder.

    Translators keep the English paths; links to another lesson's notebook
    (``21_x.ipynb``) stay as they are, so they open that lesson's Chinese
    edition beside this one. Code spans and fenced code are left alone.
    """
    def fix(target: str) -> str:
        if re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|/|#)", target) or _LESSON_FILE.match(target):
            return target
        moved = os.path.relpath(lesson.en_path.parent / target, lesson.zh_path.parent)
        return Path(moved).as_posix()

    def outside_code(part: str) -> str:
        part = _LINK.sub(lambda m: m[1] + fix(m[2]) + m[3], part)
        return _SRC.sub(lambda m: m[1] + fix(m[2]) + m[3], part)

    return "".join(p if i % 2 else outside_code(p) for i, p in enumerate(_CODE.split(text)))


def build_notebook(lesson: Lesson) -> dict:
    """The Chinese notebook as a dict: the English one with every markdown source translated.

    Raises:
        BuildError: cells without ids, or translations missing/outdated (the message lists every cell).
    """
    nb = _english(lesson)
    entries = _entries(lesson)
    found = translation_problems(lesson, nb, entries)
    if found:
        raise BuildError("cannot build " + lesson.rel(lesson.zh_path) + ":\n" + "\n".join(f"  - {p}" for p in found))
    by_id = {e.cell_id: e for e in entries}
    zh = copy.deepcopy(nb)
    for cell in zh["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = relink(by_id[cell["id"]].text, lesson)
    return zh


def dumps(nb: dict) -> str:
    """Serialise like nbformat does (sources as lists of lines, sorted keys, indent 1)."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if isinstance(cell.get("source"), str):
            cell["source"] = cell["source"].splitlines(keepends=True)
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def write_notebook(lesson: Lesson) -> bool:
    """Build one lesson's Chinese notebook and write it if it changed; return whether it was written."""
    text = dumps(build_notebook(lesson))
    if lesson.zh_path.exists() and lesson.zh_path.read_text(encoding="utf-8") == text:
        return False
    lesson.zh_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = lesson.zh_path.with_suffix(".ipynb.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(lesson.zh_path)
    return True


def problems(lesson: Lesson) -> list[Problem]:
    """Everything that makes the committed Chinese notebook differ from what a build would write now."""
    try:
        found = translation_problems(lesson)
    except BuildError as err:
        return [Problem(lesson, None, str(err))]
    if found:
        return found
    rebuild = f"rebuild it with `{lesson.build_command}` (the Chinese notebooks are built, not edited by hand)"
    if not lesson.zh_path.exists():
        return [Problem(lesson, None, f"{lesson.rel(lesson.zh_path)} does not exist: {rebuild}")]
    want = build_notebook(lesson)
    have = read_json(lesson.zh_path)
    zh = lesson.rel(lesson.zh_path)
    if [(c.get("id"), c["cell_type"]) for c in have["cells"]] != [(c["id"], c["cell_type"]) for c in want["cells"]]:
        return [Problem(lesson, None, f"{zh} has other cells than the English notebook (added, removed or "
                        f"re-ordered): {rebuild}")]
    found = []
    for got, exp in zip(have["cells"], want["cells"]):
        if cell_text(got) != cell_text(exp) and got["cell_type"] == "markdown":
            found.append(Problem(lesson, exp["id"], f"markdown in {zh} is not the translation in "
                                 f"{lesson.rel(lesson.tr_path)}: {rebuild}"))
        elif {**got, "source": cell_text(got)} != {**exp, "source": cell_text(exp)}:
            what = "source" if cell_text(got) != cell_text(exp) else "outputs/metadata"
            found.append(Problem(lesson, exp["id"], f"{exp['cell_type']} cell's {what} in {zh} differs from the "
                                 f"English notebook: {rebuild}"))
    if not found and {k: v for k, v in have.items() if k != "cells"} != {k: v for k, v in want.items() if k != "cells"}:
        found.append(Problem(lesson, None, f"notebook metadata of {zh} differs from the English notebook: {rebuild}"))
    return found


def _reference(chinese: str, english: str) -> str:
    """A todo entry's body: the old translation (if any), then the English to translate, marked."""
    chinese = chinese.split(REFERENCE, 1)[0].strip("\n")
    return "\n\n".join(part for part in (chinese, REFERENCE + "\n" + _normalise(english)) if part)


def sync(lesson: Lesson) -> dict[str, list[str]]:
    """Rewrite the translation source to match the English notebook; return the cell ids by what happened.

    Keys: ``kept`` (unchanged), ``moved`` (same English text under another id:
    translation carried over as it is), ``changed`` (English changed: the old
    translation is kept as a starting point and the new English is put below it,
    marked todo), ``new`` (English text put in, marked todo), ``dropped``.

    An English cell whose id is new and whose text matches no entry takes over
    the unused entry that followed its predecessor's (ids renumbered *and* text
    edited): that translation is the best starting point, and it is marked todo.
    """
    nb = _english(lesson)
    old = _entries(lesson) if lesson.tr_path.exists() else []
    cells = [c for c in nb["cells"] if c["cell_type"] == "markdown"]
    hashes = [english_hash(cell_text(c)) for c in cells]
    ids = {c["id"] for c in cells}
    position = {e.cell_id: i for i, e in enumerate(old)}
    match: list[Entry | None] = [None] * len(cells)
    how: list[str] = [""] * len(cells)
    used: set[str] = set()

    def take(i: int, entry: Entry | None, kind: str) -> None:
        if entry is not None and match[i] is None and entry.cell_id not in used:
            match[i], how[i] = entry, kind
            used.add(entry.cell_id)

    for i, (cell, now) in enumerate(zip(cells, hashes)):          # 1. same id, same text
        take(i, next((e for e in old if e.cell_id == cell["id"] and e.en_hash == now), None), "kept")
    for i, now in enumerate(hashes):                               # 2. same text under another id
        take(i, next((e for e in old if e.en_hash == now and not e.todo and e.cell_id not in used), None), "moved")
    for i, cell in enumerate(cells):                               # 3. same id, text changed
        take(i, next((e for e in old if e.cell_id == cell["id"]), None), "changed")
    for i in range(len(cells)):                                    # 4. new id, text changed: same place
        if match[i] is None:
            before = max((position[m.cell_id] for m in match[:i] if m is not None), default=-1)
            after = old[before + 1] if before + 1 < len(old) else None
            if after is not None and after.cell_id not in ids:
                take(i, after, "changed")
    report: dict[str, list[str]] = {"kept": [], "moved": [], "changed": [], "new": [], "dropped": []}
    entries = []
    for cell, now, m, kind in zip(cells, hashes, match, how):
        cid = cell["id"]
        name = cid if m is None or m.cell_id == cid else f"{m.cell_id}->{cid}"
        if m is None:
            entries.append(Entry(cid, now, _reference("", cell_text(cell)), todo=True))
            report["new"].append(cid)
        elif kind == "changed":
            entries.append(Entry(cid, now, _reference(m.text, cell_text(cell)), todo=True))
            report["changed"].append(name)
        else:
            entries.append(Entry(cid, now, m.text, todo=m.todo))
            report[kind].append(name)
    report["dropped"] = [e.cell_id for e in old if e.cell_id not in used]
    lesson.tr_path.parent.mkdir(parents=True, exist_ok=True)
    lesson.tr_path.write_text(format_translation(lesson, entries), encoding="utf-8")
    return report


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lessons", nargs="*", help="lesson numbers, names or paths (default: every lesson)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="report drift, write nothing, exit 1 on drift")
    mode.add_argument("--sync", action="store_true", help="update the translation sources to the English notebooks")
    ns = parser.parse_args(argv)
    try:
        chosen = [find_lesson(n, root) for n in ns.lessons] if ns.lessons else lessons(root)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    status = 0
    for lesson in chosen:
        if not ns.lessons and not ns.sync and not lesson.tr_path.exists():
            print(f"{lesson.number}: no translation yet ({lesson.rel(lesson.tr_path)}); start one with "
                  f"`{lesson.sync_command}`")
            continue
        try:
            if ns.sync:
                report = sync(lesson)
                counts = ", ".join(f"{len(v)} {k}" for k, v in report.items())
                print(f"{lesson.rel(lesson.tr_path)}: {counts}")
                todo = report["changed"] + report["new"]
                if todo:
                    print(f"  to translate (marked '| todo'): {' '.join(todo)}; then `{lesson.build_command}`")
                    status = 1
            elif ns.check:
                found = problems(lesson)
                print(f"{lesson.number}: " + ("in sync" if not found else f"{len(found)} problem(s)"))
                for p in found:
                    print(f"  - {p}")
                status |= bool(found)
            else:
                written = write_notebook(lesson)
                print(f"{lesson.rel(lesson.zh_path)}: {'written' if written else 'unchanged'}")
        except BuildError as err:
            print(err, file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
