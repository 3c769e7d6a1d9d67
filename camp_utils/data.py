"""Datasets for the course: an embedded one that is generated, and real ones when present.

* :class:`ShapesDataset` -- coloured circles, squares, triangles and crosses on a
  cluttered background, generated in about a second, with the object's box for
  every image. Needs no download, so every notebook and test can use it.
* :func:`shapes_loaders` -- train / valid / test ``DataLoader`` s for it.
* :func:`tensor_loader` -- a ``DataLoader`` over tensors already in memory that
  takes each batch with one indexing operation (lesson 19's training data).
* :func:`load_dataset` -- CIFAR-10 or FashionMNIST through torchvision, from
  ``data/`` (downloads only when asked).
* :func:`load_image_folder` -- a learner's own photos in class folders
  (the course's ``data/rmb_split/train/{1,100}``).
* :func:`denormalize` -- undo ``Normalize`` for display (the course's ``transform_invert``).
"""
from __future__ import annotations

import math
import numbers
import os
import urllib.error
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler, TensorDataset

from .checks import check_choice, check_int, existing_folder
from .messages import say
from .paths import data_dir

__all__ = [
    "ShapesDataset",
    "SHAPES_MEAN",
    "SHAPES_STD",
    "shapes_transform",
    "shapes_loaders",
    "tensor_loader",
    "denormalize",
    "load_dataset",
    "load_image_folder",
    "DATASET_STATS",
]

# Per-channel mean and std of ShapesDataset("train", seed=0), rounded; used by Normalize.
SHAPES_MEAN = (0.5, 0.5, 0.5)
SHAPES_STD = (0.225, 0.225, 0.225)

SPLITS = ("train", "valid", "test")
DEFAULT_SIZES = {"train": 6000, "valid": 1000, "test": 1000}


def _circle(u, v, r):
    return torch.sqrt(u * u + v * v) - r


def _square(u, v, r):
    return torch.maximum(u.abs(), v.abs()) - 0.8 * r


def _triangle(u, v, r):
    # Equilateral, pointing up: the largest distance to its three edge lines.
    angles = (math.pi / 2, math.pi / 2 + 2 * math.pi / 3, math.pi / 2 + 4 * math.pi / 3)
    d = [u * math.cos(a) + v * math.sin(a) for a in angles]
    return torch.maximum(torch.maximum(d[0], d[1]), d[2]) - 0.6 * r


def _cross(u, v, r):
    au, av, w = u.abs(), v.abs(), 0.3 * r
    return torch.minimum(torch.maximum(au - r, av - w), torch.maximum(au - w, av - r))


