"""One training loop for every lesson that trains.

:func:`fit` trains a classifier for some epochs and returns a :class:`History`.
Around its small core (one pass over the training data, then validation) sit
a few optional helpers: an LR scheduler (stepped per epoch or per batch;
``ReduceLROnPlateau`` gets the validation loss), TensorBoard logging (per
epoch, or per batch with validation on the same step axis), your own
callbacks (``on_batch_end``, ``on_epoch_end``) and a progress bar.

The progress bar is tqdm's notebook-aware bar. Turn it off with
``progress=False`` or for a whole session with the environment variable
``CAMP_PROGRESS=0`` (the test suite does).
"""
from __future__ import annotations

import inspect
import math
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torch.utils.data import DataLoader, IterableDataset

from .checks import check_choice, check_int, env_flag
from .distributed import (
    all_reduce_sum,
    check_distributed_loader,
    ensure_process_group,
    is_main_process,
    world_size,
    wrap_model,
)
from .state import deterministic_kernels, seeded
from .steps import (  # the step fit and lr_find share; importable from here as before
    BatchFn,
    LossFn,
    MixedPrecision,
    _correct,
    _loss_total,
    _nonfinite_error,
    backward_pass,
    evaluate,
    mixed_precision,
    optimizer_step,
    to_device,
    train_step,
    unpack_batch,
)

__all__ = ["History", "BatchEnd", "pick_device", "evaluate", "fit", "describe_scheduler", "train_step",
           "backward_pass", "unpack_batch", "MixedPrecision", "mixed_precision", "progress_enabled"]


