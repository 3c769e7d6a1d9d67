"""The interactive schedule explorer for JupyterLab: the only module of the package that imports ipywidgets."""
from __future__ import annotations

import base64
import dataclasses
import functools
import inspect
import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..checks import check_choice, check_int, check_number
from .plots import plot_trace
from .trace import Trace, trace

__all__ = ["explorer", "ScheduleExplorer", "EXPLORER_SCHEDULERS", "Slider", "SLIDER_KINDS", "SLIDER_UNITS",
           "TORCH_DEFAULT"]


SLIDER_KINDS = ("int", "float", "log", "choice", "text")
"""The controls the explorer can draw: a slider (``int``, ``float``, ``log``: log-scale), a menu, a text box."""

SLIDER_UNITS = ("", "epochs", "epoch factor", "epoch list")
"""How a control's value reaches the scheduler, which the explorer steps once per batch: ``""`` as it is;
``"epochs"`` a length in epochs, times ``steps_per_epoch``; ``"epoch factor"`` a factor per epoch, its
``steps_per_epoch``-th root per step; ``"epoch list"`` a text of epochs (``"50, 125"``), each times
``steps_per_epoch``."""


class _TorchDefault:
    """The default of a :class:`Slider` that takes the scheduler's own default (read from its signature)."""

    def __repr__(self) -> str:
        return "TORCH_DEFAULT"


TORCH_DEFAULT: Any = _TorchDefault()
"""A :class:`Slider` default meaning "the default in the scheduler's ``__init__``", read with :mod:`inspect`."""


@dataclass(frozen=True)
class Slider:
    """One explorer control for the scheduler parameter ``name``; checked when it is made.

    ``kind`` is one of :data:`SLIDER_KINDS`, ``unit`` one of :data:`SLIDER_UNITS`.
    Numeric kinds need ``low < high`` with the default between them (``log``:
    ``low > 0``), a ``choice`` needs its default among ``options``, a ``text``
    a string default. ``default=TORCH_DEFAULT`` takes the scheduler's own
    default, checked the same way when the catalogue is built: a catalogue
    entry with a bad control fails there, not with a widget error in a
    learner's notebook.
    """

    name: str
    kind: str
    default: Any = TORCH_DEFAULT
    low: float | None = None
    high: float | None = None
    step: float | None = None
    options: tuple = ()
    unit: str = ""

    def __post_init__(self) -> None:
        where = f"Slider {self.name!r}"
        if self.kind not in SLIDER_KINDS:
            raise ValueError(f"{where}: kind must be one of {', '.join(SLIDER_KINDS)}, got {self.kind!r}")
        if self.unit not in SLIDER_UNITS:
            raise ValueError(f"{where}: unit must be one of {', '.join(map(repr, SLIDER_UNITS))}, got {self.unit!r}")
        if self.kind in ("int", "float", "log"):
            if self.low is None or self.high is None or not self.low < self.high:
                raise ValueError(f"{where}: a {self.kind} slider needs low < high, got {self.low}, {self.high}")
            if self.kind == "log" and self.low <= 0:
                raise ValueError(f"{where}: a log slider needs low > 0, got {self.low}")
        if self.default is TORCH_DEFAULT:
            return  # checked by _with_default once the scheduler's own default is known
        if self.kind in ("int", "float", "log"):
            if isinstance(self.default, bool) or not isinstance(self.default, (int, float)) or \
                    not self.low <= self.default <= self.high:
                raise ValueError(f"{where}: default {self.default!r} is not a number in [{self.low}, {self.high}]")
            if self.kind == "int" and not all(float(v).is_integer() for v in (self.default, self.low, self.high)):
                raise ValueError(f"{where}: an int slider needs whole numbers, got {self.default}, {self.low}, "
                                 f"{self.high}")
        elif self.kind == "choice" and self.default not in self.options:
            raise ValueError(f"{where}: default {self.default!r} is not one of the options {self.options}")
        elif self.kind == "text" and not isinstance(self.default, str):
            raise ValueError(f"{where}: a text box needs a str default, got {type(self.default).__name__}")

    def _with_default(self, scheduler: str, parameters: Mapping[str, inspect.Parameter]) -> Slider:
        """This control with ``TORCH_DEFAULT`` replaced by the default of ``scheduler``'s parameter (checked)."""
        if self.default is not TORCH_DEFAULT:
            return self
        found = parameters.get(self.name)
        if found is None or found.default is inspect.Parameter.empty:
            raise ValueError(f"Slider {self.name!r} of {scheduler}: TORCH_DEFAULT needs a parameter {self.name!r} "
                             f"with a default in {scheduler}'s signature")
        return dataclasses.replace(self, default=found.default)  # __post_init__ checks it against the range


