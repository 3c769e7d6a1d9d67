"""Benchmark: how long the embedded dataset and the cached GapNet take on this machine.

    python benchmarks/bench_data_and_models.py

Prints wall times (median of a few repeats) for generating ShapesDataset
splits, one LeNet epoch, and training GapNet from scratch (into a temporary
cache, so the project's own cache is untouched). Timings on shared machines
are noisy: compare ratios measured in one run, not numbers across runs.
"""
from __future__ import annotations

import statistics
import tempfile
import time

import torch

from camp_utils.data import ShapesDataset, shapes_loaders
from camp_utils.models import LeNet, trained_gapnet
from camp_utils.train import fit


def timed(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for n in (1_000, 10_000):
        print(f"ShapesDataset, {n:>6} images (32x32): {timed(lambda n=n: ShapesDataset('train', n)):6.2f} s")
    train, valid, _ = shapes_loaders(32)

    def lenet_epoch():
        torch.manual_seed(0)
        model = LeNet(4)
        fit(model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), train, valid,
            epochs=1, progress=False)

    print(f"LeNet, one epoch of 6000 images + validation: {timed(lenet_epoch):6.2f} s")
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        _, info = trained_gapnet(cache_dir=cache)
        total = time.perf_counter() - start
        print(f"GapNet from scratch: training {info['train_seconds']:.1f} s, total {total:.1f} s, "
              f"test accuracy {info['test_accuracy']:.1%}")
        print(f"GapNet from the cache: {timed(lambda: trained_gapnet(cache_dir=cache)) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
