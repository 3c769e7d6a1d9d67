"""One optimizer step and one evaluation pass, shared by ``fit`` and ``lr_find``.

Both loops take the same batches and do the same arithmetic, so it lives here once:

* :func:`unpack_batch` -- ``(inputs, targets)`` from a loader's batch (``batch_fn`` for
  dicts or longer tuples); inputs may be a tensor or a tuple, list or dict of tensors;
* :func:`to_device` -- a tensor, or such a nested structure, moved to a device;
* :func:`mixed_precision` / :class:`MixedPrecision` -- autocast (and a ``GradScaler`` for float16);
* :func:`backward_pass` -- forward, loss and backward of one batch, weighted;
* :func:`optimizer_step` -- one optimizer step over one or several accumulated batches
  (``no_sync()`` on all but the last under DistributedDataParallel);
* :func:`train_step` -- the five lines of every training loop, for one batch;
* :func:`evaluate` -- mean loss and accuracy over a loader.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer
from torch.utils.data import DataLoader

from .distributed import all_reduce_sum, world_size
from .state import eval_mode, model_device

__all__ = ["BatchFn", "LossFn", "unpack_batch", "to_device", "MixedPrecision", "mixed_precision", "backward_pass",
           "StepResult", "optimizer_step", "train_step", "evaluate"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
BatchFn = Callable[[Any], "tuple[Any, torch.Tensor]"]

def unpack_batch(
    batch: Any, batch_fn: BatchFn | None = None, *, where: str = "a batch"
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(inputs, targets)`` from one batch of a loader: ``batch_fn(batch)`` if given, else the batch itself.

    ``batch_fn`` is how a loader of dicts (``lambda b: (b["image"], b["label"])``)
    or of longer tuples (``lambda b: (b[0], b[2])``) is used. ``inputs`` may be
    a tensor or a tuple, list or dict of tensors (``model(inputs)`` receives it
    as it is; :func:`to_device` moves it).

    Raises:
        ValueError: the batch (or what ``batch_fn`` returned) is not a pair of
            tensors; ``where`` says which batch, and the message says how to fix it.
    """
    source = "batch_fn" if batch_fn is not None else "loader"
    if batch_fn is not None:
        batch = batch_fn(batch)
    if isinstance(batch, Mapping):
        raise ValueError(f"{source} must yield (inputs, targets) pairs, got a {type(batch).__name__} with keys "
                         f"{list(batch)[:4]} ({where}); pass batch_fn=lambda b: (b['...'], b['...']) "
                         "or wrap the dataset so that it returns (inputs, targets)")
    try:
        inputs, targets = batch
    except (TypeError, ValueError):
        size = f" of {len(batch)}" if isinstance(batch, (tuple, list)) else ""
        raise ValueError(f"{source} must yield (inputs, targets) pairs, got a {type(batch).__name__}{size} ({where}); "
                         "pass batch_fn=lambda b: (inputs, targets) to pick them") from None
    if not (_tensors(inputs) and isinstance(targets, torch.Tensor)):
        raise ValueError(f"{source} must yield (inputs, targets) pairs: inputs a tensor (or a tuple, list or dict "
                         f"of tensors, for a model that takes several), targets a tensor; got "
                         f"({type(inputs).__name__}, {type(targets).__name__}) ({where}); a dataset of dicts needs "
                         "batch_fn, a collate_fn or a wrapper that returns (inputs, targets)")
    return inputs, targets


def _tensors(inputs: Any) -> bool:
    """Whether ``inputs`` is a tensor, or a (nested) tuple, list or dict whose leaves are all tensors."""
    if isinstance(inputs, torch.Tensor):
        return True
    if isinstance(inputs, Mapping):
        return bool(inputs) and all(_tensors(v) for v in inputs.values())
    if isinstance(inputs, (tuple, list)):
        return bool(inputs) and all(_tensors(v) for v in inputs)
    return False


