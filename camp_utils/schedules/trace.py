"""Trace a real ``torch.optim.lr_scheduler`` object: the lr of every parameter group at every step.

Nothing here re-implements a schedule's formula: :func:`trace` builds a
throw-away optimizer, hands it to the caller's scheduler and records what the
scheduler writes into it. Importing this module needs neither matplotlib nor
ipywidgets.
"""
from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from ..checks import check_choice, check_int, check_number

__all__ = ["Trace", "trace"]


def _lr_value(lr: float | torch.Tensor) -> float:
    return float(lr.item()) if isinstance(lr, torch.Tensor) else float(lr)


@dataclass
class Trace:
    """The learning rates a scheduler produced, step by step.

    ``lrs[i][g]`` is the lr of parameter group ``g`` used by optimizer step
    ``i`` (counted from 0). Step ``i`` belongs to epoch ``i // steps_per_epoch``
    (epochs counted from 0, as ``scheduler.last_epoch`` counts them), so with
    one step per epoch ``lrs[e]`` is the lr *during* epoch ``e``.

    Attributes:
        name: label for plots (default: the scheduler's class name).
        lrs: one list of per-group lrs per optimizer step.
        steps_per_epoch: optimizer steps per epoch.
        interval: ``"batch"`` if the scheduler stepped after every optimizer
            step, ``"epoch"`` if after each epoch's last one.
    """

    name: str
    lrs: list[list[float]]
    steps_per_epoch: int = 1
    interval: str = "batch"

    def __len__(self) -> int:
        return len(self.lrs)

    @property
    def groups(self) -> int:
        """Number of parameter groups."""
        return len(self.lrs[0]) if self.lrs else 0

    @property
    def epochs(self) -> list[float]:
        """The x coordinate of every step in epochs: ``i / steps_per_epoch``."""
        return [i / self.steps_per_epoch for i in range(len(self.lrs))]

    def group(self, g: int = 0) -> list[float]:
        """The lr of parameter group ``g`` at every step."""
        if isinstance(g, bool) or not isinstance(g, numbers.Integral) or not 0 <= g < self.groups:
            raise ValueError(f"g must be a parameter group index in 0..{self.groups - 1}, got {g!r}")
        return [row[g] for row in self.lrs]

    def at(self, epoch: int, group: int = 0, step: int = 0) -> float:
        """The lr of ``group`` during ``epoch`` (from 0), at ``step`` within the epoch.

        Raises:
            ValueError: ``epoch`` or ``step`` is not an int (``1.5``: an lr
                belongs to a whole step; use ``step`` for a point inside an
                epoch), or lies outside the trace; a bad ``group``.
        """
        epoch = check_int(epoch, "epoch", what="an epoch of the trace, counted from 0")
        step = check_int(step, "step", what=f"a step within the epoch, 0..{self.steps_per_epoch - 1}")
        index = epoch * self.steps_per_epoch + step
        if not (0 <= step < self.steps_per_epoch and 0 <= index < len(self.lrs)):
            raise ValueError(f"epoch {epoch!r}, step {step!r} is outside the trace "
                             f"({len(self.lrs) // self.steps_per_epoch} epochs of {self.steps_per_epoch} steps)")
        return self.group(group)[index]


def _check_factory(make_scheduler: Any) -> None:
    if isinstance(make_scheduler, (LRScheduler, ReduceLROnPlateau)):
        raise ValueError("make_scheduler must be a function that builds the scheduler from an optimizer, "
                         f"e.g. lambda opt: StepLR(opt, 30); got a {type(make_scheduler).__name__} object")
    if not callable(make_scheduler):
        raise ValueError(f"make_scheduler must be callable as make_scheduler(optimizer), got {make_scheduler!r}")
    try:
        inspect.signature(make_scheduler).bind(object())
    except TypeError:
        raise ValueError("make_scheduler must take exactly one argument, the optimizer "
                         "(e.g. lambda opt: StepLR(opt, step_size=30))") from None
    except ValueError:  # no signature available (some builtins): find out when it is called
        pass


