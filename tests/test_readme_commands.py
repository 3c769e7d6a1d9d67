"""The READMEs' command blocks can be pasted into the shell they are for.

A ``#`` comment on a command line breaks the shells learners use: cmd stores
``set PIP_INDEX_URL=...   # comment`` with the comment inside the variable, and
zsh (macOS's default shell) does not treat ``#`` as a comment when typed. So a
shell block holds commands only, one block per shell (bash/zsh, PowerShell,
cmd); what a command does is said in the prose around it.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
READMES = ["README.md", "README.zh-CN.md", "data/README.md", "data/README.zh-CN.md"]
# Fenced blocks of these languages are typed into a shell; an unlabelled block counts as one.
SHELLS = {"", "bash", "sh", "zsh", "shell", "console", "powershell", "ps1", "pwsh", "bat", "cmd", "batch"}


def shell_blocks(text: str) -> list[tuple[int, str, list[str]]]:
    """``(line number, language, lines)`` of every fenced block of a shell language."""
    blocks = []
    for match in re.finditer(r"^```(\S*)[ \t]*\n(.*?)^```", text, flags=re.S | re.M):
        language = match.group(1).lower()
        if language in SHELLS:
            blocks.append((text[:match.start()].count("\n") + 1, language, match.group(2).splitlines()))
    return blocks


def comment_in(line: str) -> bool:
    """Whether ``line`` holds a ``#`` that starts a comment (outside quotes, at a word's start)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return True
    return False


@pytest.mark.parametrize("readme", READMES)
def test_no_command_line_carries_a_comment(readme):
    path = ROOT / readme
    if not path.exists():
        pytest.skip(f"{readme} is not part of this checkout")
    found = [f"{readme}:{start + 1 + i}: {line.strip()}" for start, _, lines in shell_blocks(path.read_text("utf-8"))
             for i, line in enumerate(lines) if comment_in(line)]
    assert found == []


@pytest.mark.parametrize("readme", ["README.md", "README.zh-CN.md"])
def test_a_block_is_for_one_shell(readme):
    # Windows-only syntax (set VAR=, $env:, .venv\Scripts) never shares a block with POSIX-only syntax.
    posix = re.compile(r"^(source |export |[A-Z_]+=\S+ \S)|\.venv/bin/|\bcp -r\b")
    windows = re.compile(r"^set [A-Z_]+=|\$env:|\\Scripts\\|\bxcopy\b")
    mixed = [f"{readme}:{start}" for start, _, lines in shell_blocks((ROOT / readme).read_text("utf-8"))
             if any(posix.search(line) for line in lines) and any(windows.search(line) for line in lines)]
    assert mixed == []


def test_the_checker_finds_what_breaks_a_shell():
    assert comment_in("pytest   # the tests") and comment_in("# a whole comment line")
    assert not comment_in('echo "a # inside quotes"') and not comment_in("git log --format=%h#1")
    blocks = shell_blocks("text\n```bash\nls  # x\n```\n```python\nx = 1  # fine\n```\n```\npwd\n```\n")
    assert [(line, language) for line, language, _ in blocks] == [(2, "bash"), (8, "")]
