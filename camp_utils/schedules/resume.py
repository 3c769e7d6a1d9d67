"""Does a scheduler resume exactly? Check it at every epoch, both ways PyTorch offers.

A run that stops after epoch ``k`` can go on in two ways:

* **state dicts**: build optimizer and scheduler as at the start, then load both
  ``state_dict()`` saved at ``k`` (what lesson 19 teaches);
* **``last_epoch=``**: load the optimizer's state dict, then build the scheduler
  with ``last_epoch=k - 1`` (the older recipe many scripts still use).

:func:`audit_resume` runs the schedule once without a break, then resumes it
after *every* epoch both ways and compares each resumed curve with the
uninterrupted one, lr by lr. Nothing here re-implements a schedule: it records
what the real scheduler writes into a throw-away optimizer, as :func:`trace` does.
"""
from __future__ import annotations

import copy
import inspect
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import ReduceLROnPlateau

from ..checks import check_int, check_number

__all__ = ["ResumeAudit", "audit_resume"]

Builder = Callable[[Optimizer, int], object]
"""``build(optimizer, last_epoch) -> scheduler``; a scheduler without ``last_epoch`` ignores the second argument."""


@dataclass(frozen=True)
class ResumeAudit:
    """Where resuming a schedule goes wrong, per way of resuming.

    Attributes:
        name: the schedule's label.
        epochs: length of the uninterrupted run; resumes are tried after epochs 1 .. ``epochs - 1``.
        state_dict_breaks: the resume points ``k`` (epochs done before the stop)
            after which loading both state dicts gives another curve.
        last_epoch_breaks: the same for ``last_epoch=k - 1``; ``None`` when the
            scheduler has no ``last_epoch`` argument (``last_epoch_note`` says so).
        last_epoch_note: why ``last_epoch=`` could not be tried, or ``""``.
        error: what the uninterrupted run itself raised (then nothing was
            resumed and both lists are empty), or ``""``.
    """

    name: str
    epochs: int
    state_dict_breaks: list[int]
    last_epoch_breaks: list[int] | None
    last_epoch_note: str = ""
    error: str = ""

    def summary(self, width: int = 34) -> str:
        """One table row: the name, then the resume points that break, each way."""
        if self.error:
            return f"{self.name:{width}} {self.error}"

        def show(breaks: list[int] | None) -> str:
            if breaks is None:
                return self.last_epoch_note
            if not breaks:
                return f"exact at all {self.epochs - 1}"
            listed = ", ".join(map(str, breaks[:4])) + (", ..." if len(breaks) > 4 else "")
            return f"{len(breaks):2} break ({listed})"
        return f"{self.name:{width}} {show(self.state_dict_breaks):24} {show(self.last_epoch_breaks)}"


def _fresh_optimizer(lr: float) -> Optimizer:
    return torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr, momentum=0.9)


def _run(optimizer: Optimizer, scheduler, metrics: Sequence[float] | None, start: int, stop: int) -> list[float]:
    """Train ``start .. stop - 1`` (one step per epoch), returning the lr each epoch used."""
    lrs = []
    for epoch in range(start, stop):
        lrs.append(float(optimizer.param_groups[0]["lr"]))
        # no optimizer.step(): the lrs do not depend on it (its warning is silenced by the caller)
        if isinstance(scheduler, ReduceLROnPlateau):
            scheduler.step(metrics[epoch])
        else:
            scheduler.step()
    return lrs


def _differs(resumed: list[float], uninterrupted: list[float]) -> bool:
    return len(resumed) != len(uninterrupted) or any(
        not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15) for a, b in zip(resumed, uninterrupted))