def trace(
    make_scheduler: Callable[[Optimizer], Any],
    epochs: int,
    *,
    steps_per_epoch: int = 1,
    lr: float | Sequence[float] = 0.1,
    metrics: Sequence[float] | None = None,
    interval: str | None = None,
    momentum: float = 0.9,
    name: str | None = None,
) -> Trace:
    """Record the lr a real scheduler gives every parameter group at every step.

    A throw-away ``SGD`` optimizer (one dummy parameter per
    group, ``momentum`` so that CyclicLR and OneCycleLR can cycle it) is
    handed to ``make_scheduler``; then for ``epochs * steps_per_epoch``
    steps the lrs in ``optimizer.param_groups`` are recorded, ``optimizer.step()``
    is called, and ``scheduler.step()`` follows -- in that order, as in
    training. The recorded lr of step ``i`` is the one that step ``i`` used.

    Args:
        make_scheduler: builds the scheduler from the optimizer it is handed,
            e.g. ``lambda opt: StepLR(opt, step_size=50, gamma=0.1)``.
        epochs: number of epochs (>= 1).
        steps_per_epoch: optimizer steps (batches) per epoch (>= 1).
        lr: the initial lr, or one per parameter group (a sequence makes
            that many groups).
        metrics: for ``ReduceLROnPlateau`` only: the monitored value of every
            epoch, at least ``epochs`` of them (e.g. a validation loss).
        interval: ``"batch"``: ``scheduler.step()`` after every optimizer
            step; ``"epoch"``: after each epoch's last step. Default ``"batch"``,
            and ``"epoch"`` for ``ReduceLROnPlateau`` (the only one it allows).
        momentum: the SGD momentum of the throw-away optimizer.
        name: label of the trace; default the scheduler's class name.

    Returns:
        A :class:`Trace` with ``epochs * steps_per_epoch`` rows.

    Raises:
        ValueError: bad ``epochs``, ``steps_per_epoch``, ``lr``, ``interval``;
            ``make_scheduler`` not a one-argument function, or it returned no
            scheduler of that optimizer; ``metrics`` missing or too short for
            ``ReduceLROnPlateau``, or given to another scheduler.
    """
    epochs = check_int(epochs, "epochs", minimum=1)
    steps_per_epoch = check_int(steps_per_epoch, "steps_per_epoch", minimum=1)
    if interval is not None:
        interval = check_choice(interval, "interval", ("batch", "epoch"))
    if isinstance(lr, (str, bytes)) or not isinstance(lr, (numbers.Real, Sequence, torch.Tensor, np.ndarray)):
        raise ValueError(f"lr must be a positive number or a sequence of them (one per group), got {lr!r} "
                         f"({type(lr).__name__})")
    if isinstance(lr, (torch.Tensor, np.ndarray)):
        lr = lr.tolist()
    base = [lr] if isinstance(lr, numbers.Real) else list(lr)
    if not base:
        raise ValueError("lr must be a positive number or a non-empty sequence of them (one per group)")
    base = [check_number(value, "lr", positive=True) for value in base]
    _check_factory(make_scheduler)

    groups = [{"params": [nn.Parameter(torch.zeros(1))], "lr": value} for value in base]
    optimizer = torch.optim.SGD(groups, lr=base[0], momentum=momentum)
    scheduler = make_scheduler(optimizer)
    if not isinstance(scheduler, (LRScheduler, ReduceLROnPlateau)):
        raise ValueError("make_scheduler must return a torch.optim.lr_scheduler scheduler, "
                         f"got {type(scheduler).__name__}")
    if getattr(scheduler, "optimizer", None) is not optimizer:
        raise ValueError("make_scheduler must build the scheduler on the optimizer it is handed "
                         "(lambda opt: StepLR(opt, ...)), not on another one")

    plateau = isinstance(scheduler, ReduceLROnPlateau)
    if plateau:
        if interval == "batch":
            raise ValueError("interval='batch' does not work with ReduceLROnPlateau: it needs one metric "
                             "per epoch; leave interval out")
        if metrics is None:
            raise ValueError(f"metrics is needed for ReduceLROnPlateau: one monitored value per epoch "
                             f"({epochs} values)")
        metrics = [check_number(m, "metrics", what="monitored value") for m in metrics]
        if len(metrics) < epochs:
            raise ValueError(f"metrics is too short: ReduceLROnPlateau needs one value per epoch, "
                             f"{epochs} values, got {len(metrics)}")
        interval = "epoch"
    elif metrics is not None:
        raise ValueError(f"metrics is only used by ReduceLROnPlateau, not by {type(scheduler).__name__}")
    interval = interval or "batch"

    lrs: list[list[float]] = []
    for epoch in range(epochs):
        for _ in range(steps_per_epoch):
            lrs.append([_lr_value(group["lr"]) for group in optimizer.param_groups])
            optimizer.step()  # no gradients: changes nothing, but keeps the order PyTorch expects
            if interval == "batch":
                scheduler.step()
        if interval == "epoch":
            if plateau:
                scheduler.step(metrics[epoch])
            else:
                scheduler.step()
    return Trace(name or type(scheduler).__name__, lrs, steps_per_epoch, interval)
