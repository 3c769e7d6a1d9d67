"""models: the cached trained GapNet, trained from scratch (a clean clone) and loaded from the cache.

Lessons that need trained weights call :func:`camp_utils.weights.trained_gapnet`;
the first call on a clean clone trains it (this is most of a "cold" notebook
run), later calls load it. Trained into a temporary cache folder, so the
project's own ``data/cache`` is untouched.
"""
from __future__ import annotations

import tempfile

from ._common import Result, block_time, median, now

NAME = "models"
TITLE = "trained_gapnet: from scratch vs from the cache"


def run(args) -> Result:
    """Time training the GapNet from scratch (into a temporary cache), then loading it; report its test accuracy."""
    from camp_utils.weights import trained_gapnet

    result = Result(TITLE, ["what", "seconds", "test accuracy"])
    with tempfile.TemporaryDirectory(prefix="camp-bench-") as cache:
        start = now()
        _, info = trained_gapnet(cache_dir=cache)
        total = now() - start
        result.rows.append(["from scratch: training (fit)", info["train_seconds"], f"{info['test_accuracy']:.1%}"])
        result.rows.append(["from scratch: whole call (data, training, test, save)", total, ""])
        loads = [block_time(lambda: trained_gapnet(cache_dir=cache), 1) for _ in range(max(3, args.repeats))]
        result.rows.append(["from the cache (median)", median(loads), ""])
    return result
