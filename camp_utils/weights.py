"""Trained weights of the course's models: cached on first use, checked when loaded.

* :func:`trained_gapnet` -- a :class:`~camp_utils.models.GapNet` trained on the embedded
  ShapesDataset, trained once on first use and cached under ``data/`` (lessons 22, 23);
* :func:`trained_vit` -- a :class:`~camp_utils.models.TinyViT` trained and cached the same
  way (lesson 23, Grad-CAM on a Vision Transformer);
* :func:`alexnet` -- torchvision's AlexNet with ImageNet weights when they are
  cached or may be downloaded, else random weights and a warning (lessons 22, 23).

This module sits above the training loop (:mod:`camp_utils.train`), which trains the GapNet;
the architectures themselves are in :mod:`camp_utils.models`, below it.
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

from .checks import ensure_writable_folder
from .data import ShapesDataset, shapes_loaders
from .messages import say
from .models import GapNet, TinyViT
from .paths import cache_dir as default_cache_dir
from .train import evaluate, fit

__all__ = ["trained_gapnet", "GAPNET_RECIPE", "trained_vit", "VIT_RECIPE", "alexnet", "imagenet_categories",
           "PretrainedWeightsWarning"]


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


# How trained_vit trains (the same data and schedule; AdamW and more epochs, as transformers need).
VIT_RECIPE = {
    "dataset": {"name": "ShapesDataset", "image_size": 32, "seed": 0, "train": 6000, "valid": 1000, "test": 1000},
    "model": {"dim": 32, "depth": 3, "heads": 2, "hidden": 64},
    "optimizer": {"name": "AdamW", "lr": 3e-3, "weight_decay": 0.05},
    "schedule": {"name": "OneCycleLR", "max_lr": 3e-3},
    "epochs": 10,
    "batch_size": 64,
    "seed": 0,
    "format": 1,
}


def _fingerprint(model: nn.Module, recipe: dict | None = None) -> str:
    shapes = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    recipe = GAPNET_RECIPE if recipe is None else recipe
    blob = json.dumps({"recipe": recipe, "shapes": shapes, "torch": torch.__version__.split("+")[0]},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _new_gapnet() -> GapNet:
    return GapNet(len(ShapesDataset.classes), **GAPNET_RECIPE["model"])


def _new_vit() -> TinyViT:
    return TinyViT(len(ShapesDataset.classes), VIT_RECIPE["dataset"]["image_size"], **VIT_RECIPE["model"])


def _train(recipe: dict, build, optimizer) -> tuple[nn.Module, float, float]:
    """Train ``build()`` by ``recipe`` (OneCycleLR stepped per batch); ``(model, test accuracy, seconds)``."""
    r = recipe
    d = r["dataset"]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(r["seed"])
        model = build()
    train, _valid, test = shapes_loaders(
        r["batch_size"], sizes={k: d[k] for k in ("train", "valid", "test")},
        image_size=d["image_size"], seed=d["seed"],
    )
    opt = optimizer(model.parameters(), lr=r["optimizer"]["lr"], weight_decay=r["optimizer"]["weight_decay"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=r["schedule"]["max_lr"], epochs=r["epochs"],
                                                steps_per_epoch=len(train))
    start = time.perf_counter()
    fit(model, opt, train, None, epochs=r["epochs"], scheduler=sched, scheduler_interval="batch",
        seed=r["seed"], progress=False)
    seconds = time.perf_counter() - start
    _, acc = evaluate(model, test)
    return model.cpu().eval(), acc, seconds


def _train_gapnet() -> tuple[GapNet, float, float]:
    return _train(GAPNET_RECIPE, _new_gapnet, torch.optim.Adam)


def _train_vit() -> tuple[TinyViT, float, float]:
    return _train(VIT_RECIPE, _new_vit, torch.optim.AdamW)


def _load_cache(path: Path, expected: str, model: nn.Module, function: str = "trained_gapnet"
                ) -> tuple[dict | None, str]:
    """Load a cache into ``model``: ``(info, "")`` if it is usable, else ``(None, why not)``."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # corrupt, truncated or not a torch file
        first_line = (str(err).strip().splitlines() or [""])[0][:160]
        return None, f"it cannot be read ({type(err).__name__}: {first_line})"
    if not isinstance(saved, dict) or not isinstance(saved.get("state_dict"), dict):
        return None, f"it is not a {function} cache"
    if saved.get("fingerprint") != expected:
        return None, "it was made by another recipe, architecture or torch version (fingerprint differs)"
    try:
        model.load_state_dict(saved["state_dict"])
    except Exception as err:
        return None, f"its tensors do not fit {type(model).__name__} ({str(err).strip().splitlines()[0][:160]})"
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
    return _cached("trained_gapnet", "gapnet_shapes.pt", GAPNET_RECIPE, _new_gapnet, lambda: _train_gapnet(),
                   cache_dir, retrain)


def trained_vit(*, cache_dir: str | os.PathLike | None = None, retrain: bool = False) -> tuple[TinyViT, dict]:
    """A :class:`TinyViT` trained on ShapesDataset, from the cache or trained now.

    Trained by :data:`VIT_RECIPE` (10 epochs of AdamW with OneCycleLR, about
    half a minute on 2 CPU cores) on the same images as :func:`trained_gapnet`,
    and cached the same way, as ``<cache_dir>/vit_shapes.pt``: arguments,
    checks of the cache, warnings and errors are those of :func:`trained_gapnet`.

    Returns:
        ``(model, info)`` as :func:`trained_gapnet`.
    """
    return _cached("trained_vit", "vit_shapes.pt", VIT_RECIPE, _new_vit, lambda: _train_vit(), cache_dir, retrain)


def _cached(function: str, filename: str, recipe: dict, build, train, cache_dir, retrain: bool):
    """The cache logic of :func:`trained_gapnet` and :func:`trained_vit` (see the former's docstring)."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / filename
    model = build()
    expected = _fingerprint(model, recipe)
    if path.is_file() and not retrain:
        info, why = _load_cache(path, expected, model, function)
        if info is not None:
            return model.eval(), info
        warnings.warn(say("models.ignoring_cache", path=path, why=why), UserWarning, stacklevel=3)
    ensure_writable_folder(folder, "Pass cache_dir= a folder you can write, or set CAMP_CACHE_DIR or CAMP_DATA_DIR.")
    if path.exists() and not path.is_file():  # checked before training, not after half a minute of it
        raise ValueError(f"the cache path '{path}' exists but is not a file (a folder?); move it away or "
                         "pass another cache_dir=")
    model, acc, seconds = train()
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
    """AlexNet from torchvision, with ImageNet weights when they are available, else random weights.

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
