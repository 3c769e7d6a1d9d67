"""nbval and the Chinese edition (notebooks/zh/).

The Chinese notebooks are built by tools/build_zh.py from the executed English
ones: the same code once comments are removed (their comments are translated),
the same outputs. tests/test_zh_edition.py proves that statically; executing
them proves that the translated cells still run, from notebooks/zh/ (one folder
deeper), and still print the English outputs.

* ``python course.py test`` (the full run) sets ``CAMP_TEST_ZH=1``: nbval then
  collects notebooks/zh/ too, in strict mode like the English notebooks. The
  ``--portable`` runs and a plain ``pytest`` leave it out (it doubles the time
  of the notebooks; the English pass covers portability). A path given
  explicitly (``pytest notebooks/zh/20_tensorboard_install.ipynb``) is always
  collected.
* ``CAMP_LANG`` is removed for every kernel the suite starts: camp_utils'
  learner-facing messages are then English, the language of the committed
  outputs of both editions (a learner's ``course.py lab --lang zh`` sets
  ``CAMP_LANG=zh`` and gets them in Chinese).
"""
import os

ZH_VARIABLE = "CAMP_TEST_ZH"

os.environ.pop("CAMP_LANG", None)  # kernels inherit this process's environment (--nbval-current-env)

collect_ignore = [] if os.environ.get(ZH_VARIABLE) == "1" else ["zh"]
