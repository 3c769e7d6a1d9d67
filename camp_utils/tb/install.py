"""The install check: versions of the key packages and the ``tensorboard`` program."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from ..messages import say
from .notebook import find_tensorboard_program

__all__ = ["InstallReport", "check_install"]


@dataclass
class InstallReport:
    """What :func:`check_install` found. ``str(report)`` is a readable summary."""

    python: str
    versions: dict[str, str | None]
    tensorboard_program: Path | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every package imports and the program is found."""
        return not self.problems

    def __str__(self) -> str:
        lines = [f"Python       {self.python}"]
        for name, version in self.versions.items():
            lines.append(f"{name:<12} {version or say('install.missing')}")
        state = say("install.found" if self.tensorboard_program else "install.not_found")
        lines.append(say("install.program", state=state))
        lines += [say("install.problem", problem=p) for p in self.problems] or [say("install.all_good")]
        return "\n".join(lines)


def check_install(packages: str | Sequence[str] = ("torch", "torchvision", "tensorboard")) -> InstallReport:
    """Report the versions of the course's key packages and whether ``tensorboard`` runs.

    Args:
        packages: distribution names to look up; one name (a ``str``) is
            taken as one package, not as a sequence of letters.

    Returns:
        An :class:`InstallReport`; ``report.ok`` is False and ``report.problems``
        says what to do when something is missing (in Chinese with ``CAMP_LANG=zh``,
        see :mod:`camp_utils.messages`). Nothing is printed.

    Raises:
        ValueError: if a package name is not a non-empty str.
    """
    if isinstance(packages, str):
        packages = (packages,)
    for name in packages:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"packages must be names such as 'torch', got {name!r}")
    versions: dict[str, str | None] = {}
    problems: list[str] = []
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
            problems.append(say("install.missing_package", name=name))
    program = find_tensorboard_program()
    if program is None:
        problems.append(say("install.no_program"))
    version = sys.version.split()[0]
    return InstallReport(python=version, versions=versions, tensorboard_program=program, problems=problems)
