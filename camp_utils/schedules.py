"""Learning-rate schedules: trace them, plot them, explore them, and find a good lr.

* :func:`trace` -- run a real ``torch.optim.lr_scheduler`` object over a
  throw-away optimizer and record the lr of every parameter group at every
  step; nothing here re-implements a schedule's formula.
* :func:`plot_trace` -- one or many traced schedules in one chart.
* :func:`explorer` -- an ipywidgets explorer: pick a scheduler, move sliders,
  the curve redraws (a static figure where widgets are not rendered).
* :func:`lr_find` and :func:`plot_lr_find` -- the LR range test (Smith 2017),
  which leaves the model, the optimizer and the caller's RNG as they were.
"""
from __future__ import annotations

import base64
import copy
import inspect
import io
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from .checks import check_int, check_number
from .state import model_device, module_modes, restore_modes

__all__ = [
    "Trace",
    "trace",
    "plot_trace",
    "explorer",
    "ScheduleExplorer",
    "EXPLORER_SCHEDULERS",
    "LRFindResult",
    "lr_find",
    "plot_lr_find",
]


# --------------------------------------------------------------------------- checks

def _positive_int(name: str, value: Any) -> int:
    return check_int(value, name, minimum=1)


def _positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r} ({type(value).__name__})")
    return float(value)


def _lr_value(lr: float | torch.Tensor) -> float:
    return float(lr.item()) if isinstance(lr, torch.Tensor) else float(lr)


# --------------------------------------------------------------------------- trace

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
        """x coordinate of every step in epochs: ``i / steps_per_epoch``."""
        return [i / self.steps_per_epoch for i in range(len(self.lrs))]

    def group(self, g: int = 0) -> list[float]:
        """The lr of parameter group ``g`` at every step."""
        if isinstance(g, bool) or not isinstance(g, numbers.Integral) or not 0 <= g < self.groups:
            raise ValueError(f"g must be a parameter group index in 0..{self.groups - 1}, got {g!r}")
        return [row[g] for row in self.lrs]

    def at(self, epoch: int, group: int = 0, step: int = 0) -> float:
        """The lr of ``group`` during ``epoch`` (from 0), at ``step`` within the epoch."""
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
    epochs = _positive_int("epochs", epochs)
    steps_per_epoch = _positive_int("steps_per_epoch", steps_per_epoch)
    if interval not in (None, "batch", "epoch"):
        raise ValueError(f"interval must be 'batch' or 'epoch', got {interval!r}")
    if isinstance(lr, (str, bytes)) or not isinstance(lr, (numbers.Real, Sequence, torch.Tensor, np.ndarray)):
        raise ValueError(f"lr must be a positive number or a sequence of them (one per group), got {lr!r} "
                         f"({type(lr).__name__})")
    if isinstance(lr, (torch.Tensor, np.ndarray)):
        lr = lr.tolist()
    base = [lr] if isinstance(lr, numbers.Real) else list(lr)
    if not base:
        raise ValueError("lr must be a positive number or a non-empty sequence of them (one per group)")
    base = [_positive_float("lr", value) for value in base]
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
        for step in range(steps_per_epoch):
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


# --------------------------------------------------------------------------- plots

def _new_axes(ax, figsize=(6, 3.4)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1]


def _as_traces(traces: Trace | Iterable[Trace] | Mapping[str, Trace]) -> list[tuple[str, Trace]]:
    if isinstance(traces, Trace):
        return [(traces.name, traces)]
    if isinstance(traces, Mapping):
        items = list(traces.items())
    else:
        items = [(t.name, t) for t in traces] if not isinstance(traces, (str, bytes)) else []
    if not items:
        raise ValueError("traces is empty; pass a Trace, a list of them or a dict label -> Trace")
    for label, t in items:
        if not isinstance(t, Trace):
            raise ValueError(f"traces must hold Trace objects (from trace()), got {type(t).__name__} for {label!r}")
    return items


