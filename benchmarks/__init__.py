"""Benchmarks of the course: what a learner and CI feel, measured, never asserted in tests.

Run from the repository root with the course's environment:

    .venv/bin/python -m benchmarks                 # all of them (several minutes on 2 cores)
    .venv/bin/python -m benchmarks import fit      # only some, by name
    .venv/bin/python -m benchmarks --list          # names and what each measures
    .venv/bin/python -m benchmarks --quick         # fewer repeats, for a first look

Each benchmark prints a table and its targets (met / MISSED) and appends them,
under a header with the date and the machine (CPU model, cores, torch version
and threads, device), to ``benchmarks/RESULTS.md`` and ``benchmarks/results.jsonl``
(``--no-record`` prints only). Ratios come from sides timed alternately in one
run (median of per-repeat ratios), so they mean something on a shared, noisy
machine; absolute seconds are only comparable on the same machine.

The Grad-CAM comparison needs the bench-only extras (never a course dependency):

    .venv/bin/pip install -r benchmarks/requirements-bench.txt

Benchmarks (modules ``benchmarks/bench_<name>.py``):

* ``import`` -- ``import camp_utils`` on top of ``import torch``;
* ``data`` -- ShapesDataset images per second, one LeNet epoch;
* ``fit`` -- ``camp_utils.train.fit`` (full logging / logging off) against a bare loop;
* ``cam`` -- CAM / Grad-CAM / Grad-CAM++ against forward, forward + backward and pytorch-grad-cam;
* ``models`` -- the cached trained GapNet, from scratch and from the cache;
* ``notebooks`` -- every notebook executed headless, cold and warm: wall time and peak RSS.
"""