def to_device(inputs: Any, device: str | torch.device) -> Any:
    """``inputs`` on ``device``: a tensor, or a tuple, list or dict of them (nested), rebuilt with moved leaves.

    What a loader of several inputs per sample yields (an image and a mask, a
    dict of token ids and attention masks); anything that is not a tensor is
    returned as it is.
    """
    if isinstance(inputs, torch.Tensor):
        return inputs.to(device)
    if isinstance(inputs, Mapping):
        return type(inputs)({key: to_device(value, device) for key, value in inputs.items()})
    if isinstance(inputs, tuple) and hasattr(inputs, "_fields"):  # a namedtuple
        return type(inputs)(*(to_device(value, device) for value in inputs))
    if isinstance(inputs, (tuple, list)):
        return type(inputs)(to_device(value, device) for value in inputs)
    return inputs


@dataclass
class MixedPrecision:
    """How a training step computes: full precision, or autocast to ``dtype`` (with a ``GradScaler`` for float16).

    Build it with :func:`mixed_precision`. ``autocast()`` is the context for
    the forward pass and the loss, ``backward(loss)`` scales the loss when there
    is a scaler, ``step(optimizer)`` steps (through the scaler) and says
    whether the step was really taken: a ``GradScaler`` skips a step whose
    gradients hold inf or NaN (and lowers its scale).
    """

    device_type: str = "cpu"
    dtype: torch.dtype | None = None
    scaler: torch.amp.GradScaler | None = None

    def autocast(self) -> AbstractContextManager:
        """``torch.autocast`` to :attr:`dtype`; a context that does nothing in full precision."""
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        """``loss.backward()``, on the scaled loss when there is a scaler."""
        (loss if self.scaler is None else self.scaler.scale(loss)).backward()

    def step(self, optimizer: Optimizer) -> bool:
        """``optimizer.step()`` (through the scaler, then ``scaler.update()``); ``False`` if the scaler skipped it."""
        if self.scaler is None:
            optimizer.step()
            return True
        scale = self.scaler.get_scale()
        self.scaler.step(optimizer)
        self.scaler.update()
        return self.scaler.get_scale() >= scale  # a skipped step backs the scale off


def mixed_precision(device: str | torch.device, enabled: bool = True) -> MixedPrecision:
    """The mixed precision PyTorch recommends on ``device``, or full precision when not ``enabled``.

    CUDA: float16 autocast with a fresh ``torch.amp.GradScaler`` (float16's
    range is small: without scaling, small gradients underflow to 0). Any
    other device (CPU, MPS): bfloat16 autocast, which has float32's range, so
    no scaler.
    """
    if not enabled:
        return MixedPrecision()
    kind = torch.device(device).type
    if kind == "cuda":
        return MixedPrecision(kind, torch.float16, torch.amp.GradScaler("cuda"))
    return MixedPrecision(kind, torch.bfloat16, None)


_FULL_PRECISION = MixedPrecision()


