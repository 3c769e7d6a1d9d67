"""Models of the course.

* :class:`LeNet` -- the course's LeNet for 3 x 32 x 32 inputs (lessons 19, 21, 22).
* :class:`GapNet` -- a small CNN that ends in global average pooling and one
  linear layer, the architecture Class Activation Maps need (lesson 23).
* :func:`trained_gapnet` -- a GapNet trained on the embedded ShapesDataset,
  trained once on first use and cached under ``data/``;
* :func:`alexnet` -- torchvision's AlexNet with ImageNet weights when they are
  cached or may be downloaded, else random weights and a warning (lessons 22, 23).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
import warnings
from pathlib import Path

import torch
from torch import nn

from .checks import check_int, ensure_writable_folder
from .messages import say
from .paths import cache_dir as default_cache_dir

__all__ = ["LeNet", "GapNet", "trained_gapnet", "GAPNET_RECIPE", "alexnet", "imagenet_categories",
           "PretrainedWeightsWarning"]


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
        return self.fc(self.pool(self.features(x)).flatten(1))


# How trained_gapnet trains; part of the cache fingerprint, so changing it retrains.
GAPNET_RECIPE = {
    "dataset": {"name": "ShapesDataset", "image_size": 32, "seed": 0, "train": 6000, "valid": 1000, "test": 1000},
    "model": {"width": 16},
    "optimizer": {"name": "Adam", "lr": 3e-3, "weight_decay": 1e-4},
    "schedule": {"name": "OneCycleLR", "max_lr": 3e-3},
    "epochs": 6,
    "batch_size": 64,
    "seed": 0,
    "format": 1,
}


def _fingerprint(model: nn.Module) -> str:
    shapes = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    blob = json.dumps({"recipe": GAPNET_RECIPE, "shapes": shapes, "torch": torch.__version__.split("+")[0]},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _train_gapnet() -> tuple[GapNet, float, float]:
    from .data import ShapesDataset, shapes_loaders
    from .train import evaluate, fit

    r = GAPNET_RECIPE
    d = r["dataset"]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(r["seed"])
        model = GapNet(len(ShapesDataset.classes), **r["model"])
    train, valid, test = shapes_loaders(
        r["batch_size"], sizes={k: d[k] for k in ("train", "valid", "test")},
        image_size=d["image_size"], seed=d["seed"],
    )
    opt = torch.optim.Adam(model.parameters(), lr=r["optimizer"]["lr"], weight_decay=r["optimizer"]["weight_decay"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=r["schedule"]["max_lr"], epochs=r["epochs"],
                                                steps_per_epoch=len(train))
    start = time.perf_counter()
    fit(model, opt, train, None, epochs=r["epochs"], scheduler=sched, scheduler_interval="batch",
        seed=r["seed"], progress=False)
    seconds = time.perf_counter() - start
    _, acc = evaluate(model, test)
    return model.cpu().eval(), acc, seconds


def _load_cache(path: Path, expected: str, model: GapNet) -> tuple[dict | None, str]:
    """Load a cache into ``model``: ``(info, "")`` if it is usable, else ``(None, why not)``."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # corrupt, truncated or not a torch file
        first_line = (str(err).strip().splitlines() or [""])[0][:160]
        return None, f"it cannot be read ({type(err).__name__}: {first_line})"
    if not isinstance(saved, dict) or not isinstance(saved.get("state_dict"), dict):
        return None, "it is not a trained_gapnet cache"
    if saved.get("fingerprint") != expected:
        return None, "it was made by another recipe, architecture or torch version (fingerprint differs)"
    try:
        model.load_state_dict(saved["state_dict"])
    except Exception as err:
        return None, f"its tensors do not fit GapNet ({str(err).strip().splitlines()[0][:160]})"
    broken = [name for name, t in model.state_dict().items()
              if t.is_floating_point() and not torch.isfinite(t).all()]
    if broken:
        return None, f"its weights contain NaN or inf ({', '.join(broken[:3])}{', ...' if len(broken) > 3 else ''})"
    accuracy = saved.get("test_accuracy")
    if not isinstance(accuracy, float) or not math.isfinite(accuracy) or not 0 <= accuracy <= 1:
        return None, f"its recorded test accuracy {accuracy!r} is not a number from 0 to 1"
    return {"test_accuracy": accuracy, "train_seconds": None, "source": "cache"}, ""