def _render(n: int, size: int, generator: torch.Generator):
    """Draw ``n`` images; return images uint8 (n,3,S,S), labels (n,), boxes (n,4), masks bool (n,S,S)."""
    g = generator
    s = size

    def uniform(*shape, low=0.0, high=1.0):
        return low + (high - low) * torch.rand(*shape, generator=g)

    labels = torch.arange(n) % 4
    labels = labels[torch.randperm(n, generator=g)]

    # Pixel-centre coordinates, shape (1, S, S).
    coords = torch.arange(s, dtype=torch.float32) + 0.5
    ys, xs = torch.meshgrid(coords, coords, indexing="ij")
    xs, ys = xs[None], ys[None]

    # Background: a smooth random colour field plus pixel noise ...
    coarse = uniform(n, 3, 4, 4, low=0.1, high=0.9)
    background = F.interpolate(coarse, size=(s, s), mode="bilinear", align_corners=False)
    background.add_(torch.randn(n, 3, s, s, generator=g).mul_(0.05))
    # ... and clutter: thin random strokes, so no single pixel or colour gives the class away.
    for _ in range(3):
        a = uniform(n, 2, high=s)[:, :, None, None]
        d = uniform(n, 2, high=s)[:, :, None, None] - a
        dx, dy = d[:, 0], d[:, 1]
        px, py = xs - a[:, 0], ys - a[:, 1]
        h = (px * dx + py * dy).div_(dx * dx + dy * dy + 1e-6).clamp_(0, 1)
        # distance to the segment, then alpha for a stroke about 1.2 px wide
        dist = (px - h * dx).square_().add_((py - h * dy).square_()).sqrt_()
        stroke = dist.neg_().add_(1.1).clamp_(0, 1)[:, None]
        background.lerp_(uniform(n, 3, 1, 1).expand_as(background), stroke)

    # The object: centre, radius and rotation.
    radius = uniform(n, low=0.18 * s, high=0.3 * s)
    margin = radius + 1.0
    cx = margin + uniform(n) * (s - 2 * margin)
    cy = margin + uniform(n) * (s - 2 * margin)
    theta = uniform(n, low=-math.pi / 6, high=math.pi / 6)
    r = radius[:, None, None]
    c, si = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    u0, v0 = xs - cx[:, None, None], ys - cy[:, None, None]
    u, v = u0 * c + v0 * si, -u0 * si + v0 * c

    # Signed distance to the object's outline (negative inside), computed per
    # class on that class's images only; an alpha of 0.5 - distance gives one
    # pixel of anti-aliasing for free.
    sdf = torch.empty(n, s, s)
    for label, distance in enumerate((_circle, _square, _triangle, _cross)):
        sel = labels == label
        sdf[sel] = distance(u[sel], v[sel], r[sel])
    alpha = (0.5 - sdf).clamp(0, 1)[:, None]  # (n, 1, S, S)

    # Foreground colour: random, but pushed away from the background behind it.
    fg = uniform(n, 3)
    behind = (background * alpha).sum((2, 3)) / alpha.sum((2, 3)).clamp_min(1e-6)
    too_close = (fg - behind).norm(dim=1) < 0.5
    pushed = torch.where(behind > 0.5, behind - 0.55, behind + 0.55)
    fg[too_close] = pushed[too_close].clamp(0, 1)
    shade = 1.0 + 0.15 * (u / r)[:, None]  # a light left-to-right shading
    image = background.lerp_((fg[:, :, None, None] * shade).clamp_(0, 1), alpha)
    images = image.clamp_(0, 1).mul_(255).round_().to(torch.uint8)

    # Object box from the visible mask: x1, y1 are exclusive, like slice ends.
    mask = alpha[:, 0] > 0.5
    cols, rows = mask.any(1), mask.any(2)
    idx = torch.arange(s)
    x0 = torch.where(cols, idx, s).amin(1)
    x1 = torch.where(cols, idx, -1).amax(1) + 1
    y0 = torch.where(rows, idx, s).amin(1)
    y1 = torch.where(rows, idx, -1).amax(1) + 1
    boxes = torch.stack([x0, y0, x1, y1], 1)
    return images, labels, boxes, mask


