"""Build the Simplified-Chinese edition (中文版) of the lessons from the English notebooks.

    python tools/build_zh.py              # build notebooks/zh/NN_*.ipynb for every lesson with a translation
    python tools/build_zh.py 20 21        # only these lessons (number, file name or path)
    python tools/build_zh.py --check      # report drift for every lesson; write nothing; exit 1 on drift
    python tools/build_zh.py --sync 22    # create/update translations/zh/22_*.md to match the English notebook

The Chinese notebooks are *built*, never edited by hand. A built notebook is the
executed English notebook (``notebooks/NN_name.ipynb``) with the source of every
markdown cell replaced by its translation from ``translations/zh/NN_name.md``
and every comment in a code cell replaced by its translation from
``translations/zh/code/NN_name.md``. Everything else -- the code itself (strings
included), outputs, execution counts, attachments and all metadata -- is copied
unchanged, so the code a learner runs and the outputs they compare with are the
English edition's, byte for byte once comments are removed. Relative links and images in the
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
that touches only code (not its comments) or outputs needs just the rebuild.

Comments in code cells are translated in ``translations/zh/code/NN_name.md``,
one entry per code cell that has comments, keyed by the cell id; inside it, one
``en:``/``zh:`` pair per comment, keyed by the English comment's exact text::

    <!-- code: ba9984a4 -->
    en: # wrong: before optimizer.step()
    zh: # 错误：在 optimizer.step() 之前调用

Comments are found with :mod:`tokenize`, so a ``#`` inside a string is never
touched; strings are not translated (what a cell prints is compared with the
English outputs; learner-facing messages of ``camp_utils`` are translated at run
time with ``CAMP_LANG=zh`` instead, see ``camp_utils/messages.py``). Markers and
pragmas (``# NBVAL_IGNORE_OUTPUT``, ``# noqa``, ``# type:``, ...) are kept as
they are and need no entry. When an English comment is edited, its old pair no
longer matches: ``--check`` reports the comment as untranslated and the pair as
stale, the build refuses, and ``--sync`` writes the new comment with an empty
``zh:`` (keeping the old pair's Chinese on a ``was:`` line to start from). A
``zh:`` equal to the English keeps the comment in English (for comments that are
code, such as ``# (B, 64, 8, 8)``).

Only the standard library is used; ``tests/test_zh_edition.py`` imports this
file and fails whenever a committed Chinese notebook is not what a build would
write now.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import io
import json
import os
import re
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HASH_DIGITS = 16
MARKER = re.compile(r"^<!-- cell: (?P<id>[A-Za-z0-9_-]+) \| en-sha256: (?P<hash>[0-9a-f]{16})(?P<todo> \| todo)? -->$")
REFERENCE = ("<!-- English to translate: put its translation above this line, "
             "then delete this line, the English and the '| todo' -->")
HEADER = """<!--
Simplified-Chinese source (中文版) of {en} -> {zh}
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
           "lessons", "find_lesson", "relink", "build_notebook", "problems", "sync", "write_notebook", "main",
           "comments", "strip_comments", "replace_comments", "parse_code_translation", "format_code_translation",
           "code_problems", "sync_code", "is_pragma"]


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
    def code_path(self) -> Path:
        """The translations of the comments in the code cells: ``translations/zh/code/NN_name.md``."""
        return self.tr_path.parent / "code" / self.tr_path.name

    @property
    def number(self) -> str:
        """The lesson's number (``"19"``), also for its solutions notebook."""
        return self.en_path.name[:2]

    @property
    def solutions(self) -> bool:
        """True for a solutions notebook (``notebooks/solutions/NN_*_solutions.ipynb``)."""
        return self.en_path.parent.name == "solutions"

    @property
    def key(self) -> str:
        """The short name the command line takes: ``"19"`` for a lesson, ``"solutions/19"`` for its solutions."""
        return f"solutions/{self.number}" if self.solutions else self.number

    def rel(self, path: Path) -> str:
        """``path`` relative to the project, with forward slashes, for messages."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    @property
    def build_command(self) -> str:
        """The command that builds this lesson's Chinese notebook."""
        return f"python tools/build_zh.py {self.key}"

    @property
    def sync_command(self) -> str:
        """The command that brings this lesson's translation file in step with the English notebook."""
        return f"python tools/build_zh.py --sync {self.key}"


