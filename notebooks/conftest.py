"""nbval and the Chinese edition (notebooks/zh/, its solutions in notebooks/zh/solutions/).

The Chinese notebooks are built by tools/build_zh.py from the executed English
ones: the same code once comments are removed (their comments are translated),
the same outputs. tests/test_zh_edition.py proves that statically; executing
them proves that the translated cells still run, from notebooks/zh/ and
notebooks/zh/solutions/ (one folder deeper), and still print the English outputs.

* ``python course.py test`` (the full run) runs notebooks/zh/ -- lessons, then
  solutions -- in its second pass, under the other kernel setting (``generic``),
  with ``CAMP_TEST_ZH=1``: nbval then collects notebooks/zh/, in strict mode like
  the English notebooks, which ran in the first pass under this machine's
  kernels. A plain ``pytest`` and the ``--portable`` runs leave it out. A path
  given explicitly (``pytest notebooks/zh/20_tensorboard_install.ipynb``) is
  always collected.
* When both editions are collected, the Chinese notebooks run right after the
  English lessons, before notebooks/solutions/. (A solutions notebook of either
  edition writes its runs to ``runs/solutions/<lesson>/``, apart from the
  lessons' own.)
* ``CAMP_LANG`` is removed for every kernel the suite starts: camp_utils'
  learner-facing messages are then English, the language of the committed
  outputs of both editions (a learner's ``course.py lab --lang zh`` sets
  ``CAMP_LANG=zh`` and gets them in Chinese).
"""
import os
from pathlib import Path

ZH_VARIABLE = "CAMP_TEST_ZH"

os.environ.pop("CAMP_LANG", None)  # kernels inherit this process's environment (--nbval-current-env)

collect_ignore = [] if os.environ.get(ZH_VARIABLE) == "1" else ["zh"]

HERE = Path(__file__).resolve().parent


def _inside(item, folder: Path) -> bool:
    return folder in Path(str(item.path)).resolve().parents


def pytest_collection_modifyitems(session, config, items):
    """Move the items of notebooks/zh/ to just after the last English lesson (notebooks/NN_*.ipynb)."""
    zh = [item for item in items if _inside(item, HERE / "zh")]
    if not zh:
        return
    rest = [item for item in items if not _inside(item, HERE / "zh")]
    lessons = [k for k, item in enumerate(rest) if Path(str(item.path)).resolve().parent == HERE]
    at = lessons[-1] + 1 if lessons else next((k for k, item in enumerate(rest) if _inside(item, HERE)), len(rest))
    items[:] = rest[:at] + zh + rest[at:]
