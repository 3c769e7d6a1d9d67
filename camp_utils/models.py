"""The architectures of the course (no weights, no training: :mod:`camp_utils.weights` has those).

* :class:`LeNet` -- the course's LeNet for 3 x 32 x 32 inputs (lessons 19, 21, 22).
* :class:`GapNet` -- a small CNN that ends in global average pooling and one
  linear layer, the architecture Class Activation Maps need (lesson 23).

The trained GapNet and AlexNet's ImageNet weights (:func:`~camp_utils.weights.trained_gapnet`,
:func:`~camp_utils.weights.alexnet`, ...) live in :mod:`camp_utils.weights`, which sits above the
training loop it uses; this module sits below it. ``from camp_utils.models import alexnet`` (code
written before the move) still works: the moved names are looked up there on first use.
"""
from __future__ import annotations

import torch
from torch import nn

from .checks import check_int

__all__ = ["LeNet", "GapNet"]
# moved to camp_utils.weights; still importable from here (see __getattr__ below)
_MOVED = ("trained_gapnet", "GAPNET_RECIPE", "alexnet", "imagenet_categories", "PretrainedWeightsWarning")


def _check_classes(classes: int) -> int:
    return check_int(classes, "classes", minimum=2, what="number of classes")


class LeNet(nn.Module):
    """LeNet-5 as used in the course, for ``(B, 3, 32, 32)`` inputs.

    conv 5x5 (6) -> ReLU -> max-pool -> conv 5x5 (16) -> ReLU -> max-pool ->
    FC 120 -> ReLU -> FC 84 -> ReLU -> FC ``classes``. Returns logits ``(B, classes)``.
    """

    def __init__(self, classes: int) -> None:
        super().__init__()
        classes = _check_classes(classes)
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits ``(B, classes)`` of a ``(B, 3, 32, 32)`` batch."""
        if x.dim() != 4 or x.shape[1:] != (3, 32, 32):
            raise ValueError(f"LeNet expects inputs of shape (B, 3, 32, 32), got {tuple(x.shape)}")
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


def _conv_block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class GapNet(nn.Module):
    """A small CNN for CAM: ``features`` -> global average pooling -> one linear layer.

    ``features`` maps ``(B, 3, H, W)`` to ``(B, width*4, H/4, W/4)``; ``pool``
    averages each map to one number; ``fc`` maps those to class scores. Because
    the classifier is linear on the pooled maps, the CAM of class ``c`` is
    ``sum_k fc.weight[c, k] * features(x)[k]`` (Zhou et al., 2016).

    Args:
        classes: number of classes (>= 2).
        width: channels of the first block; later blocks use 2x and 4x.
    """

    def __init__(self, classes: int, width: int = 16) -> None:
        super().__init__()
        classes = _check_classes(classes)
        width = check_int(width, "width", minimum=1, what="channels of the first block")
        self.features = nn.Sequential(
            *_conv_block(3, width), nn.MaxPool2d(2),
            *_conv_block(width, 2 * width), nn.MaxPool2d(2),
            *_conv_block(2 * width, 4 * width), *_conv_block(4 * width, 4 * width),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits ``(B, classes)`` of a ``(B, 3, H, W)`` batch."""
        return self.fc(self.pool(self.features(x)).flatten(1))


def __getattr__(name: str):
    """``camp_utils.models.alexnet`` and the other names that moved to :mod:`camp_utils.weights`."""
    if name in _MOVED:
        from . import weights  # here, not at the top: weights imports this module (and the training loop)

        return getattr(weights, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
