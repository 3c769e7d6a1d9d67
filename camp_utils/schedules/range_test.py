"""The LR range test: sweep the lr, record the loss, suggest a robust point, give the state back.

Like torch-lr-finder, :func:`lr_find` offers Smith's linear sweep and
validation-loss mode, gradient accumulation, mixed precision and a hook on the
batch (``batch_fn``, for loaders of dicts); its training step is the one
:func:`camp_utils.train.fit` uses (:func:`camp_utils.steps.optimizer_step`).
What it adds: repeated sweeps with a mean curve, a suggestion read where two
thirds of the fall are done (robust where the steepest slope is not), four
rules side by side with a warning when they disagree by more than a decade,
and the model, optimizer and random state given back in place.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim import Optimizer

from ..checks import check_choice, check_int, check_number
from ..distributed import all_reduce_sum, ensure_process_group, wrap_model
from ..state import model_device, preserved, seeded
from ..steps import BatchFn, MixedPrecision, evaluate, mixed_precision, optimizer_step, to_device, unpack_batch
from .trace import _lr_value

__all__ = ["LRFindResult", "lr_find", "default_rules", "SuggestionRule"]

_MAX_SKIPPED_IN_A_ROW = 25  # a GradScaler halves its scale per skip: 2**-25 of it is far below any useful scale


@dataclass
class LRFindResult:
    """What :func:`lr_find` measured.

    Attributes:
        lrs: the lr of the first parameter group at each tried step.
        losses: the raw mini-batch loss at each step; with several repeats,
            the mean over the repeats of the loss at that step.
        smoothed: the bias-corrected exponential moving average of ``losses``.
        suggestion: the smallest tried lr at which the smoothed loss has made
            ``fall`` (default two thirds) of its way down from where it started
            to its lowest point; one of ``lrs``.
        min_loss_lr: the lr of the lowest smoothed loss.
        steepest_lr: the lr where the smoothed loss falls fastest against
            log lr (the older rule; kept to compare: it is far less stable).
        diverged: ``True`` if the test stopped early because the loss blew up.
        runs: the raw losses of each repeat (``runs[r][i]`` at ``lrs[i]``).
        suggestions: each repeat's own suggestion by the same rule, so the
            spread of a single test can be seen.
        run_rules: each repeat's own answer by every rule (``run_rules[r]["steepest"]``):
            how far one test alone would wander under each rule.
        rules: the lr each suggestion rule reads off the mean smoothed curve:
            ``"fall"`` (= ``suggestion``), ``"steepest"`` (= ``steepest_lr``),
            ``"valley"`` (fastai's default rule) and ``"minimum/10"``
            (``min_loss_lr / 10``, fastai's older rule of thumb). When the
            largest is more than 10 times the smallest, :func:`lr_find` warns.
        skipped: optimizer steps the ``GradScaler`` skipped (inf/NaN
            gradients under float16, all repeats together); they did not
            advance the lr.
    """

    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    suggestion: float = float("nan")
    min_loss_lr: float = float("nan")
    steepest_lr: float = float("nan")
    diverged: bool = False
    runs: list[list[float]] = field(default_factory=list)
    suggestions: list[float] = field(default_factory=list)
    run_rules: list[dict[str, float]] = field(default_factory=list)
    rules: dict[str, float] = field(default_factory=dict)
    skipped: int = 0


def _smooth(losses: Sequence[float], smooth: float) -> list[float]:
    """Bias-corrected exponential moving average: ``avg_i / (1 - smooth^(i+1))``."""
    average, out = 0.0, []
    for i, value in enumerate(losses):
        average = smooth * average + (1 - smooth) * value
        out.append(average / (1 - smooth ** (i + 1)))
    return out


def _steepest(lrs: Sequence[float], smoothed: Sequence[float], skip_start: int) -> int:
    """Index of the steepest descent of ``smoothed`` against log10(lr), before its minimum.

    The slope at point ``i`` is measured between the points ``k`` before and
    after it (``k`` = 1/20 of the points, at least 1); the first
    ``skip_start`` points are ignored.
    """
    y = np.asarray(smoothed, dtype=float)
    x = np.log10(np.asarray(lrs, dtype=float))
    end = int(np.argmin(y)) + 1
    start = min(skip_start, max(0, end - 2))
    if end - start < 2:
        return max(0, end - 1)
    k = max(1, len(y) // 20)
    best, best_slope = end - 1, math.inf
    for i in range(start, end):
        a, b = max(start, i - k), min(end - 1, i + k)
        if b > a:
            slope = (y[b] - y[a]) / (x[b] - x[a])
            if slope < best_slope:
                best, best_slope = i, slope
    return best


def _fallen(smoothed: Sequence[float], fall: float, skip_start: int) -> int:
    """Index of the first point at which ``smoothed`` has made ``fall`` of its way down.

    "Its way down" runs from the start level (the mean of the first
    ``skip_start`` points, at least one) to the lowest point. A level crossing
    depends on the whole curve, not on the slope between a few noisy points,
    which is why it moves far less from run to run than the steepest descent.
    """
    y = np.asarray(smoothed, dtype=float)
    low = int(np.argmin(y))
    start = float(np.mean(y[: max(1, min(skip_start, low + 1))]))
    target = start - fall * (start - y[low])
    below = np.nonzero(y[: low + 1] <= target)[0]
    return int(below[0]) if len(below) else low


def _valley(smoothed: Sequence[float]) -> int:
    """Index that fastai's "valley" rule picks: part-way down the longest descent of ``smoothed``.

    The longest descent is the longest strictly decreasing subsequence (its
    points need not be neighbours, so noise does not cut it short), found by
    the classic O(n^2) recurrence ``length[i] = 1 + max(length[j] : j < i,
    y[j] > y[i])``. Between its first point ``a`` and its last ``b`` the rule
    takes ``a + int(span/3) + int(span/6)`` with ``span = b - a``, about half-way.
    (fastai takes ``a = b - length``; following the subsequence back to its
    real first point is a small correction of ours.)
    """
    y = np.asarray(smoothed, dtype=float)
    length = np.ones(len(y), dtype=int)
    previous = np.full(len(y), -1)
    for i in range(1, len(y)):
        higher = np.nonzero(y[:i] > y[i])[0]
        if len(higher):
            j = higher[np.argmax(length[higher])]
            length[i], previous[i] = length[j] + 1, j
    end = start = int(np.argmax(length))
    while previous[start] >= 0:
        start = int(previous[start])
    span = end - start
    return start + int(span / 3) + int(span / 6)


SuggestionRule = Callable[[Sequence[float], Sequence[float]], float]
"""A suggestion rule: ``rule(lrs, smoothed) -> lr``, given the tried lrs and the smoothed losses (finite
points only, the blow-up point removed); returns the lr it suggests (usually one of ``lrs``)."""


def default_rules(fall: float = 2 / 3, skip_start: int = 10) -> dict[str, SuggestionRule]:
    """The four rules :func:`lr_find` reads off a curve unless given others, by name.

    ``"fall"``: the first lr at which the smoothed loss has made ``fall`` of its
    way down (the suggestion); ``"steepest"``: the steepest descent against
    log lr (fastai before 2.4, torch-lr-finder); ``"valley"``: fastai's
    default; ``"minimum/10"``: a tenth of the lowest-loss lr (the older rule
    of thumb). Each has the :data:`SuggestionRule` signature, so a rule of
    your own sits next to them: ``lr_find(..., rules={**default_rules(), "mine": my_rule})``.
    """
    return {
        "fall": lambda lrs, smoothed: lrs[_fallen(smoothed, fall, skip_start)],
        "steepest": lambda lrs, smoothed: lrs[_steepest(lrs, smoothed, skip_start)],
        "valley": lambda lrs, smoothed: lrs[_valley(smoothed)],
        "minimum/10": lambda lrs, smoothed: lrs[int(np.argmin(smoothed))] / 10,
    }


def _apply_rules(rules: dict[str, SuggestionRule], lrs: list[float], smoothed: list[float]) -> dict[str, float]:
    """Every rule's lr on one curve; a rule that fails or returns no positive number is named."""
    found = {}
    for name, rule in rules.items():
        try:
            value = float(rule(lrs, smoothed))
        except Exception as error:  # a rule of the caller's: say which one failed
            raise ValueError(f"lr_find: the suggestion rule {name!r} failed on the measured curve: "
                             f"{type(error).__name__}: {error}") from error
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"lr_find: the suggestion rule {name!r} returned {value}; a rule must return a "
                             "positive learning rate")
        found[name] = value
    return found


def _warn_if_rules_disagree(rules: dict[str, float]) -> None:
    low, high = min(rules.values()), max(rules.values())
    if high > 10 * low:
        shown = ", ".join(f"{name} {lr:.2g}" for name, lr in rules.items())
        warnings.warn(f"lr_find: the suggestion rules disagree by {high / low:.0f}x, more than a decade ({shown}); "
                      "the curve has no clear descent: try repeats=3 or more, a wider lr range or more steps",
                      UserWarning, stacklevel=3)


def _finite(inputs: Any) -> bool:
    """Whether every floating-point value of ``inputs`` (a tensor, or a tuple, list or dict of them) is finite."""
    if isinstance(inputs, torch.Tensor):
        return not inputs.is_floating_point() or bool(torch.isfinite(inputs).all())
    values = inputs.values() if isinstance(inputs, dict) else inputs if isinstance(inputs, (tuple, list)) else ()
    return all(_finite(value) for value in values)


def _cycle(loader: Iterable, name: str) -> Iterator[Any]:
    """The loader's batches again and again (a fresh pass whenever one ends)."""
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ValueError(f"{name} has no batches; is the dataset empty?")


def _usable(lrs: list[float], smoothed: list[float], diverged: bool) -> tuple[list[float], list[float]]:
    """The points a rule reads: finite ones, without the blow-up itself when the test diverged."""
    finite = [i for i, v in enumerate(smoothed) if math.isfinite(v)]
    lrs, smoothed = [lrs[i] for i in finite], [smoothed[i] for i in finite]
    if diverged and len(smoothed) > 1:  # the last point is the blow-up itself
        lrs, smoothed = lrs[:-1], smoothed[:-1]
    return lrs, smoothed


def lr_find(
    model: nn.Module,
    optimizer: Optimizer,
    loader: Iterable,
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    start_lr: float = 1e-6,
    end_lr: float = 10.0,
    num_iter: int = 100,
    smooth: float = 0.98,
    diverge: float = 4.0,
    skip_start: int = 10,
    fall: float = 2 / 3,
    repeats: int = 1,
    sweep: str = "exponential",
    seed: int = 0,
    device: str | torch.device | None = None,
    val_loader: Iterable | None = None,
    accumulate: int = 1,
    amp: bool = False,
    batch_fn: BatchFn | None = None,
    rules: dict[str, SuggestionRule] | None = None,
    suggest: str = "fall",
) -> LRFindResult:
    """The LR range test (Smith 2017, "Cyclical Learning Rates", section 3.3; fastai's ``lr_find``).

    Train for up to ``num_iter`` mini-batches while the lr grows exponentially
    from ``start_lr`` to ``end_lr`` (``lr_i = start_lr * (end_lr/start_lr)^(i/(num_iter-1))``),
    recording the loss of each batch. The loss is smoothed with a
    bias-corrected exponential moving average (weight ``smooth``), and the test
    stops when the smoothed loss exceeds ``diverge`` times its best value or
    becomes NaN/inf. With several parameter groups, every group's lr is
    scaled by the same factor (their ratios are kept); ``lrs`` reports the
    first group's.

    The suggestion is the smallest lr at which the smoothed loss has made
    ``fall`` of its way from its start level down to its lowest point: large
    enough that training clearly works, well below where it stops working.
    One sweep is noisy (another batch order or another CPU's rounding can
    move any rule's answer several-fold), so ``repeats > 1`` runs the sweep
    again from the same starting state with seeds ``seed, seed + 1, ...``
    and suggests from the mean loss curve; ``suggestions`` holds each
    repeat's own answer, to show the spread.

    Afterwards the model's parameters, buffers, gradients and every module's
    train/eval flag, the optimizer's state and lrs, and the caller's torch RNG
    are exactly as they were, restored in place (a reference to a tensor or to
    a dict of ``optimizer.param_groups`` taken before shows the old values
    after): the test only *measures*. During the test a
    model in train mode keeps its modules' own flags (a BatchNorm the caller
    froze stays frozen); a model in eval mode is put in train mode.

    Under torchrun (several processes) it is one sweep for all of them: the
    model is wrapped in ``DistributedDataParallel``, each step's loss is the
    mean over the processes, so every process records the same curve, stops
    at the same step and returns the same suggestion; each restores its own
    state. Give each process its own share of the data (a
    ``DistributedSampler``).

    Options (all off by default; the defaults give the classic test):

    * **Validation mode** (``val_loader``), Smith's original: after each step
      the recorded loss is the mean loss per sample over the whole
      ``val_loader`` (model in eval mode, no gradients, every module's own
      flag given back), not the training batch's. Smoother, but it costs a
      pass over ``val_loader`` per step: keep it small.
    * **Gradient accumulation** (``accumulate=k``): each optimizer step sums
      the gradients of ``k`` batches, each weighted by its share of the step's
      samples, and the recorded loss is their loss averaged the same way (a
      sample-weighted mean). For a ``loss_fn`` that averages over the batch
      (``reduction="mean"``, the default), one step over ``k`` batches of
      ``B`` is therefore one step over a batch of ``kB``. The lr advances
      once per optimizer step: ``num_iter`` steps draw ``k * num_iter`` batches.
    * **Mixed precision** (``amp=True``): the forward pass and the loss run
      under ``torch.autocast`` for the model's device -- float16 with a fresh
      ``torch.amp.GradScaler`` on CUDA, bfloat16 elsewhere (CPU). A step the
      scaler skips (inf/NaN gradients while it finds its scale) is not
      counted: it is retried at the same lr, so ``lrs[i]`` is always the lr of
      the ``i``-th step really taken (``skipped`` counts them; after
      25 skips in a row the test stops as diverged).
    * **Other batch layouts** (``batch_fn``): ``batch_fn(batch) -> (inputs,
      targets)`` unpacks every batch of ``loader`` and ``val_loader``, e.g.
      ``lambda b: (b["image"], b["label"])``. A hook on the *batch* rather
      than a ``loss_fn(model, batch)``: ``loss_fn`` keeps its meaning
      (``loss_fn(outputs, targets)``, as in :func:`camp_utils.train.fit`), the
      step stays the shared :func:`camp_utils.steps.optimizer_step`, and the
      test can still see the inputs (to blame NaN data) and count samples
      (to weight accumulated batches).
    * **Four rules side by side** (``result.rules``), and a ``UserWarning``
      when they disagree by more than a factor of 10: then no single number
      should be trusted. The rules are pluggable: ``rules=`` replaces them
      (each ``rule(lrs, smoothed) -> lr``, see :func:`default_rules`) and
      ``suggest=`` names the one that gives ``suggestion`` and ``suggestions``.

    Args:
        model: the network; its loss is ``loss_fn(model(inputs), targets)``.
        optimizer: built on ``model``'s parameters (its kind and settings,
            e.g. momentum, shape the curve).
        loader: yields ``(inputs, targets)``; cycled if shorter than ``num_iter``.
            Re-iterated for every repeat: a one-shot iterator serves one repeat.
        loss_fn: default ``nn.CrossEntropyLoss()``.
        start_lr: the first lr of the sweep, ``> 0``.
        end_lr: the last lr of the sweep, ``> start_lr``.
        num_iter: number of mini-batches (>= 2) if the loss does not diverge first.
        smooth: EMA weight in ``[0, 1)``; 0 means no smoothing.
        diverge: stop when the smoothed loss exceeds ``diverge`` x its best (> 1).
        skip_start: the first steps, averaged as the start level (and ignored
            by the steepest-descent rule).
        fall: the share of the fall, in ``(0, 1]``, at which to suggest.
        repeats: number of sweeps (>= 1) averaged.
        sweep: ``"exponential"`` (the formula above, fastai's) or ``"linear"``
            (``lr_i = start_lr + (end_lr - start_lr) * i / (num_iter - 1)``, as in
            Smith's paper; it spends most batches at large lrs).
        seed: seeds shuffling and dropout inside the test (repeat ``r`` uses
            ``seed + r``), and Python's ``random`` and numpy's global generator
            for augmentations that draw from them; the caller's states of all
            three are given back.
        device: default: where the model's parameters are.
        val_loader: if given, record the mean loss over it after each step (see above).
        accumulate: batches (>= 1) whose gradients make one optimizer step.
        amp: mixed precision (``True``/``False``; see above).
        batch_fn: turns each batch into ``(inputs, targets)`` (see above).
        rules: the suggestion rules by name; default :func:`default_rules` of ``fall`` and ``skip_start``.
        suggest: the rule whose lr is ``suggestion`` (and each repeat's ``suggestions``); default ``"fall"``.

    Returns:
        An :class:`LRFindResult`; ``suggestion`` is one of the tried lrs.

    Warns:
        UserWarning: the suggestion rules disagree by more than a decade.

    Raises:
        ValueError: bad ``start_lr``/``end_lr``, ``num_iter``, ``smooth``,
            ``diverge``, ``skip_start``, ``fall``, ``repeats``, ``accumulate``,
            ``amp``, ``batch_fn``; ``optimizer`` not an Optimizer or not holding
            ``model``'s parameters; ``loader`` or ``val_loader`` yields no
            batches, or batches that are not ``(inputs, targets)``.
        FloatingPointError: a loss is NaN/inf because of the data (NaN or inf
            inputs), or already at the first batch; a NaN/inf loss at a large
            lr after finite ones is the blow-up the test looks for (``diverged``).
    """
    sweep = _checked_sweep(model, optimizer, loader, loss_fn=loss_fn, start_lr=start_lr, end_lr=end_lr,
                           num_iter=num_iter, smooth=smooth, diverge=diverge, repeats=repeats, sweep=sweep,
                           seed=seed, device=device, val_loader=val_loader, accumulate=accumulate, amp=amp,
                           batch_fn=batch_fn)
    fall = check_number(fall, "fall", low=0, high=1, low_open=True, what="share of the fall")
    skip_start = check_int(skip_start, "skip_start", minimum=0)
    rules = _checked_rules(rules, suggest, fall, skip_start)

    runs, diverged, skipped = [], False, 0
    world = ensure_process_group(sweep.device)
    with preserved(model, optimizer):
        # under torchrun: DDP averages the gradients, so every process takes the same steps
        trained = wrap_model(model, sweep.device) if world > 1 else model
        if not model.training:
            model.train()
        for r in range(sweep.repeats):
            # every sweep from the state after DDP's start (its broadcast gives ranks > 0 rank 0's weights); the
            # outer snapshot, taken before it, gives every process its own state back: two snapshots, not one
            with preserved(model, optimizer), seeded(sweep.seed + r, sweep.device, host=True):
                losses, stopped, skips = _one_sweep(sweep, model, trained, optimizer, loader, world)
            runs.append(losses)
            diverged, skipped = diverged or stopped, skipped + skips

    result = _summarise(sweep, runs, diverged, skipped, rules, suggest, skip_start)
    _warn_if_rules_disagree(result.rules)
    return result


@dataclass(frozen=True)
class _Sweep:
    """The checked settings of one range test: which lr each step gets, and how a step is taken and recorded."""

    start_lr: float
    end_lr: float
    num_iter: int
    linear: bool
    smooth: float
    diverge: float
    repeats: int
    seed: int
    ratios: tuple[float, ...]  # each parameter group's lr over the first group's, kept during the sweep
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    device: torch.device
    val_loader: Iterable | None
    accumulate: int
    amp: bool
    batch_fn: BatchFn | None

    def lr_at(self, i: int) -> float:
        """The first group's lr at step ``i``."""
        if self.linear:
            return self.start_lr + (self.end_lr - self.start_lr) * i / (self.num_iter - 1)
        return self.start_lr * ((self.end_lr / self.start_lr) ** (1 / (self.num_iter - 1))) ** i

    def set_lr(self, optimizer: Optimizer, i: int) -> None:
        """Every group's lr for step ``i``, in place (a tensor lr is filled, as PyTorch's schedulers do)."""
        lr = self.lr_at(i)
        for group, ratio in zip(optimizer.param_groups, self.ratios):
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(lr * ratio)
            else:
                group["lr"] = lr * ratio


def _checked_sweep(model, optimizer, loader, *, loss_fn, start_lr, end_lr, num_iter, smooth, diverge, repeats,
                   sweep, seed, device, val_loader, accumulate, amp, batch_fn) -> _Sweep:
    """:func:`lr_find`'s arguments checked (each error names its argument), as a :class:`_Sweep`."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    owned = {id(p) for p in model.parameters()}
    if not any(id(p) in owned for g in optimizer.param_groups for p in g["params"]):
        raise ValueError("optimizer holds none of model's parameters; build it on model.parameters() "
                         "(the test would train another model and measure a flat curve)")
    start_lr = check_number(start_lr, "start_lr", positive=True)
    end_lr = check_number(end_lr, "end_lr", positive=True)
    if end_lr <= start_lr:
        raise ValueError(f"end_lr must be larger than start_lr, got start_lr={start_lr:g}, end_lr={end_lr:g}")
    num_iter = check_int(num_iter, "num_iter", minimum=2, what="mini-batches to try")
    smooth = check_number(smooth, "smooth", low=0, high=1, high_open=True, what="EMA weight")
    diverge = check_number(diverge, "diverge", low=1, low_open=True, what="stop at this multiple of the best loss")
    repeats = check_int(repeats, "repeats", minimum=1, what="sweeps to average")
    seed = check_int(seed, "seed")
    accumulate = check_int(accumulate, "accumulate", minimum=1, what="batches per optimizer step")
    amp = check_choice(amp, "amp", (False, True))
    if batch_fn is not None and not callable(batch_fn):
        raise ValueError(f"batch_fn must be a function batch -> (inputs, targets), got {type(batch_fn).__name__}")
    for name, given in (("loader", loader), ("val_loader", val_loader)):
        try:
            empty = given is not None and len(given) == 0  # type: ignore[arg-type]
        except TypeError:
            empty = False
        if empty:
            raise ValueError(f"{name} has no batches; is the dataset empty?")
    first_lr = _lr_value(optimizer.param_groups[0]["lr"])
    if len(optimizer.param_groups) > 1 and not first_lr > 0:
        raise ValueError(f"the optimizer's first parameter group has lr {first_lr:g}: lr_find sweeps every group "
                         "at its lr's ratio to the first group's, so the first group needs a positive lr")
    ratios = tuple(_lr_value(g["lr"]) / first_lr if first_lr else 1.0 for g in optimizer.param_groups)
    sweep = check_choice(sweep, "sweep", {"exponential": "fastai's, the default", "linear": "Smith's"})
    return _Sweep(start_lr=start_lr, end_lr=end_lr, num_iter=num_iter, linear=sweep == "linear", smooth=smooth,
                  diverge=diverge, repeats=repeats, seed=seed, ratios=ratios, loss_fn=loss_fn or nn.CrossEntropyLoss(),
                  device=torch.device(device) if device is not None else model_device(model),
                  val_loader=val_loader, accumulate=accumulate, amp=amp, batch_fn=batch_fn)


def _checked_rules(rules: dict[str, SuggestionRule] | None, suggest: str, fall: float,
                   skip_start: int) -> dict[str, SuggestionRule]:
    """The suggestion rules to apply (default: :func:`default_rules`), checked, with ``suggest`` among them."""
    if rules is None:
        rules = default_rules(fall, skip_start)
    elif not isinstance(rules, dict) or not rules or not all(callable(rule) for rule in rules.values()):
        raise ValueError("rules must be a non-empty dict of name -> rule(lrs, smoothed) -> lr, e.g. "
                         "{**default_rules(), 'mine': my_rule}; got " + repr(rules)[:80])
    if suggest not in rules:
        raise ValueError(f"suggest must name one of the rules, {sorted(rules)}; got {suggest!r}")
    return rules


def _validation_loss(sweep: _Sweep, model: nn.Module, i: int) -> float:
    """The mean loss per sample over ``sweep.val_loader`` after step ``i`` (``inf`` once it blows up)."""
    try:
        return evaluate(model, sweep.val_loader, sweep.loss_fn, sweep.device, batch_fn=sweep.batch_fn,
                        accuracy=False, amp=sweep.amp, name="val_loader")[0]
    except FloatingPointError as err:
        if i == 0:
            raise FloatingPointError(f"lr_find: the validation loss after step 0 is not finite: {err}") from None
        return math.inf  # a blow-up at a large lr: the test stops here


def _one_step(sweep: _Sweep, trained: nn.Module, optimizer: Optimizer, batches: Iterator[Any],
              precision: MixedPrecision, drawn: int) -> tuple[float, float, bool, str]:
    """One optimizer step over ``sweep.accumulate`` batches: (loss, 1.0 if an input was not finite, taken, where)."""
    pairs = [unpack_batch(next(batches), sweep.batch_fn, where=f"batch {drawn + j}") for j in range(sweep.accumulate)]
    where = (f"batch {drawn}" if sweep.accumulate == 1 else
             f"the step of batches {drawn}-{drawn + sweep.accumulate - 1}")
    for j, (_, targets) in enumerate(pairs):
        if len(targets) == 0:
            raise ValueError(f"loader yielded an empty batch (batch {drawn + j}): a mean loss over no samples "
                             "is NaN; check the sampler and the dataset")
    pairs = [(to_device(inputs, sweep.device), targets.to(sweep.device)) for inputs, targets in pairs]
    done = optimizer_step(trained, optimizer, pairs, sweep.loss_fn, precision=precision)
    value = sum(loss.item() * n / done.samples for loss, n in zip(done.losses, done.counts))
    bad_inputs = float(any(not _finite(inputs) for inputs, _ in pairs))
    return value, bad_inputs, done.taken, where


def _one_sweep(sweep: _Sweep, model: nn.Module, trained: nn.Module, optimizer: Optimizer, loader: Iterable,
               world: int) -> tuple[list[float], bool, int]:
    """One sweep from the current state: (the loss of every step taken, whether it diverged, steps skipped)."""
    losses: list[float] = []
    batches = _cycle(loader, "loader")
    precision = mixed_precision(sweep.device, sweep.amp)  # a fresh GradScaler (on CUDA) for every sweep
    average, best, drawn, skipped, in_a_row = 0.0, math.inf, 0, 0, 0
    while len(losses) < sweep.num_iter:
        i = len(losses)  # optimizer steps taken so far: the lr advances only with them
        sweep.set_lr(optimizer, i)
        value, bad_inputs, taken, where = _one_step(sweep, trained, optimizer, batches, precision, drawn)
        drawn += sweep.accumulate
        if world > 1:  # one curve for all processes: the mean loss; a NaN anywhere stops every one
            total, bad_inputs = all_reduce_sum([value, bad_inputs], sweep.device)
            value = total / world
        if not math.isfinite(value) and (i == 0 or bad_inputs):
            # Not a blow-up of a too-large lr: nothing can be measured from here on.
            cause = ("the inputs of that batch contain NaN or inf: check the data" if bad_inputs else
                     "at the smallest lr already: check the model, loss_fn and the targets")
            raise FloatingPointError(f"lr_find: the loss of {where} is {value} ({cause})")
        if not taken:  # the GradScaler skipped the step: same lr again
            skipped, in_a_row = skipped + 1, in_a_row + 1
            if in_a_row > _MAX_SKIPPED_IN_A_ROW:
                return losses, True, skipped
            continue
        in_a_row = 0
        if sweep.val_loader is not None:
            value = _validation_loss(sweep, model, i)
        losses.append(value)
        average = sweep.smooth * average + (1 - sweep.smooth) * value
        smoothed = average / (1 - sweep.smooth ** len(losses))
        if not math.isfinite(smoothed) or (i > 0 and smoothed > sweep.diverge * best):
            return losses, True, skipped
        best = min(best, smoothed)
    return losses, False, skipped


def _summarise(sweep: _Sweep, runs: list[list[float]], diverged: bool, skipped: int,
               rules: dict[str, SuggestionRule], suggest: str, skip_start: int) -> LRFindResult:
    """The result of the sweeps ``runs``: their mean curve, every rule's lr on it, each run's own suggestion."""
    result = LRFindResult(runs=runs, diverged=diverged, skipped=skipped)
    steps = min(len(run) for run in runs)
    result.lrs = [sweep.lr_at(i) for i in range(steps)]
    result.losses = [float(np.mean([run[i] for run in runs])) for i in range(steps)]
    result.smoothed = _smooth(result.losses, sweep.smooth)
    lrs, smoothed = _usable(result.lrs, result.smoothed, diverged)
    result.rules = _apply_rules(rules, lrs, smoothed)
    result.suggestion = result.rules[suggest]
    result.min_loss_lr = lrs[int(np.argmin(smoothed))]
    result.steepest_lr = lrs[_steepest(lrs, smoothed, skip_start)]
    for run in runs:
        own_lrs, own_smoothed = _usable([sweep.lr_at(i) for i in range(len(run))], _smooth(run, sweep.smooth),
                                        len(run) < sweep.num_iter or not math.isfinite(run[-1]))
        result.run_rules.append(_apply_rules(rules, own_lrs, own_smoothed))
        result.suggestions.append(result.run_rules[-1][suggest])
    return result
