"""The architectures of the course (no weights, no training: :mod:`camp_utils.weights` has those).

* :class:`LeNet` -- the course's LeNet for 3 x 32 x 32 inputs (lessons 19, 21, 22).
* :class:`GapNet` -- a small CNN that ends in global average pooling and one
  linear layer, the architecture Class Activation Maps need (lesson 23).
* :class:`TinyViT` -- a small Vision Transformer with a convolutional stem, whose
  blocks output tokens instead of feature maps (lesson 23, Grad-CAM on tokens).

The trained GapNet, TinyViT and AlexNet's ImageNet weights (:func:`~camp_utils.weights.trained_gapnet`,
:func:`~camp_utils.weights.alexnet`, ...) live in :mod:`camp_utils.weights`, which sits above the
training loop it uses; this module sits below it. ``from camp_utils.models import alexnet`` (code
written before the move) still works: the moved names are looked up there on first use.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .checks import check_int

__all__ = ["LeNet", "GapNet", "TinyViT", "ViTBlock", "SelfAttention"]
# moved to camp_utils.weights; still importable from here (see __getattr__ below)
_MOVED = ("trained_gapnet", "GAPNET_RECIPE", "trained_vit", "VIT_RECIPE", "alexnet", "imagenet_categories",
          "PretrainedWeightsWarning")


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


class SelfAttention(nn.Module):
    """Multi-head self-attention over ``(B, N, dim)`` tokens: one ``qkv`` projection, ``heads`` heads, ``proj``."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        dim = check_int(dim, "dim", minimum=1, what="token width")
        heads = check_int(heads, "heads", minimum=1, what="attention heads")
        if dim % heads:
            raise ValueError(f"dim must be a multiple of heads (each head gets dim / heads channels), "
                             f"got dim={dim}, heads={heads}")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``(B, N, dim)``: each token a weighted mix of every token's values."""
        batch, n, dim = x.shape
        q, k, v = self.qkv(x).reshape(batch, n, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        mixed = F.scaled_dot_product_attention(q, k, v)  # (B, heads, N, dim / heads)
        return self.proj(mixed.transpose(1, 2).reshape(batch, n, dim))


class ViTBlock(nn.Module):
    """A pre-norm transformer block: ``x + attn(norm1(x))``, then ``x + mlp(norm2(x))``.

    The names (``norm1``, ``attn``, ``norm2``, ``mlp``) are timm's, so a layer
    path such as ``blocks.2.norm1`` means the same in timm's Vision Transformers.
    """

    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        hidden = check_int(hidden, "hidden", minimum=1, what="MLP width")
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the block's output tokens, the same shape as ``x``."""
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TinyViT(nn.Module):
    """A small Vision Transformer for the shapes images, with a convolutional stem.

    ``patch_embed`` (three 3x3 convolutions, the last two with stride 2) turns a
    ``(B, 3, H, W)`` image into ``(H/4) x (W/4)`` patch tokens of width ``dim``; a
    learned class token goes in front and learned position embeddings are
    added, giving ``(B, 1 + H*W/16, dim)`` tokens. ``depth`` :class:`ViTBlock` s
    (``blocks``) follow, then ``norm`` (LayerNorm) and ``head``, a linear layer
    on the **class token only**. A convolutional stem instead of a single
    4x4 "patchify" convolution is what makes a ViT this small learn from a few
    thousand images (Xiao et al., 2021, "Early convolutions help transformers
    see better"; the original ViT-Hybrid used a ResNet stem).

    For Grad-CAM the blocks' outputs are tokens, not maps: drop the class token
    and fold the patch tokens back into their grid
    (:func:`camp_utils.cam.tokens_to_grid`). The last block's patch tokens
    reach the output through nothing (the head reads the class token), so
    explain the *input* of the last block's attention, ``blocks.<depth-1>.norm1``.

    Args:
        classes: number of classes (>= 2).
        image_size: side of the square inputs, a multiple of 4 (>= 8); fixes the
            number of position embeddings, ``(image_size / 4) ** 2 + 1``.
        dim: token width; ``heads`` must divide it.
        depth: number of transformer blocks.
        heads: attention heads per block.
        hidden: width of each block's MLP.
    """

    def __init__(self, classes: int, image_size: int = 32, *, dim: int = 32, depth: int = 3, heads: int = 2,
                 hidden: int = 64) -> None:
        super().__init__()
        classes = _check_classes(classes)
        image_size = check_int(image_size, "image_size", minimum=8, what="pixels")
        if image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4 (the stem halves the image twice), got {image_size}")
        dim = check_int(dim, "dim", minimum=1, what="token width")
        depth = check_int(depth, "depth", minimum=1, what="transformer blocks")
        self.image_size = image_size
        self.patch_embed = nn.Sequential(*_conv_block(3, 16)[:2], nn.ReLU(),
                                         nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32),
                                         nn.ReLU(), nn.Conv2d(32, dim, 3, stride=2, padding=1))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, (image_size // 4) ** 2 + 1, dim) * 0.02)
        self.blocks = nn.ModuleList(ViTBlock(dim, heads, hidden) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """The tokens that enter the first block: ``(B, 1 + (H/4)*(W/4), dim)``, class token first."""
        if x.dim() != 4 or x.shape[1] != 3 or tuple(x.shape[2:]) != (self.image_size, self.image_size):
            raise ValueError(f"TinyViT(image_size={self.image_size}) expects inputs of shape "
                             f"(B, 3, {self.image_size}, {self.image_size}), got {tuple(x.shape)}")
        patches = self.patch_embed(x).flatten(2).transpose(1, 2)  # (B, N, dim), patches in row-major order
        cls = self.cls_token.expand(len(patches), -1, -1)
        return torch.cat([cls, patches], 1) + self.pos_embed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits ``(B, classes)`` of a ``(B, 3, image_size, image_size)`` batch."""
        t = self.tokens(x)
        for block in self.blocks:
            t = block(t)
        return self.head(self.norm(t)[:, 0])


def __getattr__(name: str):
    """``camp_utils.models.alexnet`` and the other names that moved to :mod:`camp_utils.weights`."""
    if name in _MOVED:
        from . import weights  # here, not at the top: weights imports this module (and the training loop)

        return getattr(weights, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