class ShapesDataset(Dataset):
    """Embedded image-classification dataset: 4 shapes on a cluttered background.

    Every image is ``image_size`` x ``image_size`` RGB with one object, a
    circle, square, triangle or cross, of random position, size (about 35-60 %
    of the image), rotation (+-30 degrees) and colour, over a random smooth
    colour field with noise and thin random strokes. Colour says nothing about
    the class; the outline does. Classes are balanced.

    The images are generated, not downloaded: the same ``seed`` and ``split``
    give the same images on any machine; the three splits use separate random
    streams and so do not overlap.

    Args:
        split: ``"train"``, ``"valid"`` or ``"test"``.
        n: number of images; default 6000 / 1000 / 1000 for train / valid / test.
        image_size: side in pixels (at least 16); 32 suits LeNet.
        seed: dataset seed.

    Integer arguments accept any integer type (``int``, ``numpy.int64``) but
    not ``bool`` or strings, as everywhere in :mod:`camp_utils`.
        transform: applied to each image, a float tensor ``(3, H, W)`` in ``[0, 1]``
            (e.g. :func:`shapes_transform` to normalise).

    Attributes:
        images: ``uint8`` tensor ``(N, 3, H, W)``.
        labels: ``int64`` tensor ``(N,)``, indices into :attr:`classes`.
        boxes: ``int64`` tensor ``(N, 4)``: ``(x0, y0, x1, y1)`` pixel box of the
            object, ``x1``/``y1`` exclusive: the object is ``image[:, y0:y1, x0:x1]``.
        masks: ``bool`` tensor ``(N, H, W)``: the pixels the object covers
            (at least half); ``boxes`` is the tight box around them.
        classes: class names, in label order.
    """

    classes: tuple[str, ...] = ("circle", "square", "triangle", "cross")

    def __init__(
        self,
        split: str = "train",
        n: int | None = None,
        *,
        image_size: int = 32,
        seed: int = 0,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        split = check_choice(split, "split", SPLITS)
        n = check_int(DEFAULT_SIZES[split] if n is None else n, "n", minimum=1, what="number of images")
        image_size = check_int(image_size, "image_size", minimum=16, what="pixels")
        seed = check_int(seed, "seed")
        self.split, self.seed, self.image_size, self.transform = split, seed, image_size, transform
        stream = zlib.crc32(f"ShapesDataset/{seed}/{split}".encode())
        generator = torch.Generator().manual_seed(stream)
        # Chunks of 1000 keep the work in cache: ~1.5x faster than one big batch.
        parts = [_render(min(1000, n - i), image_size, generator) for i in range(0, n, 1000)]
        self.images, self.labels, self.boxes, self.masks = (torch.cat(p) for p in zip(*parts))

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = self.images[index].float() / 255.0
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[index])

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor, int]]:
        """A whole batch at once (``DataLoader`` calls this instead of ``__getitem__`` per image).

        One conversion and one ``Normalize`` for the batch instead of one per
        image: the same numbers, about 6x faster to load. Any other transform
        (e.g. random augmentation) is still applied image by image.
        """
        from torchvision.transforms import Normalize

        if self.transform is not None and not isinstance(self.transform, Normalize):
            return [self[i] for i in indices]
        index = torch.as_tensor(indices, dtype=torch.long)
        images = self.images[index].float() / 255.0
        if self.transform is not None:
            images = self.transform(images)
        return list(zip(images.unbind(0), self.labels[index].tolist()))

    def __repr__(self) -> str:
        return (f"ShapesDataset(split={self.split!r}, n={len(self)}, image_size={self.image_size}, "
                f"seed={self.seed}, classes={list(self.classes)})")


def shapes_transform():
    """``Normalize(SHAPES_MEAN, SHAPES_STD)`` for ShapesDataset images."""
    from torchvision import transforms

    return transforms.Normalize(SHAPES_MEAN, SHAPES_STD)


def shapes_loaders(
    batch_size: int = 64,
    *,
    sizes: dict[str, int] | None = None,
    image_size: int = 32,
    seed: int = 0,
    num_workers: int = 0,
) -> tuple[DataLoader, DataLoader, DataLoader]:
    """Train, valid and test loaders over normalised :class:`ShapesDataset` splits.

    The train loader shuffles with the global random state, which
    :func:`camp_utils.train.fit` seeds: the same ``fit(seed=...)`` gives the same
    batch order every time.

    Args:
        batch_size: images per batch.
        sizes: optional ``{"train": n, "valid": n, "test": n}`` overrides.
        image_size: side of the square images, passed to :class:`ShapesDataset`.
        seed: the splits' seed, passed to :class:`ShapesDataset`.
        num_workers: ``DataLoader`` worker processes (0 is fastest for this small data).

    Returns:
        ``(train_loader, valid_loader, test_loader)``; each ``loader.dataset`` is the split.
    """
    batch_size = check_int(batch_size, "batch_size", minimum=1, what="images per batch")
    num_workers = check_int(num_workers, "num_workers", minimum=0, what="worker processes")
    sizes = {**DEFAULT_SIZES, **(sizes or {})}
    unknown = set(sizes) - set(SPLITS)
    if unknown:
        raise ValueError(f"sizes has unknown split(s) {sorted(unknown)}; expected keys from {SPLITS}")
    sizes = {split: check_int(n, f"sizes[{split!r}]", minimum=1, what="number of images")
             for split, n in sizes.items()}
    loaders = []
    for split in SPLITS:
        ds = ShapesDataset(split, sizes[split], image_size=image_size, seed=seed, transform=shapes_transform())
        loaders.append(DataLoader(ds, batch_size=batch_size, shuffle=split == "train",
                                  num_workers=num_workers))
    return tuple(loaders)  # type: ignore[return-value]