def _plateau_metric(epochs: int) -> list[float]:
    """A made-up validation loss: falls, then flattens on plateaus (deterministic)."""
    values, loss = [], 2.0
    for e in range(epochs):
        loss *= 0.97 if (e // 25) % 2 == 0 else 1.0
        values.append(loss + 0.01 * math.sin(e))
    return values


def _per_step(control: Slider, value: Any, steps_per_epoch: int) -> Any:
    """``value`` of ``control`` as a scheduler stepped once per batch needs it (see :data:`SLIDER_UNITS`)."""
    if control.unit == "epochs":
        return value * steps_per_epoch
    if control.unit == "epoch factor":
        return value ** (1 / steps_per_epoch)
    if control.unit == "epoch list":
        return [m * steps_per_epoch for m in _epoch_list(control.name, value)]
    return value


def _epoch_list(name: str, text: str) -> list[int]:
    items = [v.strip() for v in text.replace(";", ",").split(",") if v.strip()]
    bad = [v for v in items if not v.isdigit() or int(v) == 0]
    if bad or not items:
        found = f"{bad[0]!r} is not one" if bad else "the text is empty"
        raise ValueError(f"{name} must be whole epochs above 0, separated by commas, e.g. '50, 125, 160'; {found}")
    return sorted({int(v) for v in items})


@dataclass(frozen=True)
class _Entry:
    """One scheduler of the menu: ``label``, the class it builds, its controls.

    ``scheduler`` names a class of ``torch.optim.lr_scheduler`` (or ``"SWALR"``); every control is one of
    its ``__init__``'s parameters, passed by name, unless ``arguments`` maps the controls' values (already
    per step) and the run's total steps to the keyword arguments. ``build`` replaces all of that for an
    entry that is more than one scheduler.
    """

    label: str
    scheduler: str
    controls: tuple[Slider, ...]
    arguments: Callable[[dict[str, Any], int], dict[str, Any]] | None = None
    build: Callable[..., Any] | None = None


def _warmup_then_cosine(opt, v: Mapping[str, Any], total: int, spe: int):
    from torch.optim import lr_scheduler as S

    warm = max(1, v["warmup_epochs"])
    return S.SequentialLR(opt, [S.LinearLR(opt, v["start_factor"], 1.0, warm),
                                S.CosineAnnealingLR(opt, max(1, total - warm), v["eta_min"])], [warm])


_FRACTION = {"kind": "float", "low": 0.05, "high": 1.0, "step": 0.05}
_ENTRIES: tuple[_Entry, ...] = (
    _Entry("StepLR", "StepLR", (Slider("step_size", "int", 30, 1, 200, 1, unit="epochs"),
                                Slider("gamma", **_FRACTION))),
    _Entry("MultiStepLR", "MultiStepLR", (Slider("milestones", "text", "50, 125, 160", unit="epoch list"),
                                          Slider("gamma", **_FRACTION))),
    _Entry("ExponentialLR", "ExponentialLR", (Slider("gamma", "float", 0.95, 0.8, 1.0, 0.005, unit="epoch factor"),)),
    _Entry("CosineAnnealingLR", "CosineAnnealingLR", (Slider("T_max", "int", 50, 1, 200, 1, unit="epochs"),
                                                      Slider("eta_min", "log", 1e-4, 1e-6, 1e-1))),
    _Entry("CosineAnnealingWarmRestarts", "CosineAnnealingWarmRestarts",
           (Slider("T_0", "int", 20, 1, 100, 1, unit="epochs"), Slider("T_mult", "int", 2, 1, 4, 1),
            Slider("eta_min", "log", 1e-4, 1e-6, 1e-1))),
    _Entry("OneCycleLR", "OneCycleLR",
           (Slider("max_lr", "log", 0.5, 1e-3, 10.0), Slider("pct_start", "float", low=0.05, high=0.95, step=0.05),
            Slider("div_factor", "log", low=1.0, high=1e3),
            Slider("anneal_strategy", "choice", options=("cos", "linear"))),
           arguments=lambda v, total: v | {"total_steps": total}),
    _Entry("CyclicLR", "CyclicLR",
           (Slider("base_lr", "log", 1e-3, 1e-5, 1.0), Slider("max_lr", "log", 0.1, 1e-4, 10.0),
            Slider("step_size_up", "int", 20, 1, 100, 1, unit="epochs"),
            Slider("mode", "choice", options=("triangular", "triangular2", "exp_range")),
            Slider("gamma", "float", 0.99, 0.9, 1.0, 0.005))),
    _Entry("LinearLR warm-up + cosine (SequentialLR)", "SequentialLR",
           (Slider("warmup_epochs", "int", 10, 1, 100, 1, unit="epochs"),
            Slider("start_factor", "log", 0.01, 1e-3, 1.0), Slider("eta_min", "log", 1e-4, 1e-6, 1e-1)),
           build=_warmup_then_cosine),
    _Entry("LinearLR", "LinearLR", (Slider("start_factor", "log", 0.1, 1e-3, 1.0),
                                    Slider("end_factor", "float", low=0.0, high=1.0, step=0.05),
                                    Slider("total_iters", "int", 50, 1, 200, 1, unit="epochs"))),
    _Entry("PolynomialLR", "PolynomialLR", (Slider("total_iters", "int", 150, 1, 200, 1, unit="epochs"),
                                            Slider("power", "float", 2.0, 0.1, 5.0, 0.1))),
    _Entry("ConstantLR", "ConstantLR", (Slider("factor", "float", 0.25, 0.05, 1.0, 0.05),
                                        Slider("total_iters", "int", 50, 1, 200, 1, unit="epochs"))),
    _Entry("MultiplicativeLR", "MultiplicativeLR",
           (Slider("factor", "float", 0.98, 0.8, 1.0, 0.005, unit="epoch factor"),),
           arguments=lambda v, total: {"lr_lambda": lambda step: v["factor"]}),
    _Entry("ReduceLROnPlateau", "ReduceLROnPlateau",
           (Slider("factor", **_FRACTION | {"high": 0.95}), Slider("patience", "int", low=0, high=50, step=1),
            Slider("cooldown", "int", low=0, high=50, step=1), Slider("min_lr", "log", 1e-5, 1e-7, 1e-1))),
    _Entry("SWALR", "SWALR", (Slider("swa_lr", "log", 0.01, 1e-4, 1.0),
                              Slider("anneal_epochs", "int", 20, 1, 100, 1, unit="epochs"),
                              Slider("anneal_strategy", "choice", options=("cos", "linear")))),
)

EXPLORER_SCHEDULERS: tuple[str, ...] = tuple(e.label for e in _ENTRIES)
"""The schedulers :func:`explorer` offers, in menu order."""


def _scheduler_class(name: str) -> type:
    from torch.optim import lr_scheduler
    from torch.optim.swa_utils import SWALR

    cls = SWALR if name == "SWALR" else getattr(lr_scheduler, name, None)
    if not (isinstance(cls, type) and issubclass(cls, (lr_scheduler.LRScheduler, lr_scheduler.ReduceLROnPlateau))):
        raise ValueError(f"the explorer's catalogue names {name!r}, which is not a scheduler class of "
                         f"torch.optim.lr_scheduler (or SWALR)")
    return cls


@functools.lru_cache(maxsize=1)
def _explorer_catalogue() -> dict[str, tuple[list[Slider], Callable[..., Any]]]:
    """The explorer's schedulers, built once on first use: label -> (its controls, ``build(opt, values, total, spe)``).

    Each control's ``TORCH_DEFAULT`` is read from its scheduler's signature, and every name a control passes
    on must be a parameter there: a scheduler that renames a parameter fails here, naming it.
    """
    catalogue = {}
    for entry in _ENTRIES:
        cls = _scheduler_class(entry.scheduler)
        parameters = inspect.signature(cls).parameters
        controls = [c._with_default(entry.scheduler, parameters) for c in entry.controls]
        if entry.build is None and entry.arguments is None:
            unknown = [c.name for c in controls if c.name not in parameters]
            if unknown:
                raise ValueError(f"the explorer's {entry.label} has controls that are not parameters of "
                                 f"{entry.scheduler}: {', '.join(unknown)}")
        catalogue[entry.label] = (controls, functools.partial(_build, entry, cls, tuple(controls)))
    return catalogue


def _build(entry: _Entry, cls: type, controls: tuple[Slider, ...], opt, values: Mapping[str, Any], total: int,
           spe: int):
    """``entry``'s scheduler on ``opt`` from the controls' ``values``, for ``total`` steps of ``spe`` per epoch."""
    per_step = {c.name: _per_step(c, values[c.name], spe) for c in controls}
    if entry.build is not None:
        return entry.build(opt, per_step, total, spe)
    kwargs = entry.arguments(per_step, total) if entry.arguments else per_step
    return cls(opt, **kwargs)


def _explore_trace(scheduler: str, params: Mapping[str, Any], epochs: int, steps_per_epoch: int, lr: float) -> Trace:
    sliders, build = _explorer_catalogue()[scheduler]
    values = {s.name: s.default for s in sliders} | dict(params)
    total = epochs * steps_per_epoch
    if scheduler == "ReduceLROnPlateau":
        return trace(lambda opt: build(opt, values, total, steps_per_epoch), epochs, steps_per_epoch=steps_per_epoch,
                     lr=lr, metrics=_plateau_metric(epochs), name=scheduler)
    return trace(lambda opt: build(opt, values, total, steps_per_epoch), epochs, steps_per_epoch=steps_per_epoch,
                 lr=lr, interval="batch", name=scheduler)


def _schedule_summary(scheduler: str, params: Mapping[str, Any], epochs: int, steps_per_epoch: int, lr: float) -> str:
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
        scheduler = check_choice(scheduler, "scheduler", EXPLORER_SCHEDULERS)
        # the sliders' ranges: a value outside would be clamped silently and the curve drawn for another one
        slider = "the explorer's slider range; for other values use trace() and plot_trace()"
        check_int(epochs, "epochs", minimum=1, maximum=400, what=slider)
        check_int(steps_per_epoch, "steps_per_epoch", minimum=1, maximum=20, what=slider)
        check_number(lr, "lr", low=1e-5, high=10.0, what=slider)
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
        description = _schedule_summary(name, values, epochs, spe, lr)
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