def _normalise(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def _prose(text: str) -> str:
    """Text without code blocks, code spans, formulas, links' targets and HTML tags."""
    for pattern in (r"```.*?```", r"\$\$.*?\$\$", r"\$[^$\n]*\$", r"`[^`\n]*`", r"\]\([^)]*\)", r"<[^>]*>", r"https?://\S+"):
        text = re.sub(pattern, " ", text, flags=re.S)
    return text


def english_hash(text: str) -> str:
    r"""Return the hash recorded beside a translation: 16 hex digits of SHA-256 of the normalised text.

    Normalising (``\r\n`` -> ``\n``, trailing spaces and blank first/last lines
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
    parts = [HEADER.format(en=lesson.rel(lesson.en_path), zh=lesson.rel(lesson.zh_path), lesson=lesson.key)]
    for e in entries:
        todo = " | todo" if e.todo else ""
        parts.append(f"<!-- cell: {e.cell_id} | en-sha256: {e.en_hash}{todo} -->\n{e.text.strip(chr(10))}\n")
    return "\n".join(parts)


def lessons(root: Path = ROOT) -> list[Lesson]:
    """Every English notebook with its translation and Chinese paths: the lessons, then their solutions.

    ``notebooks/NN_name.ipynb`` -> ``translations/zh/NN_name.md`` -> ``notebooks/zh/NN_name.ipynb``;
    ``notebooks/solutions/NN_name.ipynb`` -> ``translations/zh/solutions/NN_name.md`` ->
    ``notebooks/zh/solutions/NN_name.ipynb``.
    """
    found = []
    for sub in ("", "solutions"):
        en_dir, tr_dir = root / "notebooks" / sub, root / "translations" / "zh" / sub
        found += [Lesson(p, tr_dir / f"{p.stem}.md", root / "notebooks" / "zh" / sub / p.name, root)
                  for p in sorted(en_dir.glob("[0-9][0-9]_*.ipynb"))]
    return found


def find_lesson(name: str, root: Path = ROOT) -> Lesson:
    """The notebook named by its key (``20``, ``solutions/20``), file name or path.

    Raises:
        ValueError: no English notebook matches ``name``.
    """
    every = lessons(root)

    def names(ls: Lesson) -> set[str]:
        return {ls.key, ls.en_path.name, ls.en_path.stem, ls.tr_path.name,
                ls.rel(ls.en_path), ls.rel(ls.tr_path), ls.rel(ls.zh_path)}

    wanted = name.replace("\\", "/").removeprefix("./")
    found = [ls for ls in every if wanted in names(ls)] or [ls for ls in every if Path(wanted).name in names(ls)]
    if len(found) != 1:
        known = ", ".join(ls.key for ls in every) or "none"
        raise ValueError(f"lesson {name!r} not found; known: {known} (or a notebook's file name or path)")
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


_CODE = re.compile(r"(```.*?```|~~~.*?~~~)", re.S)  # fenced code: never touched
_INLINE_CODE = re.compile(r"`[^`\n]*`")
# link text may hold code spans (`x`) and one level of brackets (Linear[fc1])
_LINK = re.compile(r"(!?\[(?:[^\[\]\n]|\[[^\[\]\n]*\])*\]\()([^)\s]+)((?:\s+\"[^\"]*\")?\))")
_SRC = re.compile(r"(<img\b[^>]*?\bsrc=[\"'])([^\"']+)([\"'])", re.I)


def relink(text: str, lesson: Lesson) -> str:
    """Point relative links and images (``img/x.png``) at the same files from the Chinese notebook's folder.

    Translators keep the English paths; a link to another English notebook that
    has a Chinese edition (a lesson's ``21_x.ipynb``, its
    ``solutions/21_x_solutions.ipynb``, a solution's ``../21_x.ipynb``) is
    pointed at that Chinese edition, so a learner stays in Chinese. Code spans
    and fenced code are left alone.
    """
    editions = {Path(os.path.normpath(ls.en_path)): ls.zh_path
                for ls in lessons(lesson.root) if ls.tr_path.exists()}

    def fix(target: str) -> str:
        if re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|/|#)", target):
            return target
        path, hash_, fragment = target.partition("#")
        english = Path(os.path.normpath(lesson.en_path.parent / path))
        moved = os.path.relpath(editions.get(english, english), lesson.zh_path.parent)
        return Path(moved).as_posix() + hash_ + fragment

    def outside_code(part: str) -> str:
        spans = [m.span() for m in _INLINE_CODE.finditer(part)]

        def in_code(at: int) -> bool:  # a link-like text inside a code span (`a[0](x)`) is code
            return any(start < at < end for start, end in spans)

        part = _LINK.sub(lambda m: m[0] if in_code(m.start()) else m[1] + fix(m[2]) + m[3], part)
        return _SRC.sub(lambda m: m[0] if in_code(m.start()) else m[1] + fix(m[2]) + m[3], part)

    return "".join(p if i % 2 else outside_code(p) for i, p in enumerate(_CODE.split(text)))


# --- comments in code cells ---------------------------------------------------------------------

CODE_MARKER = re.compile(r"^<!-- code: (?P<id>[A-Za-z0-9_-]+) -->$")
CODE_HEADER = """<!--
Chinese comments (中文注释) for the code cells of {en} -> {zh}
Built by: python tools/build_zh.py {lesson}
One entry per code cell with comments: a marker line with the cell's id, then for
each comment an "en:" line (the English comment, exactly as in the cell) and a
"zh:" line (its translation, starting with "#"). Only comments are translated: the
code and its strings stay as in English. A "zh:" equal to its "en:" keeps the
English (comments that are code). An empty "zh:" still needs translating; the
"was:" line below it, if any, is the old translation of the comment it replaced.
Markers and pragmas (# NBVAL_IGNORE_OUTPUT, # noqa, ...) are never translated.
After the English notebook changed: python tools/build_zh.py --sync {lesson}
-->
"""
PRAGMA = re.compile(r"#\s*(NBVAL_[A-Z_]+|noqa\b|type:|pragma\b|fmt:|ruff:|pylint:|isort:|nosec\b)")
_KEPT_TAIL = re.compile(r"#\s*(noqa\b[^#]*|type:\s*ignore\S*)")
_MAGIC = re.compile(r"^\s*[%!]")


def is_pragma(comment: str) -> bool:
    """True for a comment the tools read (``# NBVAL_IGNORE_OUTPUT``, ``# noqa: E501``, ...): never translated."""
    return bool(PRAGMA.match(comment))


@dataclass
class CodeEntry:
    """The translated comments of one code cell: English comment text -> Chinese comment (``""``: not yet)."""

    cell_id: str
    comments: dict[str, str] = field(default_factory=dict)
    was: dict[str, str] = field(default_factory=dict)


def _comment_tokens(source: str) -> list[tuple[int, int, str]]:
    """``(line index, column, text)`` of every comment in a code cell's source, found with :mod:`tokenize`.

    IPython lines (``%magic``, ``!shell``) are left out. Raises ``tokenize.TokenError``
    or ``SyntaxError`` for source that Python cannot tokenize.
    """
    lines = source.split("\n")
    masked = "\n".join("" if _MAGIC.match(line) else line for line in lines)
    tokens = tokenize.generate_tokens(io.StringIO(masked).readline)
    return [(t.start[0] - 1, t.start[1], t.string) for t in tokens if t.type == tokenize.COMMENT]


def comments(source: str) -> list[str]:
    """The comments of a code cell that take a translation (pragmas left out), in order, each once."""
    found = []
    for _, _, text in _comment_tokens(source):
        text = text.rstrip()
        if not is_pragma(text) and text not in found:
            found.append(text)
    return found


def _edit_comments(source: str, change) -> str:
    lines = source.split("\n")
    for row, col, text in reversed(_comment_tokens(source)):
        if is_pragma(text.rstrip()):
            continue
        line = lines[row]
        lines[row] = change(line[:col], text.rstrip(), line[col + len(text):])
    return "\n".join(lines)


def strip_comments(source: str) -> str:
    """The source with every comment but the pragmas removed (and the spaces before it): what must not drift."""
    return _edit_comments(source, lambda before, text, after: (before + after).rstrip())


def replace_comments(source: str, table: dict[str, str]) -> str:
    """The source with each comment found in ``table`` (English text -> Chinese) replaced; strings are untouched."""
    return _edit_comments(source, lambda before, text, after: before + (table.get(text) or text) + after)


def parse_code_translation(text: str, name: str = "code translation") -> list[CodeEntry]:
    """Parse ``translations/zh/code/NN_name.md`` (text before the first marker is a header and ignored).

    Raises:
        BuildError: a cell or a comment appears twice, a "zh:" line without its "en:", or a line that is none of
            marker, ``en:``, ``zh:``, ``was:`` or blank.
    """
    entries: list[CodeEntry] = []
    english: str | None = None
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        where = f"{name}, line {number}"
        match = CODE_MARKER.match(line.rstrip())
        if match:
            if any(e.cell_id == match["id"] for e in entries):
                raise BuildError(f"{where}: cell {match['id']} has two entries")
            entries.append(CodeEntry(match["id"]))
            english = None
        elif line.startswith("<!-- code:"):
            raise BuildError(f"{where}: malformed marker {line!r}; expected '<!-- code: ID -->'")
        elif not entries or not line.strip():
            continue
        elif line.startswith("en:"):
            english = line[3:].strip()
            if english in entries[-1].comments:
                raise BuildError(f"{where}: the comment {english!r} has two translations in cell "
                                 f"{entries[-1].cell_id}")
            entries[-1].comments[english] = ""
        elif line.startswith(("zh:", "was:")):
            kind, _, value = line.partition(":")
            if english is None:
                raise BuildError(f"{where}: a '{kind}:' line must follow its 'en:' line")
            (entries[-1].comments if kind == "zh" else entries[-1].was)[english] = value.strip()
        else:
            raise BuildError(f"{where}: expected a marker '<!-- code: ID -->' or a line starting with 'en:', "
                             f"'zh:' or 'was:', got {line!r}")
    return entries


def format_code_translation(lesson: Lesson, entries: list[CodeEntry]) -> str:
    """The text of a comment translation file (inverse of :func:`parse_code_translation`)."""
    parts = [CODE_HEADER.format(en=lesson.rel(lesson.en_path), zh=lesson.rel(lesson.zh_path), lesson=lesson.key)]
    for e in entries:
        lines = [f"<!-- code: {e.cell_id} -->"]
        for en, zh in e.comments.items():
            lines += [f"en: {en}", f"zh: {zh}".rstrip()]
            if e.was.get(en) and not zh:  # the hint goes once the comment is translated
                lines.append(f"was: {e.was[en]}")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def _code_entries(lesson: Lesson) -> list[CodeEntry] | None:
    if not lesson.code_path.exists():
        return None
    return parse_code_translation(lesson.code_path.read_text(encoding="utf-8"), lesson.rel(lesson.code_path))


def _cell_comments(lesson: Lesson, cell: dict) -> list[str]:
    try:
        return comments(cell_text(cell))
    except (tokenize.TokenError, SyntaxError) as err:
        raise BuildError(f"cell {cell['id']} of {lesson.rel(lesson.en_path)}: Python cannot tokenize its code "
                         f"({err}), so its comments cannot be found") from err


def code_problems(lesson: Lesson, nb: dict | None = None,
                  entries: list[CodeEntry] | None = None) -> list[Problem]:
    """Comments of the English code cells without a current translation, and stale or wrong entries."""
    nb = _english(lesson) if nb is None else nb
    entries = _code_entries(lesson) if entries is None else entries
    tr = lesson.rel(lesson.code_path)
    fix = f"run `{lesson.sync_command}`, write the empty 'zh:' lines in {tr}, then `{lesson.build_command}`"
    wanted = {c["id"]: _cell_comments(lesson, c) for c in nb["cells"] if c["cell_type"] == "code"}
    if entries is None:
        if any(wanted.values()):
            return [Problem(lesson, None, f"{tr} does not exist: start it with `{lesson.sync_command}`, "
                                          f"then translate its comments")]
        return []
    by_id = {e.cell_id: e for e in entries}
    found = []
    for cid, texts in wanted.items():
        entry = by_id.get(cid, CodeEntry(cid))
        for en in texts:
            zh = entry.comments.get(en, "")
            if not zh:
                found.append(Problem(lesson, cid, f"the comment {en!r} has no translation: {fix}"))
            elif not zh.startswith("#"):
                found.append(Problem(lesson, cid, f"the translation of {en!r} in {tr} must start with '#' "
                                                  f"(it is a comment), got {zh!r}"))
            else:
                for tail in _KEPT_TAIL.findall(en):
                    if tail.strip() not in zh:
                        found.append(Problem(lesson, cid, f"the translation of {en!r} in {tr} drops the "
                                                          f"pragma '# {tail.strip()}': keep it as it is"))
    for e in entries:
        if e.cell_id not in wanted:
            found.append(Problem(lesson, e.cell_id, f"{tr} has an entry for a cell that is not a code cell of the "
                                                    f"English notebook any more: run `{lesson.sync_command}`"))
            continue
        for en in e.comments:
            if en not in wanted[e.cell_id]:
                found.append(Problem(lesson, e.cell_id, f"stale entry in {tr}: the English comment {en!r} is not "
                                                        f"in the cell any more (edited or removed): run "
                                                        f"`{lesson.sync_command}`"))
    return found


def sync_code(lesson: Lesson) -> dict[str, list[str]]:
    """Rewrite the comment translations to match the English code cells; return the comments by what happened.

    Keys: ``kept`` (same cell, same English comment), ``moved`` (the same comment
    translated in another cell), ``new`` (written with an empty ``zh:``; the old
    translation of a removed comment of the same cell, if any, goes on its
    ``was:`` line), ``dropped``. Values are ``"<cell id>: <comment>"``.
    """
    nb = _english(lesson)
    old = _code_entries(lesson) or []
    by_id = {e.cell_id: e for e in old}
    anywhere = {en: zh for e in old for en, zh in e.comments.items() if zh}
    report: dict[str, list[str]] = {"kept": [], "moved": [], "new": [], "dropped": []}
    entries = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        texts = _cell_comments(lesson, cell)
        if not texts:
            continue
        before = by_id.get(cell["id"], CodeEntry(cell["id"]))
        gone = [zh or before.was.get(en, "") for en, zh in before.comments.items() if en not in texts]
        entry = CodeEntry(cell["id"])
        for en in texts:
            name = f"{cell['id']}: {en}"
            if before.comments.get(en):
                entry.comments[en] = before.comments[en]
                report["kept"].append(name)
            elif en in anywhere:
                entry.comments[en] = anywhere[en]
                report["moved"].append(name)
            else:
                entry.comments[en] = ""
                hint = before.was.get(en) or (gone.pop(0) if gone else "")
                if hint:
                    entry.was[en] = hint
                report["new"].append(name)
        entries.append(entry)
    now = {(e.cell_id, en) for e in entries for en in e.comments}
    report["dropped"] = [f"{e.cell_id}: {en}" for e in old for en in e.comments if (e.cell_id, en) not in now]
    lesson.code_path.parent.mkdir(parents=True, exist_ok=True)
    lesson.code_path.write_text(format_code_translation(lesson, entries), encoding="utf-8")
    return report


def build_notebook(lesson: Lesson) -> dict:
    """The Chinese notebook as a dict: the English one with every markdown source translated.

    Raises:
        BuildError: cells without ids, or translations missing/outdated (the message lists every cell).
    """
    nb = _english(lesson)
    entries = _entries(lesson)
    code_entries = _code_entries(lesson)
    found = translation_problems(lesson, nb, entries) + code_problems(lesson, nb, code_entries)
    if found:
        raise BuildError("cannot build " + lesson.rel(lesson.zh_path) + ":\n" + "\n".join(f"  - {p}" for p in found))
    by_id = {e.cell_id: e for e in entries}
    code_by_id = {e.cell_id: e.comments for e in code_entries or []}
    zh = copy.deepcopy(nb)
    for cell in zh["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = relink(by_id[cell["id"]].text, lesson)
        elif cell["cell_type"] == "code" and cell["id"] in code_by_id:
            cell["source"] = replace_comments(cell_text(cell), code_by_id[cell["id"]])
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
        found = translation_problems(lesson) + code_problems(lesson)
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
        elif cell_text(got) != cell_text(exp) and got["cell_type"] == "code" and \
                _safe_strip(cell_text(got)) == _safe_strip(cell_text(exp)):
            found.append(Problem(lesson, exp["id"], f"the comments in {zh} are not the translations in "
                                 f"{lesson.rel(lesson.code_path)}: {rebuild}"))
        elif {**got, "source": cell_text(got)} != {**exp, "source": cell_text(exp)}:
            what = "source" if cell_text(got) != cell_text(exp) else "outputs/metadata"
            found.append(Problem(lesson, exp["id"], f"{exp['cell_type']} cell's {what} in {zh} differs from the "
                                 f"English notebook: {rebuild}"))
    if not found and {k: v for k, v in have.items() if k != "cells"} != {k: v for k, v in want.items() if k != "cells"}:
        found.append(Problem(lesson, None, f"notebook metadata of {zh} differs from the English notebook: {rebuild}"))
    return found


def _safe_strip(source: str) -> str | None:
    try:
        return strip_comments(source)
    except (tokenize.TokenError, SyntaxError):
        return None


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
    """Build, sync or check the Chinese notebooks named on the command line (all by default)."""
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
            print(f"{lesson.key}: no translation yet ({lesson.rel(lesson.tr_path)}); start one with "
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
                code = sync_code(lesson)
                print(f"{lesson.rel(lesson.code_path)}: " + ", ".join(f"{len(v)} {k}" for k, v in code.items()))
                if code["new"]:
                    print(f"  comments to translate (empty 'zh:' lines): {len(code['new'])}; "
                          f"then `{lesson.build_command}`")
                    status = 1
            elif ns.check:
                found = problems(lesson)
                print(f"{lesson.key}: " + ("in sync" if not found else f"{len(found)} problem(s)"))
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
