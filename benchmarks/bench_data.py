"""data: images per second of the embedded ShapesDataset, and one LeNet epoch on it.

Generating the dataset is the first thing most lessons do, so it must feel
instant; one LeNet epoch (6000 images + validation) is the unit of the lessons'
training cells, and the loader pass alone shows how much of that epoch is
spent handing out the images rather than training. The last two rows compare
the usual ``DataLoader`` with :func:`camp_utils.data.tensor_loader` over the same
tensors (lesson 19's 2,000 normalised 16x16 images, batch 64).
"""
from __future__ import annotations

from functools import partial

import torch

from ._common import Result, block_time, median

NAME = "data"
TITLE = "ShapesDataset generation and one LeNet epoch"


def run(args) -> Result:
    """Time the data helpers: the shapes dataset and its loaders, and tensor_loader against a DataLoader."""
    from torch.utils.data import DataLoader, TensorDataset

    from camp_utils.data import ShapesDataset, shapes_loaders, tensor_loader
    from camp_utils.models import LeNet
    from camp_utils.train import fit

    repeats = max(1, args.repeats)
    result = Result(TITLE, ["what", "images", "median s", "images/s"])
    ShapesDataset("train", 100)  # warm-up
    for n, size in ((1_000, 32), (10_000, 32), (1_000, 64)):
        make = partial(ShapesDataset, "train", n, image_size=size)
        times = [block_time(make, 1) for _ in range(repeats)]
        result.rows.append([f"ShapesDataset('train', {n}, image_size={size})", n, median(times), n / median(times)])

    train, valid, _ = shapes_loaders(32)

    def lenet_epoch():
        torch.manual_seed(0)
        model = LeNet(len(ShapesDataset.classes))
        fit(model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), train, valid,
            epochs=1, progress=False)

    def loader_pass():
        for _ in train:
            pass

    times = [block_time(loader_pass, 1) for _ in range(repeats)]
    result.rows.append(["shapes_loaders: one pass over the train loader, batch 32 (no model)", len(train.dataset),
                        median(times), len(train.dataset) / median(times)])
    images = len(train.dataset) + len(valid.dataset)
    times = [block_time(lenet_epoch, 1) for _ in range(repeats)]
    result.rows.append(["LeNet: fit, 1 epoch (train + valid), batch 32", images, median(times),
                        images / median(times)])

    shapes = ShapesDataset("train", 2000, image_size=16)
    tensors = TensorDataset(shapes_transform_of(shapes), shapes.labels)
    sides = {"DataLoader(batch_size=64, shuffle=True)": DataLoader(tensors, 64, shuffle=True),
             "tensor_loader(batch 64, shuffle=True)": tensor_loader(tensors, 64, shuffle=True)}

    def passes(loader) -> None:
        for _ in range(10):
            for _batch in loader:
                pass

    times = {label: [] for label in sides}
    for _ in range(repeats):  # the two sides alternately, so that a noisy moment hits both
        for label, loader in sides.items():
            times[label].append(block_time(partial(passes, loader), 1))
    for label in sides:
        result.rows.append([f"lesson 19's tensors, 10 passes: {label}", 10 * len(tensors), median(times[label]),
                            10 * len(tensors) / median(times[label])])
    usual, ours = times.values()
    result.notes.append(f"tensor_loader vs DataLoader over the same tensors: "
                        f"{median([a / b for a, b in zip(usual, ours)]):.1f}x faster per pass")
    return result


def shapes_transform_of(shapes) -> torch.Tensor:
    """Lesson 19's training tensors: the images scaled to [0, 1] and normalised once."""
    from camp_utils.data import shapes_transform

    return shapes_transform()(shapes.images.float() / 255)