def backward_pass(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    loss_fn: LossFn,
    *,
    weight: float = 1.0,
    before_update: Callable[[torch.Tensor, torch.Tensor], None] | None = None,
    precision: MixedPrecision | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward, loss and backward of one batch, adding ``weight`` x its gradient to ``.grad``.

    Returns ``(loss, outputs)``.

    The part of :func:`train_step` between ``zero_grad()`` and ``step()``,
    on its own so that gradients of several batches can be accumulated
    before one step (``weight`` = the batch's share of the samples of that
    step). ``loss`` is the unweighted loss of this batch.

    Raises:
        ValueError: ``loss_fn`` returned more than one number (``reduction="none"``),
            or failed on a model output that is not ``(batch, classes)``.
    """
    precision = precision or _FULL_PRECISION
    with precision.autocast():
        outputs = model(inputs)
        loss = _loss(loss_fn, outputs, targets)
    if loss.dim() != 0:
        raise ValueError(f"loss_fn must return one number per batch (reduction 'mean' or 'sum'), "
                         f"got a tensor of shape {tuple(loss.shape)}")
    if before_update is not None:
        before_update(loss, outputs)
    precision.backward(loss if weight == 1 else loss * weight)
    return loss, outputs


@dataclass
class StepResult:
    """What :func:`optimizer_step` did: per batch its loss, outputs and sample count, and whether the step was taken."""

    losses: list[torch.Tensor]
    """Each batch's loss as ``loss_fn`` returned it (detached, unweighted)."""
    outputs: list[Any]
    """Each batch's model outputs (detached)."""
    counts: list[int]
    """Each batch's number of samples (``len(targets)``)."""
    taken: bool
    """``False`` when a ``GradScaler`` skipped the update (inf or NaN gradients)."""

    @property
    def samples(self) -> int:
        """Samples in the step, over all its batches."""
        return sum(self.counts)


def optimizer_step(
    model: nn.Module,
    optimizer: Optimizer,
    batches: Sequence[tuple[Any, torch.Tensor]],
    loss_fn: LossFn,
    *,
    precision: MixedPrecision | None = None,
    before_update: Callable[[int, torch.Tensor, Any], None] | None = None,
) -> StepResult:
    """One optimizer step over one or several batches, whose gradients are accumulated.

    ``zero_grad()``; for each ``(inputs, targets)`` of ``batches``: forward,
    loss, backward with the batch weighted by its share of the step's samples
    (:func:`backward_pass`); then ``optimizer.step()`` through ``precision``.
    For a ``loss_fn`` that averages over the batch (``reduction="mean"``), one
    step over ``k`` batches of ``B`` samples is one step over one batch of
    ``kB``. A model with ``no_sync()`` (``DistributedDataParallel``) skips the
    gradient all-reduce for every batch but the last: one all-reduce per step,
    of the accumulated gradients. ``before_update(j, loss, outputs)`` runs for
    batch ``j`` between its loss and its backward pass (``fit`` stops there on
    a NaN loss, before it reaches the weights). Inputs must already be on the
    model's device (:func:`to_device`).

    Raises:
        ValueError: no batches, an empty batch, or a ``loss_fn`` that returned
            more than one number.
    """
    if not batches:
        raise ValueError("optimizer_step needs at least one (inputs, targets) batch, got none")
    counts = [len(targets) for _, targets in batches]
    if 0 in counts:
        raise ValueError(f"batch {counts.index(0)} of the step is empty: a mean loss over no samples is NaN; "
                         "check the sampler and the dataset")
    total = sum(counts)
    precision = precision or _FULL_PRECISION
    no_sync = getattr(model, "no_sync", None)
    optimizer.zero_grad()
    losses, outputs = [], []
    for j, ((inputs, targets), count) in enumerate(zip(batches, counts)):
        hook = None if before_update is None else (lambda loss, out, j=j: before_update(j, loss, out))
        accumulating = callable(no_sync) and j < len(batches) - 1
        with no_sync() if accumulating else nullcontext():
            loss, out = backward_pass(model, inputs, targets, loss_fn, weight=count / total, before_update=hook,
                                      precision=precision)
        losses.append(loss.detach())
        outputs.append(out.detach() if isinstance(out, torch.Tensor) else out)
    return StepResult(losses, outputs, counts, precision.step(optimizer))


def train_step(
    model: nn.Module,
    optimizer: Optimizer,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    loss_fn: LossFn,
    *,
    before_update: Callable[[torch.Tensor, torch.Tensor], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on one batch, the five lines every training loop has; returns ``(loss, outputs)``.

    ``optimizer.zero_grad()``, ``outputs = model(inputs)``, ``loss = loss_fn(outputs, targets)``,
    ``loss.backward()``, ``optimizer.step()``. ``before_update(loss, outputs)``
    runs between the loss and the backward pass. :func:`optimizer_step` is the
    same over several accumulated batches, with mixed precision.

    Raises:
        ValueError: ``loss_fn`` returned more than one number (``reduction="none"``).
    """
    optimizer.zero_grad()
    loss, outputs = backward_pass(model, inputs, targets, loss_fn, before_update=before_update)
    optimizer.step()
    return loss, outputs



# --------------------------------------------------------------------------- per-batch arithmetic
def _loss_total(loss_fn: LossFn, loss: torch.Tensor, count: int) -> float:
    """The batch's summed loss, whatever ``loss_fn``'s ``reduction`` ("mean", "sum" or "none")."""
    if loss.dim() > 0:  # reduction="none": one loss per sample
        return loss.sum().item()
    if getattr(loss_fn, "reduction", "mean") == "sum":
        return loss.item()
    return loss.item() * count


def _loss(loss_fn: LossFn, outputs: Any, targets: torch.Tensor) -> torch.Tensor:
    """``loss_fn(outputs, targets)``; if that fails on outputs that are not ``(batch, classes)``, say so.

    A model that returns feature maps (``nn.ReLU()``, a conv layer) or a
    tuple makes ``CrossEntropyLoss`` speak of "spatial targets"; the learner
    needs to hear that the model's output has the wrong shape. Anything else
    (a 2-D output, a loss that works) is left as it is.
    """
    try:
        return loss_fn(outputs, targets)
    except (RuntimeError, ValueError, IndexError, TypeError) as err:
        if isinstance(outputs, torch.Tensor) and outputs.dim() == 2:
            raise
        got = (f"a tensor of shape {tuple(outputs.shape)}" if isinstance(outputs, torch.Tensor)
               else f"a {type(outputs).__name__}")
        said = (str(err).strip().splitlines() or [""])[0][:200]
        raise ValueError(f"the model's output must be (batch, classes) logits, got {got} (targets: shape "
                         f"{tuple(targets.shape)}), and loss_fn cannot take it ({said}); end the model in a "
                         "layer with one output per class, e.g. nn.Flatten() + nn.Linear(features, classes)"
                         ) from err


def _correct(outputs: torch.Tensor, targets: torch.Tensor) -> int:
    """How many predictions are right: class indices ``(B,)``, or class probabilities
    ``(B, classes)`` (one-hot, smoothed) compared with their most likely class.
    """
    if targets.dim() == 1 and not targets.is_floating_point():
        return (outputs.argmax(1) == targets).sum().item()
    if targets.is_floating_point() and targets.shape == outputs.shape:
        rows = targets.detach().sum(1)
        if bool((targets < 0).any()) or not torch.allclose(rows, torch.ones_like(rows), atol=1e-3):
            i = int(((targets < 0).any(1) | ~torch.isclose(rows, torch.ones_like(rows), atol=1e-3)).nonzero()[0])
            raise ValueError(
                f"float targets shaped like the outputs are read as class probabilities, but row {i} "
                f"({[round(v, 3) for v in targets[i].tolist()[:6]]}) has negative values or does not sum to 1 "
                f"(sum {float(rows[i]):.3g}). fit measures accuracy for one class per sample: pass class indices, "
                "one-hot or smoothed labels; multi-label or regression targets need a loop of your own")
        return (outputs.argmax(1) == targets.argmax(1)).sum().item()
    raise ValueError(
        f"targets must be class indices (int, shape (B,)) or class probabilities shaped like the "
        f"outputs {tuple(outputs.shape)}; got {targets.dtype} of shape {tuple(targets.shape)}"
    )


def _nonfinite_error(value: float, where: str, inputs, targets, outputs, model: nn.Module,
                     lr: float | None) -> FloatingPointError:
    """Say which of data, parameters, outputs or loss function made the loss NaN/inf."""
    def bad(t):
        if isinstance(t, Mapping):
            return any(bad(v) for v in t.values())
        if isinstance(t, (tuple, list)):
            return any(bad(v) for v in t)
        return isinstance(t, torch.Tensor) and t.is_floating_point() and not torch.isfinite(t).all()

    lr_hint = f"the learning rate ({lr:g}) is probably too high" if lr is not None else "training diverged"
    if bad(inputs) or bad(targets):
        cause = "the batch's inputs or targets contain NaN or inf: check the data (and its transform)"
    elif any(bad(p) for p in model.parameters()):
        cause = f"the model's parameters are already NaN or inf (an earlier update diverged): {lr_hint}"
    elif bad(outputs):
        cause = f"the model's outputs overflowed although inputs and parameters are finite: {lr_hint}"
    else:
        cause = ("inputs, parameters and outputs are finite, so loss_fn produced it: "
                 "check loss_fn and the targets (e.g. a label out of range, log of 0)")
    return FloatingPointError(f"loss became {value} in {where}; {cause}")


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: LossFn | None = None,
    device: str | torch.device | None = None,
    *,
    batch_fn: BatchFn | None = None,
    accuracy: bool = True,
    amp: bool = False,
    name: str = "loader",
) -> tuple[float, float]:
    """Mean loss per sample and accuracy (0..1) of ``model`` over ``loader``.

    The model is put in eval mode for the pass; afterwards every module has
    its own train/eval flag back (a BatchNorm the caller froze stays frozen,
    a Dropout kept active for MC-dropout is active again). ``device`` defaults to where the model's parameters are.
    ``loss_fn`` may use any ``reduction`` (``"mean"``, ``"sum"``, ``"none"``):
    the result is always the mean over samples. Targets are class indices
    ``(B,)`` or class probabilities ``(B, classes)`` (e.g. one-hot), whose
    most likely class counts as the label for accuracy.

    Keyword-only options (for loaders and losses beyond classification):
    ``batch_fn(batch) -> (inputs, targets)`` unpacks batches that are not
    ``(inputs, targets)`` pairs (see :func:`unpack_batch`); ``accuracy=False``
    skips the accuracy (returned as ``nan``), so targets may be anything
    ``loss_fn`` takes; ``amp=True`` runs the forward pass under autocast
    (see :func:`mixed_precision`); ``name`` is what the messages call the
    loader (fit passes ``"valid_loader"``, lr_find ``"val_loader"``).

    Raises:
        ValueError: an empty loader, targets of another shape, or a model
            whose output is not ``(batch, classes)`` and that ``loss_fn`` cannot take.
        FloatingPointError: a batch's loss is NaN or inf; says whether the
            data, the parameters, the outputs or the loss function caused it.
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    if device is None:
        device = model_device(model)
    precision = mixed_precision(device, amp)
    total_loss, correct, count = 0.0, 0, 0
    with eval_mode(model):
        for i, batch in enumerate(loader):
            inputs, targets = unpack_batch(batch, batch_fn, where=f"batch {i}")
            inputs, targets = to_device(inputs, device), targets.to(device)
            with precision.autocast():
                outputs = model(inputs)
                batch_loss = _loss_total(loss_fn, _loss(loss_fn, outputs, targets), len(targets))
            if not math.isfinite(batch_loss):
                raise _nonfinite_error(batch_loss, f"evaluation, batch {i}", inputs, targets, outputs,
                                       model, None)
            total_loss += batch_loss
            correct += _correct(outputs, targets) if accuracy else 0
            count += len(targets)
    if _distributed_sampler(loader):  # each process evaluated its share: add them up
        total_loss, correct, count = all_reduce_sum([total_loss, correct, count], torch.device(device))
    if count == 0:
        raise ValueError(f"{name} yielded no samples; is the dataset empty?")
    return total_loss / count, correct / count if accuracy else math.nan


def _distributed_sampler(loader) -> bool:
    from torch.utils.data.distributed import DistributedSampler

    return world_size() > 1 and isinstance(getattr(loader, "sampler", None), DistributedSampler)