def audit_resume(build: Builder, epochs: int, *, metrics: Sequence[float] | None = None, lr: float = 0.1,
                 name: str = "") -> ResumeAudit:
    """Resume ``build``'s schedule after every epoch, with state dicts and with ``last_epoch=``; say where it breaks.

    Args:
        build: ``build(optimizer, last_epoch) -> scheduler``, e.g.
            ``lambda opt, last: StepLR(opt, 10, 0.5, last_epoch=last)``; the
            audit passes ``-1`` for a fresh start. A scheduler without a
            ``last_epoch`` argument (``ReduceLROnPlateau``, ``ChainedScheduler``)
            ignores it: its ``last_epoch=`` column says so.
        epochs: length of the run (>= 2); the scheduler steps once per epoch.
        metrics: one value per epoch for ``ReduceLROnPlateau.step(metric)``.
        lr: the optimizer's starting lr.
        name: the row's label (default: the scheduler's class name).

    Returns:
        A :class:`ResumeAudit`. A resume point ``k`` breaks when the resumed
        lrs of epochs ``k .. epochs - 1`` are not those of the uninterrupted run
        (relative tolerance 1e-9: rounding is not a break).

    Raises:
        ValueError: ``epochs`` below 2, a bad ``lr``, ``build`` that does not
            return a scheduler of the optimizer it was given, or a
            ``ReduceLROnPlateau`` without one metric per epoch.
    """
    epochs = check_int(epochs, "epochs", minimum=2, what="epochs of the uninterrupted run")
    lr = check_number(lr, "lr", positive=True)
    probe_optimizer = _fresh_optimizer(lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. SWALR's and the chainable schedulers' advice
        probe = build(probe_optimizer, -1)
    if getattr(probe, "optimizer", None) is not probe_optimizer and not hasattr(probe, "_schedulers"):
        raise ValueError("build must return a scheduler built on the optimizer it is given, e.g. "
                         f"lambda opt, last: StepLR(opt, 10, 0.5, last_epoch=last); got {type(probe).__name__}")
    plateau = isinstance(probe, ReduceLROnPlateau)
    if plateau and (metrics is None or len(metrics) < epochs):
        raise ValueError(f"metrics must hold one value per epoch ({epochs}) for ReduceLROnPlateau")
    name = name or type(probe).__name__
    takes_last_epoch = "last_epoch" in inspect.signature(type(probe).__init__).parameters

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optimizer = _fresh_optimizer(lr)
        scheduler = build(optimizer, -1)
        uninterrupted, saved = [], {}
        for epoch in range(epochs):
            if epoch > 0:
                saved[epoch] = copy.deepcopy((optimizer.state_dict(), scheduler.state_dict()))
            try:
                uninterrupted += _run(optimizer, scheduler, metrics, epoch, epoch + 1)
            except Exception as error:  # the schedule cannot even run through: that is the finding
                said = str(error).strip().splitlines()[0][:80] if str(error).strip() else "(no message)"
                return ResumeAudit(name, epochs, [], [], error=f"fails in epoch {epoch}: {type(error).__name__} "
                                                               f"{said}")

        state_dict_breaks, last_epoch_breaks = [], []
        for k, (optimizer_state, scheduler_state) in saved.items():
            optimizer = _fresh_optimizer(lr)
            scheduler = build(optimizer, -1)
            optimizer.load_state_dict(copy.deepcopy(optimizer_state))
            scheduler.load_state_dict(copy.deepcopy(scheduler_state))
            if _differs(_run(optimizer, scheduler, metrics, k, epochs), uninterrupted[k:]):
                state_dict_breaks.append(k)
            if takes_last_epoch:
                optimizer = _fresh_optimizer(lr)
                optimizer.load_state_dict(copy.deepcopy(optimizer_state))
                scheduler = build(optimizer, k - 1)
                if _differs(_run(optimizer, scheduler, metrics, k, epochs), uninterrupted[k:]):
                    last_epoch_breaks.append(k)
    if not takes_last_epoch:
        return ResumeAudit(name, epochs, state_dict_breaks, None, "no last_epoch argument")
    return ResumeAudit(name, epochs, state_dict_breaks, last_epoch_breaks)
