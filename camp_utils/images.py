"""The lessons' photograph and ImageNet-style preprocessing for pretrained models.

The default photograph is Grace Hopper's portrait that ships with matplotlib
(``matplotlib.cbook.get_sample_data("grace_hopper.jpg")``), so lessons 22 and
23 have a real photo offline. A learner can pass the path of their own image
to every function here.

* :func:`photo_path` -- the path of the photo (default or the learner's), checked;
* :func:`load_photo` -- the photo as an RGB ``PIL.Image``;
* :func:`photo_tensor` -- the photo as a normalised ``(1, 3, size, size)`` batch,
  the way torchvision's ImageNet models expect it;
* :data:`IMAGENET_MEAN`, :data:`IMAGENET_STD` -- the normalisation constants
  (use them with :func:`camp_utils.data.denormalize` to display the tensor again).
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .checks import check_int

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "photo_path", "load_photo", "photo_tensor"]

#: Per-channel mean and std of ImageNet's training images (torchvision's models use them).
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


def photo_path(path: str | os.PathLike | None = None) -> Path:
    """Return the path of the lesson's photo: ``path`` if given, else matplotlib's Grace Hopper.

    Raises:
        ValueError: if ``path`` does not exist or is not a file.
    """
    if path is None:
        from matplotlib import cbook

        return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"path must be a file path (str or os.PathLike) or None, got {type(path).__name__}")
    p = Path(path).expanduser()
    if not p.exists():
        raise ValueError(f"path {str(path)!r} does not exist; pass the path of an image file "
                         "(JPEG, PNG, ...) or None for the default photo")
    if not p.is_file():
        raise ValueError(f"path {str(path)!r} is a folder, not an image file")
    return p


def load_photo(path: str | os.PathLike | None = None):
    """Open the photo (default: Grace Hopper) as an RGB ``PIL.Image.Image``, upright.

    A phone stores a photo as the sensor saw it plus an EXIF orientation tag;
    viewers rotate it, ``PIL`` does not: the tag is applied here
    (``ImageOps.exif_transpose``), so the model sees what the learner sees.
    16-bit greyscale images (PNG ``I;16``) are scaled to 8 bits, not clipped
    (``convert("RGB")`` alone turns every value above 255 white).

    Raises:
        ValueError: if the file is missing or is not an image PIL can read.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = photo_path(path)
    try:
        with Image.open(p) as image:
            upright = ImageOps.exif_transpose(image)
            if upright.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
                import numpy as np

                pixels = np.asarray(upright, dtype=np.float64)
                top = 65535.0 if upright.mode.startswith("I;16") else max(float(pixels.max()), 1.0)
                upright = Image.fromarray(np.clip(np.round(pixels / top * 255), 0, 255).astype(np.uint8), mode="L")
            return upright.convert("RGB")
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"path {str(p)!r} is not an image that PIL can read ({err})") from None


def photo_tensor(path: str | os.PathLike | None = None, size: int = 224) -> torch.Tensor:
    """The photo as a ``(1, 3, size, size)`` float batch, preprocessed like ImageNet models expect.

    Resize so the shorter side is ``size * 256 / 224`` (256 for 224), centre-crop
    ``size`` x ``size``, scale to [0, 1] and normalise with
    :data:`IMAGENET_MEAN` / :data:`IMAGENET_STD` -- torchvision's recipe for AlexNet.

    Raises:
        ValueError: for a bad path or image, or ``size`` that is not an int >= 16.
    """
    size = check_int(size, "size", minimum=16, what="pixels")
    from torchvision import transforms

    image = load_photo(path)
    pipeline = transforms.Compose([
        transforms.Resize(round(size * 256 / 224)),
        transforms.CenterCrop(size),
        transforms.ToTensor(),
        transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])
    return pipeline(image).unsqueeze(0)