def tensor_loader(dataset: TensorDataset, batch_size: int, *, shuffle: bool = False) -> DataLoader:
    """``DataLoader(dataset, batch_size, shuffle=shuffle)`` that takes each batch in one indexing operation.

    The usual loader asks the dataset for ``batch_size`` single items and stacks
    them; a ``TensorDataset`` can hand over a whole batch at once
    (``dataset[[i, j, ...]]``). Here the loader's sampler is a ``BatchSampler``
    and automatic batching is off (``batch_size=None``), so each batch is one
    indexing of each tensor. Same batches, in the same order, from the same
    random state as the usual loader; several times less time per batch
    (``python -m benchmarks data``).

    Args:
        dataset: a ``TensorDataset`` (tensors in memory, first dimension = items).
        batch_size: items per batch; the last batch may be smaller.
        shuffle: a new random order every pass, drawn from torch's global random state.

    Returns:
        A ``DataLoader``; ``len(loader)`` is the number of batches.
    """
    if not isinstance(dataset, TensorDataset):
        raise ValueError(f"dataset must be a torch.utils.data.TensorDataset (tensors in memory), "
                         f"got {type(dataset).__name__}; use DataLoader(dataset, batch_size) for other datasets")
    batch_size = check_int(batch_size, "batch_size", minimum=1, what="items per batch")
    if not isinstance(shuffle, bool):
        raise ValueError(f"shuffle must be True or False, got {shuffle!r}")
    order = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
    return DataLoader(dataset, batch_size=None, sampler=BatchSampler(order, batch_size, drop_last=False))


def denormalize(
    images, mean: Sequence[float] | float = SHAPES_MEAN, std: Sequence[float] | float = SHAPES_STD
):
    """Undo ``transforms.Normalize(mean, std)`` so images display as the eye sees them.

    This is the course's ``transform_invert`` for tensors: ``x * std + mean``,
    clamped to ``[0, 1]``. The input is not modified.

    Args:
        images: ``(C, H, W)`` or ``(B, C, H, W)``, a float tensor or numpy array
            (the output of ``Normalize``).
        mean: the ``mean`` ``Normalize`` was given: one value per channel, or one
            number for every channel.
        std: the ``std`` ``Normalize`` was given, in the same form.

    Returns:
        A new tensor (a numpy array for numpy input) of the same shape, in ``[0, 1]``.

    Raises:
        ValueError: if the images are not floating point (a ``uint8`` image is
            not normalised: show it as it is, or ``x.float() / 255``), not 3-D/4-D,
            or mean/std do not match the channels.
    """
    import numpy as np

    is_numpy = isinstance(images, np.ndarray)
    tensor = torch.from_numpy(images) if is_numpy else images
    if not isinstance(tensor, torch.Tensor):
        raise ValueError(f"images must be a tensor or numpy array, got {type(images).__name__}")
    if not tensor.is_floating_point():
        raise ValueError(f"images must be floating point (the output of Normalize), got {tensor.dtype}; "
                         "a uint8 image is not normalised: show it as it is, or use x.float() / 255")
    if tensor.dim() not in (3, 4):
        raise ValueError(f"images must be (C, H, W) or (B, C, H, W), got shape {tuple(tensor.shape)}")
    channels = tensor.shape[-3]
    per_channel = []
    for name, value in (("mean", mean), ("std", std)):
        values = [value] * channels if isinstance(value, numbers.Real) else list(value)
        if len(values) != channels:
            raise ValueError(f"mean and std need {channels} values (one per channel) or one number, "
                             f"got {name} with {len(values)}")
        per_channel.append(torch.as_tensor(values, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1))
    m, s = per_channel
    result = (tensor * s + m).clamp(0, 1)
    return result.numpy() if is_numpy else result


# --------------------------------------------------------------------------- real data
# Mean and std per channel of each training set, as commonly published.
DATASET_STATS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "fashionmnist": ((0.2860,), (0.3530,)),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}
_TORCHVISION_NAMES = {"cifar10": ("CIFAR10", "CIFAR-10"), "fashionmnist": ("FashionMNIST", "FashionMNIST")}


