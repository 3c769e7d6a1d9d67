"""One training loop for every lesson that trains.

:func:`fit` trains a classifier for some epochs, steps an optional LR scheduler
(per epoch or per batch; ``ReduceLROnPlateau`` gets the validation loss), can
log to TensorBoard, shows a progress bar, and returns a :class:`History`.

The progress bar is tqdm's notebook-aware bar. Turn it off with
``progress=False`` or for a whole session with the environment variable
``CAMP_PROGRESS=0`` (the test suite does).
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torch.utils.data import DataLoader

__all__ = ["History", "pick_device", "evaluate", "fit", "progress_enabled"]


@dataclass
class History:
    """Per-epoch record of a :func:`fit` run; every list has one entry per epoch.

    ``lr`` is the learning rate of the first parameter group *during* that epoch
    (``lrs`` has every group). ``valid_*`` lists are empty without a valid loader.
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    valid_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    lrs: list[list[float]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.epoch)

    def as_dict(self) -> dict[str, list]:
        """The history as a plain dict of lists (e.g. for ``pandas.DataFrame``)."""
        return asdict(self)


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """Return ``device`` if given, else CUDA, then Apple MPS, then CPU -- whichever is there first."""
    if device is not None:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def progress_enabled(progress: bool | None = None) -> bool:
    """Whether to show progress bars: ``progress`` if given, else ``$CAMP_PROGRESS`` (default on)."""
    if progress is not None:
        return bool(progress)
    return os.environ.get("CAMP_PROGRESS", "1").strip().lower() not in ("0", "false", "no", "off")


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    device: str | torch.device | None = None,
) -> tuple[float, float]:
    """Mean loss and accuracy (0..1) of ``model`` over ``loader``.

    The model is put in eval mode for the pass and then restored to the mode
    it was in. ``device`` defaults to where the model's parameters are.
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    if device is None:
        device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    try:
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            total_loss += loss_fn(outputs, targets).item() * len(targets)
            correct += (outputs.argmax(1) == targets).sum().item()
            count += len(targets)
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("loader yielded no samples; is the dataset empty?")
    return total_loss / count, correct / count


def _log_epoch(writer, model: nn.Module, epoch: int, history: History, histograms: bool) -> None:
    """Write one epoch to TensorBoard: train and valid in the same chart via ``add_scalars``."""
    loss = {"train": history.train_loss[-1]}
    acc = {"train": history.train_acc[-1]}
    if history.valid_loss:
        loss["valid"], acc["valid"] = history.valid_loss[-1], history.valid_acc[-1]
    writer.add_scalars("Loss", loss, epoch)
    writer.add_scalars("Accuracy", acc, epoch)
    lrs = history.lrs[-1]
    for i, lr in enumerate(lrs):
        writer.add_scalar("LearningRate" if len(lrs) == 1 else f"LearningRate/group{i}", lr, epoch)
    if histograms:
        for name, param in model.named_parameters():
            writer.add_histogram(f"params/{name}", param.detach().cpu(), epoch)
            if param.grad is not None:
                writer.add_histogram(f"grads/{name}", param.grad.detach().cpu(), epoch)
    writer.flush()


def fit(
    model: nn.Module,
    optimizer: Optimizer,
    train_loader: DataLoader,
    valid_loader: DataLoader | None = None,
    *,
    epochs: int,
    scheduler: Any | None = None,
    scheduler_interval: str = "epoch",
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    writer: Any | None = None,
    log_histograms: bool = True,
    device: str | torch.device | None = None,
    seed: int = 0,
    progress: bool | None = None,
    on_epoch_end: Callable[[int, nn.Module, History], None] | None = None,
) -> History:
    """Train ``model`` and return its per-epoch :class:`History`.

    Each epoch: one pass over ``train_loader`` (``optimizer.step()`` per batch),
    then ``valid_loader`` is evaluated, then the scheduler steps (for
    ``scheduler_interval="epoch"``). ``ReduceLROnPlateau`` is stepped with the
    validation loss (the training loss when there is no valid loader).

    Args:
        model: a classifier returning logits ``(B, classes)``; moved to ``device``.
        optimizer: built on ``model``'s parameters.
        train_loader, valid_loader: yield ``(inputs, targets)`` batches.
        epochs: number of passes over the training data (>= 1).
        scheduler: any ``torch.optim.lr_scheduler`` object built on ``optimizer``.
        scheduler_interval: ``"epoch"`` or ``"batch"`` (per-iteration schedules).
        loss_fn: default ``nn.CrossEntropyLoss()``.
        writer: a ``SummaryWriter``; if given, each epoch logs ``Loss`` and
            ``Accuracy`` with ``add_scalars`` (sub-runs ``Loss_train``,
            ``Loss_valid``, ... so train and valid share one chart),
            ``LearningRate``, and if ``log_histograms`` the histograms
            ``params/<name>`` and ``grads/<name>`` (gradients of the epoch's last batch).
        device: default: :func:`pick_device`.
        seed: seeds the random state used inside (shuffling, dropout); the
            caller's global RNG state is restored afterwards.
        progress: show a progress bar; default from ``$CAMP_PROGRESS`` (on).
        on_epoch_end: called as ``on_epoch_end(epoch, model, history)`` after
            each epoch's validation and before the scheduler steps, with the
            gradients of the epoch's last batch still in ``param.grad`` --
            the place for your own logging.

    Returns:
        The :class:`History` (also useful for plotting inline).

    Raises:
        ValueError: for bad ``epochs``, ``scheduler_interval``, a scheduler
            built on another optimizer, or an empty loader.
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if scheduler_interval not in ("epoch", "batch"):
        raise ValueError(f"scheduler_interval must be 'epoch' or 'batch', got {scheduler_interval!r}")
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if scheduler is not None and getattr(scheduler, "optimizer", None) is not optimizer:
        raise ValueError("scheduler was built on a different optimizer than the one passed to fit")
    plateau = isinstance(scheduler, ReduceLROnPlateau)
    if plateau and scheduler_interval == "batch":
        raise ValueError("ReduceLROnPlateau needs a metric per epoch; use scheduler_interval='epoch'")
    if len(train_loader) == 0:
        raise ValueError("train_loader has no batches; is the dataset empty?")

    from tqdm.auto import tqdm

    loss_fn = loss_fn or nn.CrossEntropyLoss()
    device = pick_device(device)
    model.to(device)
    history = History()
    fork_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(seed)
        bar = tqdm(range(1, epochs + 1), desc="epochs", unit="epoch", disable=not progress_enabled(progress))
        for epoch in bar:
            lrs = [group["lr"] for group in optimizer.param_groups]
            model.train()
            total_loss, correct, count = 0.0, 0, 0
            for inputs, targets in train_loader:
                inputs, targets = inputs.to(device), targets.to(device)
                optimizer.zero_grad()
                outputs = model(inputs)
                loss = loss_fn(outputs, targets)
                loss.backward()
                optimizer.step()
                if scheduler is not None and scheduler_interval == "batch":
                    scheduler.step()
                total_loss += loss.item() * len(targets)
                correct += (outputs.argmax(1) == targets).sum().item()
                count += len(targets)
            if not math.isfinite(total_loss):
                raise FloatingPointError(
                    f"training loss became {total_loss} in epoch {epoch}; the learning rate "
                    f"({lrs[0]:g}) is probably too high"
                )
            history.epoch.append(epoch)
            history.train_loss.append(total_loss / count)
            history.train_acc.append(correct / count)
            history.lr.append(lrs[0])
            history.lrs.append(lrs)
            if valid_loader is not None:
                valid_loss, valid_acc = evaluate(model, valid_loader, loss_fn, device)
                history.valid_loss.append(valid_loss)
                history.valid_acc.append(valid_acc)
            if writer is not None:
                _log_epoch(writer, model, epoch, history, log_histograms)
            if on_epoch_end is not None:
                on_epoch_end(epoch, model, history)
            if scheduler is not None and scheduler_interval == "epoch":
                if plateau:
                    scheduler.step(history.valid_loss[-1] if valid_loader is not None else history.train_loss[-1])
                else:
                    scheduler.step()
            shown = {"loss": f"{history.train_loss[-1]:.3f}", "acc": f"{history.train_acc[-1]:.3f}"}
            if valid_loader is not None:
                shown["valid_acc"] = f"{history.valid_acc[-1]:.3f}"
            bar.set_postfix(shown)
        bar.close()
    return history