@dataclass
class History:
    """Per-epoch record of a :func:`fit` run; every list has one entry per epoch.

    ``lr`` is the learning rate of the first parameter group *during* that epoch
    (``lrs`` has every group). ``valid_*`` lists are empty without a valid loader.
    ``step`` is the number of optimizer steps taken by the end of that epoch
    (``epoch * len(train_loader)``): the x-value at which per-batch logging
    (``log_interval="batch"``) puts that epoch's validation point.
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    valid_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    lrs: list[list[float]] = field(default_factory=list)
    step: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.epoch)

    def as_dict(self) -> dict[str, list]:
        """The history as a plain dict of lists (e.g. for ``pandas.DataFrame``)."""
        return asdict(self)


@dataclass
class BatchEnd:
    """What :func:`fit` passes to ``on_batch_end`` after each optimizer step.

    Steps count from 0: the first batch of the first epoch is ``step`` 0 and
    ``step = (epoch - 1) * batches + batch``. In the notebook loop's terms,
    with a 0-based epoch counter, that is ``epoch * len(loader) + i``: the
    number of optimizer steps taken *before* this batch's loss was computed.
    Epoch ``e``'s validation belongs at step ``e * batches``
    (:attr:`History.step`), after all of its steps.

    Attributes:
        step: global step, see above.
        epoch: 1-based epoch, as in :class:`History`.
        batch: 0-based index of the batch in its epoch.
        batches: batches per epoch (``len(train_loader)``).
        loss: this batch's mean loss (before the update).
        train_loss: running mean loss over this epoch so far, weighted by batch size.
        train_acc: running accuracy (0..1) over this epoch so far.
        lrs: learning rate of each parameter group used for this step.
        outputs: the model's outputs for the batch, detached ``(B, classes)``.
        targets: the batch's targets.
    """

    step: int
    epoch: int
    batch: int
    batches: int
    loss: float
    train_loss: float
    train_acc: float
    lrs: list[float]
    outputs: torch.Tensor
    targets: torch.Tensor

    @property
    def lr(self) -> float:
        """Learning rate of the first parameter group."""
        return self.lrs[0]


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """Return ``device`` if given, else CUDA, then Apple MPS, then CPU -- whichever is there first.

    Under torchrun with GPUs each process takes its own: ``cuda:$LOCAL_RANK``.
    """
    if device is not None:
        return torch.device(device)
    if torch.cuda.is_available():
        if world_size() > 1:  # torchrun: one GPU per process
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def progress_enabled(progress: bool | None = None) -> bool:
    """Whether to show progress bars: ``progress`` if given, else ``$CAMP_PROGRESS`` (default on).

    Raises:
        ValueError: ``$CAMP_PROGRESS`` is set to something other than an on/off word
            (see :func:`camp_utils.checks.env_flag`).
    """
    if progress is not None:
        return bool(progress)
    return env_flag("CAMP_PROGRESS", True)


# --------------------------------------------------------------------------- helpers around the loop
def _check_optimizer(optimizer: Any, model: nn.Module, loss_fn: LossFn) -> None:
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    own = {id(p) for p in model.parameters()}
    if isinstance(loss_fn, nn.Module):  # a loss with learnable parameters
        own |= {id(p) for p in loss_fn.parameters()}
    held = [p for group in optimizer.param_groups for p in group["params"]]
    foreign = sum(id(p) not in own for p in held)
    if foreign:
        raise ValueError(
            f"optimizer holds {foreign} of {len(held)} parameter tensors that are not this model's "
            "(built on another model?), so fit would not train this one; build it on this model, "
            "e.g. torch.optim.SGD(model.parameters(), lr=0.01)"
        )


def describe_scheduler(scheduler) -> str:
    """``"StepLR(step_size=4, gamma=0.1)"``: a scheduler's class and its settings, as one line.

    The settings are the plain values of its ``state_dict()`` (numbers, strings, lists of them)
    other than its progress (``last_epoch``, counters, the lrs it computed); ``None`` gives
    ``"no scheduler"``. Works for any ``LRScheduler`` and for ``ReduceLROnPlateau``.
    """
    if scheduler is None:
        return "no scheduler"
    progress = {"last_epoch", "_step_count", "_last_lr", "base_lrs", "best", "num_bad_epochs", "cooldown_counter",
                "last_lr", "_get_lr_called_within_step", "verbose", "eps", "mode_worse", "_is_initial",
                "_initial_step"}
    settings = []
    try:
        state = scheduler.state_dict()
    except Exception:  # a scheduler of one's own without a state: its class still says what it is
        state = {}
    for key, value in state.items():
        if isinstance(value, Counter):  # MultiStepLR's milestones
            value = sorted(value.elements())
        plain = isinstance(value, (int, float, str, bool)) or (
            isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value))
        if key.startswith("_") or key in progress or not plain:
            continue
        settings.append(f"{key}={value!r}")
    return f"{type(scheduler).__name__}({', '.join(settings)})"


class _TensorBoardLog:
    """fit's TensorBoard logging: ``Loss``/``Accuracy`` with ``add_scalars`` (sub-runs
    ``Loss_train``, ``Loss_valid``, ... share one chart), ``LearningRate``, histograms.
    """

    def __init__(self, writer, per_batch: bool, histograms: bool) -> None:
        self.writer, self.per_batch, self.histograms = writer, per_batch, histograms

    def _lrs(self, lrs: list[float], step: int) -> None:
        for i, lr in enumerate(lrs):
            self.writer.add_scalar("LearningRate" if len(lrs) == 1 else f"LearningRate/group{i}", lr, step)

    def scheduler(self, scheduler, interval: str) -> None:
        """Write which scheduler trained the run (TEXT tab, tag ``scheduler``): the run then says it itself."""
        self.writer.add_text("scheduler", describe_scheduler(scheduler) + f" · step() per {interval}", 0)

    def batch_end(self, b: BatchEnd) -> None:
        self.writer.add_scalars("Loss", {"train": b.train_loss}, b.step)
        self.writer.add_scalars("Accuracy", {"train": b.train_acc}, b.step)
        self._lrs(b.lrs, b.step)

    def epoch_end(self, model: nn.Module, history: History) -> None:
        step = history.step[-1] if self.per_batch else history.epoch[-1]
        loss, acc = {}, {}
        if not self.per_batch:
            loss["train"], acc["train"] = history.train_loss[-1], history.train_acc[-1]
            self._lrs(history.lrs[-1], step)
        if history.valid_loss:
            loss["valid"], acc["valid"] = history.valid_loss[-1], history.valid_acc[-1]
        if loss:
            self.writer.add_scalars("Loss", loss, step)
            self.writer.add_scalars("Accuracy", acc, step)
        if self.histograms:
            for name, param in model.named_parameters():
                self.writer.add_histogram(f"params/{name}", param.detach().cpu(), step)
                if param.grad is not None:
                    self.writer.add_histogram(f"grads/{name}", param.grad.detach().cpu(), step)
        self.writer.flush()


def _steps(loader: Any, accumulate: int) -> Any:
    """The loader's batches in groups of ``accumulate`` (the last group may be shorter), with their indices."""
    group: list[tuple[int, Any]] = []
    for i, batch in enumerate(loader):
        group.append((i, batch))
        if len(group) == accumulate:
            yield group
            group = []
    if group:
        yield group