def load_dataset(
    name: str,
    split: str = "train",
    *,
    root: str | os.PathLike | None = None,
    download: bool = False,
    transform: Callable | None = None,
) -> Dataset:
    """Load CIFAR-10 or FashionMNIST with torchvision, from files already in ``data/``.

    Args:
        name: ``"cifar10"`` or ``"fashionmnist"`` (case and ``-``/``_`` ignored).
        split: ``"train"`` or ``"test"`` (these datasets have no separate valid split).
        root: folder holding the dataset files; default: the project's ``data/``.
        download: fetch the files if they are missing (needs internet).
        transform: default ``ToTensor()`` + ``Normalize`` with :data:`DATASET_STATS`.

    Raises:
        ValueError: unknown ``name`` or ``split``.
        FileNotFoundError: files missing and ``download=False``; says how to get them.
        NotADirectoryError: ``root`` is a file.
        ConnectionError: ``download=True`` but the download failed (offline?);
            local errors (a full disk, no permission) are raised as they are.
    """
    if not isinstance(name, str):
        raise ValueError(f"name must be a str such as 'cifar10', got {name!r}")
    key = name.lower().replace("-", "").replace("_", "")
    if key not in _TORCHVISION_NAMES:
        check_choice(name, "name", sorted(_TORCHVISION_NAMES), hint="for your own photos use load_image_folder(path)")
    split = check_choice(split, "split", ("train", "test"), what=f"for {name}")
    import torchvision
    from torchvision import transforms

    cls_name, pretty = _TORCHVISION_NAMES[key]
    folder = existing_folder(root if root is not None else data_dir(), "root",
                             f"pass the folder that holds (or should hold) the {pretty} files", missing_ok=True)
    if transform is None:
        mean, std = DATASET_STATS[key]
        transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    cls = getattr(torchvision.datasets, cls_name)
    try:
        return cls(str(folder), train=split == "train", transform=transform, download=download)
    except RuntimeError as err:
        if download:
            raise
        raise FileNotFoundError(say("data.not_found", pretty=pretty, folder=folder, name=name)) from err
    except (TimeoutError, urllib.error.URLError, ConnectionError) as err:  # the network, not the disk
        raise ConnectionError(say("data.download_failed", pretty=pretty, folder=folder, error=err)) from err




def load_image_folder(
    root: str | os.PathLike,
    *,
    image_size: int = 32,
    transform: Callable | None = None,
):
    """A learner's own images, one sub-folder per class (``root/<class>/<image>``).

    The course used photos of bank notes in ``data/rmb_split/train/{1,100}``.
    Default transform: ``Resize((image_size, image_size))``, ``ToTensor()``,
    ``Normalize`` with ImageNet statistics.

    Returns:
        a ``torchvision.datasets.ImageFolder`` (``.classes``, ``.samples``).

    Raises:
        FileNotFoundError: ``root`` does not exist.
        NotADirectoryError: ``root`` is a file.
        ValueError: ``root`` has no class sub-folders, or they hold no image
            that ``ImageFolder`` loads (e.g. only ``.gif`` files: the message says so).
    """
    from torchvision import datasets, transforms
    from torchvision.datasets.folder import IMG_EXTENSIONS

    image_size = check_int(image_size, "image_size", minimum=1, what="pixels")
    if not isinstance(root, (str, os.PathLike)):
        existing_folder(root, "image folder")  # raises the ValueError that names the argument
    folder = Path(root)
    layout = f"'{folder}/<class name>/<image files>'"
    if not folder.exists():
        raise FileNotFoundError(say("data.no_folder", folder=folder, layout=layout))
    if not folder.is_dir():
        raise NotADirectoryError(say("data.not_a_folder", folder=folder, layout=layout))
    class_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise ValueError(say("data.no_class_folders", folder=folder, layout=layout))
    files = [f for d in class_dirs for f in d.rglob("*") if f.is_file()]
    if not any(f.suffix.lower() in IMG_EXTENSIONS for f in files):
        others = sorted({f.suffix.lower() or say("data.no_suffix") for f in files})
        found = say("data.found_only", suffixes=", ".join(others)) if others else say("data.empty")
        raise ValueError(say("data.no_images", folder=folder, extensions=", ".join(IMG_EXTENSIONS), found=found))
    if transform is None:
        mean, std = DATASET_STATS["imagenet"]
        transform = transforms.Compose([
            transforms.Resize((image_size, image_size)),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ])
    return datasets.ImageFolder(str(folder), transform=transform, allow_empty=True)
