"""Keep nbval out of notebooks/zh/.

The Chinese notebooks are built by tools/build_zh.py from the executed English
ones: same code cells, same outputs. tests/test_zh_edition.py proves that they
are identical, so executing them again under nbval would only double the time
of the test suite without checking anything new.
"""
collect_ignore = ["zh"]