def _train_epoch(
    model: nn.Module,
    optimizer: Optimizer,
    loader: DataLoader,
    *,
    loss_fn: LossFn,
    device: torch.device,
    epoch: int,
    batch_scheduler: Any | None,
    on_batch_end: Callable[[BatchEnd], None] | None,
    accumulate: int = 1,
    precision: MixedPrecision | None = None,
    batch_fn: BatchFn | None = None,
) -> tuple[float, float]:
    """One pass over ``loader``: the loop a learner writes by hand. Returns (mean loss, accuracy).

    Each optimizer step takes ``accumulate`` batches (:func:`~camp_utils.steps.optimizer_step`).
    A model in eval mode is put in train mode; a model already in train mode
    keeps its modules' own flags, so a BatchNorm the caller froze with
    ``model.bn.eval()`` stays frozen (``model.train()`` would unfreeze it).
    """
    if not model.training:
        model.train()
    steps = math.ceil(len(loader) / accumulate)
    total_loss, correct, count = 0.0, 0, 0
    for s, group in enumerate(_steps(loader, accumulate)):
        step = (epoch - 1) * steps + s
        batches = []
        for i, batch in group:
            inputs, targets = unpack_batch(batch, batch_fn, where=f"epoch {epoch}, batch {i}")
            batches.append((to_device(inputs, device), targets.to(device)))
        lrs = [group_["lr"] for group_ in optimizer.param_groups]
        totals: list[float] = []

        # Runs before each batch's backward pass, so a NaN loss stops fit before it reaches the weights.
        def stop_on_nan(j: int, loss: torch.Tensor, outputs: Any, totals: list[float] = totals,
                        batches: list = batches, indices: tuple = tuple(i for i, _ in group), step: int = step,
                        lr: float = lrs[0]) -> None:
            inputs, targets = batches[j]
            totals.append(_loss_total(loss_fn, loss, len(targets)))
            if not math.isfinite(totals[-1]):
                where = f"training, epoch {epoch}, batch {indices[j]} (step {step})"
                raise _nonfinite_error(totals[-1], where, inputs, targets, outputs, model, lr)

        done = optimizer_step(model, optimizer, batches, loss_fn, precision=precision, before_update=stop_on_nan)
        if batch_scheduler is not None:
            batch_scheduler.step()
        step_loss = sum(totals)
        total_loss += step_loss
        correct += sum(_correct(out, targets) for out, (_, targets) in zip(done.outputs, batches))
        count += done.samples
        if on_batch_end is not None:
            outputs = done.outputs[0] if len(batches) == 1 else torch.cat(done.outputs)
            targets = batches[0][1] if len(batches) == 1 else torch.cat([t for _, t in batches])
            on_batch_end(BatchEnd(step=step, epoch=epoch, batch=s, batches=steps,
                                  loss=step_loss / done.samples, train_loss=total_loss / count,
                                  train_acc=correct / count, lrs=lrs, outputs=outputs, targets=targets))
    if world_size() > 1:  # every process's History holds the global figures
        total_loss, correct, count = all_reduce_sum([total_loss, correct, count], torch.device(device))
    if count == 0:
        raise ValueError(f"train_loader yielded no samples in epoch {epoch}, although len(train_loader) is "
                         f"{len(loader)}: its length does not match what it yields (a __len__ larger than the data, "
                         "or a dataset, sampler or iterator that runs dry after one pass)")
    return total_loss / count, correct / count