def trained_gapnet(*, cache_dir: str | os.PathLike | None = None, retrain: bool = False) -> tuple[GapNet, dict]:
    """A :class:`GapNet` trained on ShapesDataset, from the cache or trained now.

    The first call trains it (about half a minute on 2 CPU cores) and saves
    the weights to ``<cache_dir>/gapnet_shapes.pt`` together with a
    fingerprint of the architecture and the recipe (:data:`GAPNET_RECIPE`).
    Later calls load the file with ``torch.load(..., weights_only=True)``.
    A cache that cannot be read, whose fingerprint or tensors do not match, or
    whose weights are not finite is ignored, with one warning that says why,
    and replaced by a freshly trained model. The cache folder is checked to
    be writable *before* training; the file is written atomically (a
    temporary file renamed into place, removed if saving fails).

    Args:
        cache_dir: where to cache; default ``$CAMP_CACHE_DIR`` or ``data/cache``.
        retrain: ignore the cache and train again (no warning).

    Returns:
        ``(model, info)``: the model on the CPU in eval mode, and
        ``info = {"test_accuracy": float, "train_seconds": float | None,
        "source": "cache" | "trained"}``.

    Raises:
        PermissionError: the cache folder cannot be written (before any training).

    Warns:
        UserWarning: "ignoring the cached model '<path>': <why>; training a new one".
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / "gapnet_shapes.pt"
    from .data import ShapesDataset

    model = GapNet(len(ShapesDataset.classes), **GAPNET_RECIPE["model"])
    expected = _fingerprint(model)
    if path.is_file() and not retrain:
        info, why = _load_cache(path, expected, model)
        if info is not None:
            return model.eval(), info
        warnings.warn(say("models.ignoring_cache", path=path, why=why), UserWarning, stacklevel=2)
    ensure_writable_folder(folder, "Pass cache_dir= a folder you can write, or set CAMP_CACHE_DIR or CAMP_DATA_DIR.")
    if path.exists() and not path.is_file():  # checked before training, not after half a minute of it
        raise ValueError(f"the cache path '{path}' exists but is not a file (a folder?); move it away or "
                         "pass another cache_dir=")
    model, acc, seconds = _train_gapnet()
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        torch.save({"fingerprint": expected, "state_dict": model.state_dict(), "test_accuracy": acc}, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return model, {"test_accuracy": acc, "train_seconds": seconds, "source": "trained"}


# --------------------------------------------------------------------------- pretrained AlexNet
class PretrainedWeightsWarning(UserWarning):
    """Warned when a model that should be pretrained is returned with random weights."""


def _alexnet_cache_file() -> Path:
    """Where torchvision's own cache keeps AlexNet's ImageNet weights (under ``$TORCH_HOME``)."""
    from urllib.parse import urlparse

    from torchvision.models import AlexNet_Weights

    url = AlexNet_Weights.IMAGENET1K_V1.url
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name


def _hash_prefix(filename: str) -> str:
    """The sha256 prefix torch.hub puts in a checkpoint's name (``alexnet-owt-7be5be79.pth`` -> ``7be5be79``)."""
    stem = filename.rsplit(".", 1)[0]
    tail = stem.rsplit("-", 1)[-1] if "-" in stem else ""
    return tail.lower() if len(tail) >= 6 and all(c in "0123456789abcdefABCDEF" for c in tail) else ""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def imagenet_categories() -> list[str]:
    """The 1,000 ImageNet class names, in the order of the pretrained models' outputs (no network)."""
    from torchvision.models import AlexNet_Weights

    return list(AlexNet_Weights.IMAGENET1K_V1.meta["categories"])


def alexnet(download: bool = False, *, progress: bool = False) -> tuple[nn.Module, bool]:
    """torchvision's AlexNet with ImageNet weights when they are available, else random weights.

    The weights are looked up where torchvision caches them
    (``<torch.hub.get_dir()>/checkpoints/alexnet-owt-7be5be79.pth``, i.e. under
    ``$TORCH_HOME``), so a file a learner downloaded once is found; as
    ``torch.hub`` does, the file's sha256 must start with the prefix in its
    name (a file of random or NaN weights saved there is not "pretrained"). If it is
    not there, they are downloaded only when ``download=True`` (about 233 MB);
    no network access is tried otherwise. When no weights can be had, the
    randomly initialised network is returned with a
    :class:`PretrainedWeightsWarning` -- and the flag says so: never print
    results of that model as if it were trained.

    Args:
        download: allow downloading the weights when they are not cached.
        progress: show the download's progress bar.

    Returns:
        ``(model, pretrained)``: the model in eval mode on the CPU, and whether
        it carries the ImageNet weights.
    """
    if not isinstance(download, bool):
        raise ValueError(f"download must be True or False, got {download!r}")
    import warnings

    from torchvision.models import AlexNet_Weights
    from torchvision.models import alexnet as build

    model = build(weights=None)
    cached = _alexnet_cache_file()
    reason = None
    if cached.is_file():
        expected = _hash_prefix(cached.name)
        actual = _sha256(cached) if expected else ""
        if expected and not actual.startswith(expected):
            reason = say("models.not_published", path=cached, actual=actual[:8], expected=expected)
        else:
            try:
                model.load_state_dict(torch.load(cached, map_location="cpu", weights_only=True))
                return model.eval(), True
            except Exception as err:  # corrupt or foreign file
                model = build(weights=None)
                reason = say("models.unloadable", path=cached, error=f"{type(err).__name__}: {err}")
    if reason is None and download:
        try:
            state = AlexNet_Weights.IMAGENET1K_V1.get_state_dict(progress=progress, check_hash=True)
            model.load_state_dict(state)
            return model.eval(), True
        except Exception as err:  # offline, proxy, disk full, ...
            reason = say("models.download_failed", error=f"{type(err).__name__}: {err}")
    if reason is None:
        reason = say("models.not_cached", path=cached)
    warnings.warn(say("models.random_weights", reason=reason), PretrainedWeightsWarning, stacklevel=2)
    return model.eval(), False
