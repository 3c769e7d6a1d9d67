"""One way for the tests to load a script that is not a package module (course.py, tools/, notebooks' conftest).

Each call executes the file again and returns a fresh module, so a test that
patches the module (``monkeypatch.setattr(course, ...)``) cannot leak into
another test's copy.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def load_script(path: Path | str, name: str | None = None, *, register: bool = False) -> ModuleType:
    """Execute the Python file ``path`` (relative to the repository root, or absolute) as a module.

    Args:
        path: the script, e.g. ``"course.py"`` or ``"tools/build_zh.py"``.
        name: the module's ``__name__``; by default the file's stem.
        register: also put the module in ``sys.modules`` under ``name`` before running it
            (dataclasses and pickling look their module up there).
    """
    path = Path(path) if Path(path).is_absolute() else ROOT / path
    if not path.is_file():
        raise FileNotFoundError(f"no script at {path}")
    name = name or path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