# --------------------------------------------------------------------------- the loop
def _length(loader: Any, name: str) -> int:
    """``len(loader)``, or a ValueError that says why fit needs it and what was given instead."""
    try:
        return len(loader)
    except TypeError:
        pass
    if inspect.isgenerator(loader) or inspect.isasyncgen(loader):
        given = "a generator"
    elif isinstance(loader, DataLoader):
        kind = "an IterableDataset" if isinstance(loader.dataset, IterableDataset) else "a dataset"
        given = f"a DataLoader over {type(loader.dataset).__name__}, {kind} without __len__"
    else:
        given = f"a {type(loader).__name__} without len()"
    raise ValueError(f"{name} must have a length: a DataLoader over a map-style dataset (one with __len__ and "
                     f"__getitem__, such as TensorDataset), got {given}; fit counts the batches of an epoch "
                     f"before it starts (steps, schedules, logging). Give the dataset a __len__, or pass "
                     f"DataLoader(dataset, ...) instead of an iterator")


def fit(
    model: nn.Module,
    optimizer: Optimizer,
    train_loader: DataLoader,
    valid_loader: DataLoader | None = None,
    *,
    epochs: int,
    scheduler: Any | None = None,
    scheduler_interval: str = "epoch",
    loss_fn: LossFn | None = None,
    writer: Any | None = None,
    log_interval: str = "epoch",
    log_histograms: bool = True,
    device: str | torch.device | None = None,
    seed: int = 0,
    deterministic: bool = True,
    progress: bool | None = None,
    on_batch_end: Callable[[BatchEnd], None] | None = None,
    on_epoch_end: Callable[[int, nn.Module, History], None] | None = None,
    accumulate: int = 1,
    amp: bool = False,
    batch_fn: BatchFn | None = None,
) -> History:
    """Train ``model`` and return its per-epoch :class:`History`.

    Each epoch: one pass over ``train_loader`` (``optimizer.step()`` per batch),
    then ``valid_loader`` is evaluated, then the scheduler steps (for
    ``scheduler_interval="epoch"``). ``ReduceLROnPlateau`` is stepped with the
    validation loss (the training loss when there is no valid loader).

    Under torchrun (a process group is initialised, or ``$WORLD_SIZE > 1``;
    see :mod:`camp_utils.distributed`) the same call trains with PyTorch's
    ``DistributedDataParallel``: ``model`` is wrapped (or may come wrapped);
    ``train_loader`` must use a ``DistributedSampler``, whose ``set_epoch``
    is called every epoch; losses and accuracies are summed over all
    processes, so every process's History holds the global figures (a valid
    loader with a ``DistributedSampler`` is evaluated in shares and summed;
    one without is evaluated whole on every process); only rank 0 writes to
    ``writer`` and shows a progress bar; schedulers step identically
    everywhere. Per-batch callbacks see their own process's batch.

    Args:
        model: a classifier returning logits ``(B, classes)``; moved to ``device``.
        optimizer: built on ``model``'s parameters (and ``loss_fn``'s, if it has any).
        train_loader: yields ``(inputs, targets)`` batches; targets are class
            indices ``(B,)`` or class probabilities ``(B, classes)``.
        valid_loader: the same for the validation data (evaluated after every epoch).
        epochs: number of passes over the training data (>= 1).
        scheduler: any ``torch.optim.lr_scheduler`` object built on ``optimizer``.
        scheduler_interval: ``"epoch"`` or ``"batch"`` (per-iteration schedules).
        loss_fn: default ``nn.CrossEntropyLoss()``; reduction ``"mean"`` or ``"sum"``
            (losses in the History are means per sample either way).
        writer: a ``SummaryWriter``; if given, fit logs ``Loss`` and ``Accuracy``
            with ``add_scalars`` (sub-runs ``Loss_train``, ``Loss_valid``, ...
            so train and valid share one chart), ``LearningRate``, and if
            ``log_histograms`` the histograms ``params/<name>`` and
            ``grads/<name>`` (gradients of the epoch's last batch), per epoch.
        log_histograms: with a ``writer``, also log the weights' and gradients'
            histograms (``True``, the default); ``False`` for scalars only.
        log_interval: ``"epoch"``: the train and valid points at step =
            epoch (1, 2, ...). ``"batch"``: train loss and accuracy (running
            means over the epoch so far) and the learning rate after every
            batch at its global step (see :class:`BatchEnd`), the valid
            point and histograms at the epoch's last step count
            ``epoch * len(train_loader)`` -- one step axis for both curves.
        device: default: :func:`pick_device`.
        seed: seeds the random state used inside (shuffling, dropout); the
            caller's global RNG state is restored afterwards.
        deterministic: use cuDNN's deterministic kernels (and no autotuning)
            inside fit, so the same ``seed`` gives the same History on a GPU
            too; the caller's ``torch.backends.cudnn`` settings are restored
            afterwards. No effect on the CPU.
        progress: show a progress bar; default from ``$CAMP_PROGRESS`` (on).
        on_batch_end: called as ``on_batch_end(b)`` with a :class:`BatchEnd`
            after each optimizer step (and the per-batch scheduler step):
            ``b.step``, ``b.epoch``, ``b.batch``, ``b.loss``, running
            ``b.train_loss`` / ``b.train_acc``, ``b.lrs``, ``b.outputs``, ``b.targets``.
        on_epoch_end: called as ``on_epoch_end(epoch, model, history)`` after
            each epoch's validation and before the scheduler steps, with the
            gradients of the epoch's last batch still in ``param.grad`` --
            the place for your own logging.
        accumulate: batches per optimizer step (gradient accumulation, as in
            :func:`~camp_utils.schedules.lr_find`): each step sums the gradients
            of ``accumulate`` batches weighted by their share of the step's
            samples, so with a mean loss it is one step over a batch that many
            times larger (under DDP, one all-reduce per step). Steps, per-batch
            schedulers, ``on_batch_end`` and per-batch logging count optimizer
            steps: ``ceil(len(train_loader) / accumulate)`` per epoch.
        amp: mixed precision (:func:`~camp_utils.steps.mixed_precision`):
            float16 with a ``GradScaler`` on CUDA, bfloat16 elsewhere; the
            validation pass runs under the same autocast.
        batch_fn: ``batch_fn(batch) -> (inputs, targets)`` for loaders whose
            batches are not ``(inputs, targets)`` pairs (dicts, longer tuples);
            ``inputs`` may be a tensor or a tuple, list or dict of tensors.

    Returns:
        The :class:`History` (also useful for plotting inline).

    Raises:
        ValueError: for bad ``epochs``, ``seed``, ``scheduler_interval`` or
            ``log_interval``, an optimizer or scheduler not built for this
            model, a ``train_loader`` without a length (a generator, an
            ``IterableDataset`` without ``__len__``) or one that yields
            nothing, an empty loader, targets of an unknown shape, or model
            outputs that are not ``(batch, classes)`` logits.
        FloatingPointError: at the batch whose loss is NaN or inf, before the
            update; says whether the data, the parameters (learning rate),
            the outputs or the loss function caused it.
    """
    epochs = check_int(epochs, "epochs", minimum=1, what="passes over the training data")
    seed = check_int(seed, "seed")
    accumulate = check_int(accumulate, "accumulate", minimum=1, what="batches per optimizer step")
    if batch_fn is not None and not callable(batch_fn):
        raise ValueError(f"batch_fn must be a function batch -> (inputs, targets), got {type(batch_fn).__name__}")
    scheduler_interval = check_choice(scheduler_interval, "scheduler_interval", ("epoch", "batch"))
    log_interval = check_choice(log_interval, "log_interval", ("epoch", "batch"))
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    _check_optimizer(optimizer, model, loss_fn)
    if scheduler is not None and getattr(scheduler, "optimizer", None) is not optimizer:
        raise ValueError("scheduler was built on a different optimizer than the one passed to fit")
    plateau = isinstance(scheduler, ReduceLROnPlateau)
    if plateau and scheduler_interval == "batch":
        raise ValueError("ReduceLROnPlateau needs a metric per epoch; use scheduler_interval='epoch'")
    if _length(train_loader, "train_loader") == 0:
        raise ValueError("train_loader has no batches; is the dataset empty?")

    from tqdm.auto import tqdm

    device = pick_device(device)
    world = ensure_process_group(device)
    if world > 1:  # torchrun: DDP, a distributed sampler, global figures, one writer (rank 0)
        check_distributed_loader(train_loader, "train_loader")
        trained = wrap_model(model, device)
        main = is_main_process()
    else:
        model.to(device)
        trained, main = model, True
    history = History()
    log = _TensorBoardLog(writer, log_interval == "batch", log_histograms) if writer is not None and main else None
    if log is not None:
        log.scheduler(scheduler, scheduler_interval)
    batch_callbacks = [f for f in (log.batch_end if log and log.per_batch else None, on_batch_end) if f]

    def after_batch(b: BatchEnd) -> None:
        for callback in batch_callbacks:
            callback(b)

    batch_scheduler = scheduler if scheduler_interval == "batch" else None
    precision = mixed_precision(device, amp)
    steps_per_epoch = math.ceil(len(train_loader) / accumulate)
    with deterministic_kernels(deterministic), seeded(seed, device):
        bar = tqdm(range(1, epochs + 1), desc="epochs", unit="epoch",
                   disable=not progress_enabled(progress) or not main)
        sampler = getattr(train_loader, "sampler", None)
        for epoch in bar:
            if hasattr(sampler, "set_epoch"):  # DistributedSampler: another shuffle every epoch
                sampler.set_epoch(epoch - 1)
            lrs = [group["lr"] for group in optimizer.param_groups]
            train_loss, train_acc = _train_epoch(trained, optimizer, train_loader, loss_fn=loss_fn, device=device,
                                                 epoch=epoch, batch_scheduler=batch_scheduler,
                                                 on_batch_end=after_batch if batch_callbacks else None,
                                                 accumulate=accumulate, precision=precision, batch_fn=batch_fn)
            history.epoch.append(epoch)
            history.step.append(epoch * steps_per_epoch)
            history.train_loss.append(train_loss)
            history.train_acc.append(train_acc)
            history.lr.append(lrs[0])
            history.lrs.append(lrs)
            if valid_loader is not None:
                try:
                    valid_loss, valid_acc = evaluate(model, valid_loader, loss_fn, device, batch_fn=batch_fn, amp=amp,
                                                     name="valid_loader")
                except FloatingPointError as err:
                    raise FloatingPointError(f"validation after epoch {epoch}: {err}") from None
                history.valid_loss.append(valid_loss)
                history.valid_acc.append(valid_acc)
            if log is not None:
                log.epoch_end(model, history)
            if on_epoch_end is not None:
                on_epoch_end(epoch, model, history)
            if scheduler is not None and scheduler_interval == "epoch":
                if plateau:
                    scheduler.step(history.valid_loss[-1] if valid_loader is not None else history.train_loss[-1])
                else:
                    scheduler.step()
            shown = {"loss": f"{train_loss:.3f}", "acc": f"{train_acc:.3f}"}
            if valid_loader is not None:
                shown["valid_acc"] = f"{history.valid_acc[-1]:.3f}"
            bar.set_postfix(shown)
        bar.close()
    return history