def plot_trace(
    traces: Trace | Iterable[Trace] | Mapping[str, Trace],
    ax=None,
    *,
    log: bool = False,
    groups: Sequence[int] | None = None,
    title: str | None = None,
    xlabel: str = "epoch",
):
    """Draw one or many :class:`Trace` s in one chart and return the Axes.

    Args:
        traces: a Trace, a list of them (labelled by ``Trace.name``) or a
            dict label -> Trace.
        ax: Axes to draw on; default a new figure.
        log: logarithmic lr axis.
        groups: which parameter groups to draw (default all); with more than
            one group, each gets its own line labelled ``"<label> · group g"``.
        title, xlabel: chart texts.

    Raises:
        ValueError: empty ``traces``, or a group index a trace does not have.
    """
    items = _as_traces(traces)
    ax = _new_axes(ax)
    for label, t in items:
        chosen = range(t.groups) if groups is None else groups
        for g in chosen:
            values = t.group(g)
            line_label = label if t.groups == 1 else f"{label} · group {g}"
            ax.plot(t.epochs, values, label=line_label, drawstyle="steps-post" if t.steps_per_epoch == 1 else None)
    ax.set(title=title, xlabel=xlabel, ylabel="learning rate")
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if len(items) > 1 or any(t.groups > 1 for _, t in items):
        ax.legend(fontsize=8)
    return ax


# --------------------------------------------------------------------------- explorer

@dataclass(frozen=True)
class Slider:
    """One explorer control: ``kind`` is ``"int"``, ``"float"``, ``"log"`` (log-scale float) or ``"choice"``."""

    name: str
    kind: str
    default: Any
    low: float | None = None
    high: float | None = None
    step: float | None = None
    options: tuple = ()


def _plateau_metric(epochs: int) -> list[float]:
    """A made-up validation loss: falls, then flattens on plateaus (deterministic)."""
    values, loss = [], 2.0
    for e in range(epochs):
        loss *= 0.97 if (e // 25) % 2 == 0 else 1.0
        values.append(loss + 0.01 * math.sin(e))
    return values


def _explorer_catalogue() -> dict[str, tuple[list[Slider], Callable[..., Any]]]:
    from torch.optim import lr_scheduler as S
    from torch.optim.swa_utils import SWALR

    def sequential(opt, p, total, spe):
        warm = max(1, p["warmup_epochs"] * spe)
        return S.SequentialLR(opt, [S.LinearLR(opt, p["start_factor"], 1.0, warm),
                                    S.CosineAnnealingLR(opt, max(1, total - warm), p["eta_min"])], [warm])

    def milestones(text: str) -> list[int]:
        values = sorted({int(v) for v in text.replace(";", ",").split(",") if v.strip().isdigit()})
        return values or [1]

    return {
        "StepLR": ([Slider("step_size", "int", 30, 1, 200, 1), Slider("gamma", "float", 0.1, 0.05, 1.0, 0.05)],
                   lambda opt, p, total, spe: S.StepLR(opt, p["step_size"] * spe, p["gamma"])),
        "MultiStepLR": ([Slider("milestones", "text", "50, 125, 160"), Slider("gamma", "float", 0.1, 0.05, 1.0, 0.05)],
                        lambda opt, p, total, spe: S.MultiStepLR(opt, [m * spe for m in milestones(p["milestones"])],
                                                                 p["gamma"])),
        "ExponentialLR": ([Slider("gamma", "float", 0.95, 0.8, 1.0, 0.005)],
                          lambda opt, p, total, spe: S.ExponentialLR(opt, p["gamma"] ** (1 / spe))),
        "CosineAnnealingLR": ([Slider("T_max", "int", 50, 1, 200, 1), Slider("eta_min", "log", 1e-4, 1e-6, 1e-1)],
                              lambda opt, p, total, spe: S.CosineAnnealingLR(opt, p["T_max"] * spe, p["eta_min"])),
        "CosineAnnealingWarmRestarts": (
            [Slider("T_0", "int", 20, 1, 100, 1), Slider("T_mult", "int", 2, 1, 4, 1),
             Slider("eta_min", "log", 1e-4, 1e-6, 1e-1)],
            lambda opt, p, total, spe: S.CosineAnnealingWarmRestarts(opt, p["T_0"] * spe, p["T_mult"], p["eta_min"])),
        "OneCycleLR": ([Slider("max_lr", "log", 0.5, 1e-3, 10.0), Slider("pct_start", "float", 0.3, 0.05, 0.95, 0.05),
                        Slider("div_factor", "log", 25.0, 1.0, 1e3),
                        Slider("anneal_strategy", "choice", "cos", options=("cos", "linear"))],
                       lambda opt, p, total, spe: S.OneCycleLR(opt, p["max_lr"], total_steps=total,
                                                               pct_start=p["pct_start"],
                                                               anneal_strategy=p["anneal_strategy"],
                                                               div_factor=p["div_factor"])),
        "CyclicLR": ([Slider("base_lr", "log", 1e-3, 1e-5, 1.0), Slider("max_lr", "log", 0.1, 1e-4, 10.0),
                      Slider("step_size_up", "int", 20, 1, 100, 1),
                      Slider("mode", "choice", "triangular", options=("triangular", "triangular2", "exp_range")),
                      Slider("gamma", "float", 0.99, 0.9, 1.0, 0.005)],
                     lambda opt, p, total, spe: S.CyclicLR(opt, p["base_lr"], p["max_lr"], p["step_size_up"] * spe,
                                                           mode=p["mode"], gamma=p["gamma"])),
        "LinearLR warm-up + cosine (SequentialLR)": (
            [Slider("warmup_epochs", "int", 10, 1, 100, 1), Slider("start_factor", "log", 0.01, 1e-3, 1.0),
             Slider("eta_min", "log", 1e-4, 1e-6, 1e-1)],
            sequential),
        "LinearLR": ([Slider("start_factor", "log", 0.1, 1e-3, 1.0), Slider("end_factor", "float", 1.0, 0.0, 1.0, 0.05),
                      Slider("total_iters", "int", 50, 1, 200, 1)],
                     lambda opt, p, total, spe: S.LinearLR(opt, p["start_factor"], p["end_factor"],
                                                           p["total_iters"] * spe)),
        "PolynomialLR": ([Slider("total_iters", "int", 150, 1, 200, 1), Slider("power", "float", 2.0, 0.1, 5.0, 0.1)],
                         lambda opt, p, total, spe: S.PolynomialLR(opt, p["total_iters"] * spe, p["power"])),
        "ConstantLR": ([Slider("factor", "float", 0.25, 0.05, 1.0, 0.05), Slider("total_iters", "int", 50, 1, 200, 1)],
                       lambda opt, p, total, spe: S.ConstantLR(opt, p["factor"], p["total_iters"] * spe)),
        "MultiplicativeLR": ([Slider("factor", "float", 0.98, 0.8, 1.0, 0.005)],
                             lambda opt, p, total, spe: S.MultiplicativeLR(opt, lambda e: p["factor"] ** (1 / spe))),
        "ReduceLROnPlateau": ([Slider("factor", "float", 0.1, 0.05, 0.95, 0.05), Slider("patience", "int", 10, 0, 50, 1),
                               Slider("cooldown", "int", 0, 0, 50, 1), Slider("min_lr", "log", 1e-5, 1e-7, 1e-1)],
                              lambda opt, p, total, spe: S.ReduceLROnPlateau(opt, factor=p["factor"],
                                                                             patience=p["patience"],
                                                                             cooldown=p["cooldown"],
                                                                             min_lr=p["min_lr"])),
        "SWALR": ([Slider("swa_lr", "log", 0.01, 1e-4, 1.0), Slider("anneal_epochs", "int", 20, 1, 100, 1),
                   Slider("anneal_strategy", "choice", "cos", options=("cos", "linear"))],
                  lambda opt, p, total, spe: SWALR(opt, p["swa_lr"], p["anneal_epochs"] * spe, p["anneal_strategy"])),
    }


EXPLORER_SCHEDULERS: tuple[str, ...] = (
    "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "OneCycleLR",
    "CyclicLR", "LinearLR warm-up + cosine (SequentialLR)", "LinearLR", "PolynomialLR", "ConstantLR",
    "MultiplicativeLR", "ReduceLROnPlateau", "SWALR",
)
"""The schedulers :func:`explorer` offers, in menu order."""


def _explore_trace(scheduler: str, params: Mapping[str, Any], epochs: int, steps_per_epoch: int, lr: float) -> Trace:
    sliders, build = _explorer_catalogue()[scheduler]
    values = {s.name: s.default for s in sliders} | dict(params)
    total = epochs * steps_per_epoch
    if scheduler == "ReduceLROnPlateau":
        return trace(lambda opt: build(opt, values, total, steps_per_epoch), epochs, steps_per_epoch=steps_per_epoch,
                     lr=lr, metrics=_plateau_metric(epochs), name=scheduler)
    return trace(lambda opt: build(opt, values, total, steps_per_epoch), epochs, steps_per_epoch=steps_per_epoch,
                 lr=lr, interval="batch", name=scheduler)


def _describe(scheduler: str, params: Mapping[str, Any], epochs: int, steps_per_epoch: int, lr: float) -> str:
    def show(v):
        return f"{v:.4g}" if isinstance(v, float) else repr(v)

    args = ", ".join(f"{k}={show(v)}" for k, v in params.items())
    return f"{scheduler}({args}) from lr={lr:.4g}, {epochs} epochs x {steps_per_epoch} steps"


def _figure_png(t: Trace, log: bool, title: str, dpi: int = 80) -> bytes:
    """Render a trace to PNG bytes with a private Figure (pyplot's state is not touched)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    plot_trace(t, ax, log=log, title=title)
    ax.title.set_fontsize(9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _make_control(s: Slider):
    import ipywidgets as w

    style = {"description_width": "initial"}
    layout = w.Layout(width="320px")
    if s.kind == "int":
        return w.IntSlider(value=s.default, min=int(s.low), max=int(s.high), step=int(s.step or 1),
                           description=s.name, continuous_update=False, style=style, layout=layout)
    if s.kind == "float":
        return w.FloatSlider(value=s.default, min=s.low, max=s.high, step=s.step, description=s.name,
                             continuous_update=False, readout_format=".3f", style=style, layout=layout)
    if s.kind == "log":
        return w.FloatLogSlider(value=s.default, min=math.log10(s.low), max=math.log10(s.high), step=0.1,
                                description=s.name, continuous_update=False, readout_format=".2g",
                                style=style, layout=layout)
    if s.kind == "choice":
        return w.Dropdown(value=s.default, options=list(s.options), description=s.name, style=style, layout=layout)
    return w.Text(value=s.default, description=s.name, continuous_update=False, style=style, layout=layout)


try:  # ipywidgets is optional for everything but the explorer
    import ipywidgets as _widgets

    _Box = _widgets.VBox
except ImportError:  # pragma: no cover - ipywidgets is in requirements.txt
    _widgets = None
    _Box = object


class ScheduleExplorer(_Box):
    """The widget :func:`explorer` returns: a ``VBox`` of controls over an ``Image`` of the curve.

    Every control's ``description`` is the parameter's name (``scheduler``,
    ``epochs``, ``steps_per_epoch``, ``lr``, ``log_y``, then the chosen
    scheduler's own parameters such as ``step_size`` or ``gamma``); the curve
    is the ``ipywidgets.Image`` in :attr:`image` (PNG), redrawn whenever a
    control changes; :attr:`text` (an ``HTML`` widget) states the setting.

    Displayed, the explorer offers three representations: the live widget
    (JupyterLab), a PNG of the current curve (GitHub, nbviewer, anything that
    does not run widgets) and a plain-text description without model ids
    (what nbval compares).
    """

    def __init__(self, scheduler: str = "StepLR", epochs: int = 200, steps_per_epoch: int = 1, lr: float = 0.1,
                 log_y: bool = False) -> None:
        w = _widgets
        if w is None:  # pragma: no cover
            raise ImportError("explorer() needs ipywidgets (pip install ipywidgets)")
        catalogue = _explorer_catalogue()
        if scheduler not in catalogue:
            raise ValueError(f"scheduler must be one of {list(EXPLORER_SCHEDULERS)}, got {scheduler!r}")
        _positive_int("epochs", epochs)
        _positive_int("steps_per_epoch", steps_per_epoch)
        _positive_float("lr", lr)
        style = {"description_width": "initial"}
        self.scheduler = w.Dropdown(options=list(EXPLORER_SCHEDULERS), value=scheduler, description="scheduler",
                                    style=style, layout=w.Layout(width="420px"))
        self.epochs = w.IntSlider(value=epochs, min=1, max=400, description="epochs", continuous_update=False,
                                  style=style)
        self.steps_per_epoch = w.IntSlider(value=steps_per_epoch, min=1, max=20, description="steps_per_epoch",
                                           continuous_update=False, style=style)
        self.lr = w.FloatLogSlider(value=lr, min=-5, max=1, step=0.1, description="lr", continuous_update=False,
                                   readout_format=".2g", style=style)
        self.log_y = w.Checkbox(value=log_y, description="log_y", indent=False)
        self.params = w.VBox()
        self.image = w.Image(format="png")
        self.text = w.HTML()
        self._png = b""
        self._plain = ""
        super().__init__([w.HBox([w.VBox([self.scheduler, self.epochs, self.steps_per_epoch, self.lr, self.log_y]),
                                  self.params]), self.text, self.image])
        for control in (self.epochs, self.steps_per_epoch, self.lr, self.log_y):
            control.observe(self._redraw, names="value")
        self.scheduler.observe(self._new_scheduler, names="value")
        self._new_scheduler()

    @property
    def controls(self) -> dict[str, Any]:
        """Every control by its ``description`` (the parameter's name)."""
        common = [self.scheduler, self.epochs, self.steps_per_epoch, self.lr, self.log_y]
        return {c.description: c for c in [*common, *self.params.children]}

    def values(self) -> dict[str, Any]:
        """The chosen scheduler's parameters as the controls set them."""
        return {c.description: c.value for c in self.params.children}

    def _new_scheduler(self, change=None) -> None:
        sliders, _ = _explorer_catalogue()[self.scheduler.value]
        controls = [_make_control(s) for s in sliders]
        for control in controls:
            control.observe(self._redraw, names="value")
        self.params.children = controls
        self._redraw()

    def _redraw(self, change=None) -> None:
        import html

        name, values = self.scheduler.value, self.values()
        epochs, spe, lr = self.epochs.value, self.steps_per_epoch.value, self.lr.value
        description = _describe(name, values, epochs, spe, lr)
        try:
            t = _explore_trace(name, values, epochs, spe, lr)
        except (ValueError, TypeError, ZeroDivisionError) as error:  # e.g. max_lr below base_lr
            self._plain = f"{description}: {error}"
            self.text.value = f"<b>Not a valid setting:</b> {html.escape(str(error))}"
            return
        low, high = min(min(r) for r in t.lrs), max(max(r) for r in t.lrs)
        self._plain = f"LR schedule explorer: {description}; lr from {low:.3g} to {high:.3g}"
        self.text.value = html.escape(self._plain)
        self._png = _figure_png(t, self.log_y.value, description)
        self.image.value = self._png

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        data = dict(data or {})
        data["text/plain"] = self._plain + " (move the sliders in JupyterLab)"
        if self._png:
            data["image/png"] = base64.b64encode(self._png).decode("ascii")
        return data, metadata


def explorer(scheduler: str = "StepLR", *, epochs: int = 200, steps_per_epoch: int = 1, lr: float = 0.1,
             log_y: bool = False) -> ScheduleExplorer:
    """An interactive learning-rate schedule explorer for JupyterLab.

    Pick a scheduler (one of :data:`EXPLORER_SCHEDULERS`), move the sliders
    of its parameters and the curve redraws (from :func:`trace`, so it is
    the real scheduler's curve). Parameters counted in epochs (``step_size``,
    ``T_max``, ``T_0``, milestones, warm-up length, ...) are scaled by
    ``steps_per_epoch`` when the scheduler steps per batch.

    Make it the last expression of a cell to display it. Where widgets are
    not rendered (GitHub, nbviewer, nbval) a PNG of the current curve and a
    one-line description stand in for it.

    Returns:
        The :class:`ScheduleExplorer` widget box: its ``controls`` are keyed
        by ``description`` (the parameter names); its ``image`` is the curve.

    Raises:
        ValueError: unknown ``scheduler``, or bad ``epochs``, ``steps_per_epoch``, ``lr``.
    """
    return ScheduleExplorer(scheduler, epochs, steps_per_epoch, lr, log_y)


# --------------------------------------------------------------------------- lr_find

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


def _suggestion_index(lrs: list[float], smoothed: list[float], diverged: bool, fall: float,
                      skip_start: int) -> tuple[list[float], list[float], int]:
    finite = [i for i, v in enumerate(smoothed) if math.isfinite(v)]
    lrs, smoothed = [lrs[i] for i in finite], [smoothed[i] for i in finite]
    if diverged and len(smoothed) > 1:  # the last point is the blow-up itself
        lrs, smoothed = lrs[:-1], smoothed[:-1]
    return lrs, smoothed, _fallen(smoothed, fall, skip_start)


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
    seed: int = 0,
    device: str | torch.device | None = None,
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
    are exactly as they were: the test only *measures*. During the test a
    model in train mode keeps its modules' own flags (a BatchNorm the caller
    froze stays frozen); a model in eval mode is put in train mode.

    Args:
        model: the network; its loss is ``loss_fn(model(inputs), targets)``.
        optimizer: built on ``model``'s parameters (its kind and settings,
            e.g. momentum, shape the curve).
        loader: yields ``(inputs, targets)``; cycled if shorter than ``num_iter``.
            Re-iterated for every repeat: a one-shot iterator serves one repeat.
        loss_fn: default ``nn.CrossEntropyLoss()``.
        start_lr, end_lr: the range to sweep, ``0 < start_lr < end_lr``.
        num_iter: number of mini-batches (>= 2) if the loss does not diverge first.
        smooth: EMA weight in ``[0, 1)``; 0 means no smoothing.
        diverge: stop when the smoothed loss exceeds ``diverge`` x its best (> 1).
        skip_start: the first steps, averaged as the start level (and ignored
            by the steepest-descent rule).
        fall: the share of the fall, in ``(0, 1]``, at which to suggest.
        repeats: number of sweeps (>= 1) averaged.
        seed: seeds shuffling and dropout inside the test (repeat ``r`` uses ``seed + r``).
        device: default: where the model's parameters are.

    Returns:
        An :class:`LRFindResult`; ``suggestion`` is one of the tried lrs.

    Raises:
        ValueError: bad ``start_lr``/``end_lr``, ``num_iter``, ``smooth``,
            ``diverge``, ``skip_start``, ``fall``, ``repeats``; ``optimizer`` not
            an Optimizer or not holding ``model``'s parameters; ``loader``
            yields no batches.
        FloatingPointError: a loss is NaN/inf because of the data (NaN or inf
            inputs), or already at the first batch; a NaN/inf loss at a large
            lr after finite ones is the blow-up the test looks for (``diverged``).
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    owned = {id(p) for p in model.parameters()}
    if not any(id(p) in owned for g in optimizer.param_groups for p in g["params"]):
        raise ValueError("optimizer holds none of model's parameters; build it on model.parameters() "
                         "(the test would train another model and measure a flat curve)")
    start_lr = _positive_float("start_lr", start_lr)
    end_lr = _positive_float("end_lr", end_lr)
    if end_lr <= start_lr:
        raise ValueError(f"end_lr must be larger than start_lr, got start_lr={start_lr:g}, end_lr={end_lr:g}")
    num_iter = check_int(num_iter, "num_iter", minimum=2, what="mini-batches to try")
    if isinstance(smooth, bool) or not isinstance(smooth, (int, float)) or not 0 <= smooth < 1:
        raise ValueError(f"smooth must be a number in [0, 1), got {smooth!r}")
    if isinstance(diverge, bool) or not isinstance(diverge, (int, float)) or not diverge > 1:
        raise ValueError(f"diverge must be a number > 1, got {diverge!r}")
    if isinstance(fall, bool) or not isinstance(fall, (int, float)) or not 0 < fall <= 1:
        raise ValueError(f"fall must be a number in (0, 1], got {fall!r}")
    skip_start = check_int(skip_start, "skip_start", minimum=0)
    repeats = check_int(repeats, "repeats", minimum=1, what="sweeps to average")
    seed = check_int(seed, "seed")
    try:
        batches = len(loader)  # type: ignore[arg-type]
    except TypeError:
        batches = None
    if batches == 0:
        raise ValueError("loader has no batches; is the dataset empty?")

    loss_fn = loss_fn or nn.CrossEntropyLoss()
    device = torch.device(device) if device is not None else model_device(model)

    saved_model = copy.deepcopy(model.state_dict())
    # state_dict() leaves out buffers registered with persistent=False; keep those too
    saved_buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    saved_grads = [None if p.grad is None else p.grad.detach().clone() for p in model.parameters()]
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    modes = module_modes(model)
    first_lr = _lr_value(optimizer.param_groups[0]["lr"])
    if len(optimizer.param_groups) > 1 and not first_lr > 0:
        raise ValueError(f"the optimizer's first parameter group has lr {first_lr:g}: lr_find sweeps every group "
                         "at its lr's ratio to the first group's, so the first group needs a positive lr")
    ratios = [_lr_value(g["lr"]) / first_lr if first_lr else 1.0 for g in optimizer.param_groups]
    factor = (end_lr / start_lr) ** (1 / (num_iter - 1))
    result = LRFindResult()
    fork_devices = [device.index or 0] if device.type == "cuda" else []

    def sweep(run_seed: int) -> tuple[list[float], bool]:
        torch.manual_seed(run_seed)
        losses: list[float] = []
        iterator = iter(loader)
        average, best = 0.0, math.inf
        for i in range(num_iter):
            try:
                batch = next(iterator)
            except StopIteration:
                iterator = iter(loader)
                try:
                    batch = next(iterator)
                except StopIteration:
                    raise ValueError("loader has no batches; is the dataset empty?") from None
            if isinstance(batch, Mapping):
                raise ValueError(f"loader must yield (inputs, targets) pairs, got a {type(batch).__name__} with keys "
                                 f"{list(batch)[:4]}; wrap the dataset so that it returns (inputs, targets)")
            try:
                inputs, targets = batch
            except (TypeError, ValueError):
                raise ValueError(f"loader must yield (inputs, targets) pairs, got a {type(batch).__name__}") from None
            if not (isinstance(inputs, torch.Tensor) and isinstance(targets, torch.Tensor)):
                raise ValueError("loader must yield (inputs, targets) pairs of tensors, got "
                                 f"({type(inputs).__name__}, {type(targets).__name__}); a dataset of dicts needs a "
                                 "collate_fn or a wrapper that returns (inputs, targets)")
            lr = start_lr * factor**i
            for group, ratio in zip(optimizer.param_groups, ratios):
                if isinstance(group["lr"], torch.Tensor):
                    group["lr"].fill_(lr * ratio)
                else:
                    group["lr"] = lr * ratio
            inputs, targets = inputs.to(device), targets.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            value = loss.item()
            if not math.isfinite(value) and (i == 0 or not torch.isfinite(inputs).all()):
                # Not a blow-up of a too-large lr: nothing can be measured from here on.
                cause = ("the inputs of that batch contain NaN or inf: check the data"
                         if not torch.isfinite(inputs).all() else
                         "at the smallest lr already: check the model, loss_fn and the targets")
                raise FloatingPointError(f"lr_find: the loss of batch {i} is {value} ({cause})")
            losses.append(value)
            average = smooth * average + (1 - smooth) * value
            smoothed = average / (1 - smooth ** len(losses))
            if not math.isfinite(smoothed) or (i > 0 and smoothed > diverge * best):
                return losses, True
            best = min(best, smoothed)
        return losses, False

    try:
        with torch.random.fork_rng(devices=fork_devices):
            if not model.training:
                model.train()
            for r in range(repeats):
                if r:  # every sweep starts from the caller's state
                    model.load_state_dict(saved_model)
                    optimizer.load_state_dict(saved_optimizer)
                losses, diverged = sweep(seed + r)
                result.runs.append(losses)
                result.diverged = result.diverged or diverged
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        for p, grad in zip(model.parameters(), saved_grads):
            p.grad = grad
        with torch.no_grad():
            for name, buffer in model.named_buffers():
                if name in saved_buffers and buffer.shape == saved_buffers[name].shape:
                    buffer.copy_(saved_buffers[name])
        restore_modes(modes)

    steps = min(len(run) for run in result.runs)
    result.lrs = [start_lr * factor**i for i in range(steps)]
    result.losses = [float(np.mean([run[i] for run in result.runs])) for i in range(steps)]
    result.smoothed = _smooth(result.losses, smooth)
    lrs, smoothed, index = _suggestion_index(result.lrs, result.smoothed, result.diverged, fall, skip_start)
    result.suggestion = lrs[index]
    result.min_loss_lr = lrs[int(np.argmin(smoothed))]
    result.steepest_lr = lrs[_steepest(lrs, smoothed, skip_start)]
    for run in result.runs:
        own_lrs, _, own = _suggestion_index([start_lr * factor**i for i in range(len(run))], _smooth(run, smooth),
                                                       len(run) < num_iter or not math.isfinite(run[-1]),
                                                       fall, skip_start)
        result.suggestions.append(own_lrs[own])
    return result


def plot_lr_find(result: LRFindResult, ax=None, *, title: str | None = "LR range test"):
    """Loss against lr (log scale): raw losses faint, the smoothed curve, the suggestion marked. Returns the Axes."""
    if not isinstance(result, LRFindResult) or not result.lrs:
        raise ValueError("result must be an LRFindResult from lr_find() with at least one step")
    ax = _new_axes(ax)
    ax.plot(result.lrs, result.losses, color="tab:blue", alpha=0.25, label="mini-batch loss")
    ax.plot(result.lrs, result.smoothed, color="tab:blue", label="smoothed")
    i = result.lrs.index(result.suggestion)
    ax.plot([result.suggestion], [result.smoothed[i]], "o", color="tab:red",
            label=f"suggestion: {result.suggestion:.2g}")
    j = result.lrs.index(result.min_loss_lr)
    ax.plot([result.min_loss_lr], [result.smoothed[j]], "s", color="tab:green",
            label=f"lowest loss: {result.min_loss_lr:.2g}")
    finite = [s for s in result.smoothed if math.isfinite(s)]
    if finite:
        low, first = min(finite), finite[0]
        ax.set_ylim(low - 0.1 * abs(first - low) - 1e-3, max(first, low) + 0.5 * abs(first - low) + 1e-3)
    ax.set(xscale="log", xlabel="learning rate (log scale)", ylabel="loss", title=title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return ax
