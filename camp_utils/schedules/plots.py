"""Pictures of schedules and of the LR range test (matplotlib is imported only when a figure is drawn)."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from .range_test import LRFindResult
from .trace import Trace

__all__ = ["plot_trace", "plot_lr_find"]


def _new_axes(ax, figsize=(6, 3.4)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1]


def _as_traces(traces: Trace | Iterable[Trace] | Mapping[str, Trace]) -> list[tuple[str, Trace]]:
    if isinstance(traces, Trace):
        return [(traces.name, traces)]
    if isinstance(traces, (str, bytes)) or not isinstance(traces, Iterable):
        shown = repr(traces) if len(repr(traces)) <= 60 else repr(traces)[:57] + "..."
        raise ValueError(f"traces must be a Trace (from trace()), a list of them or a dict label -> Trace, "
                         f"got {shown} ({type(traces).__name__})")
    items = list(traces.items()) if isinstance(traces, Mapping) else [(None, t) for t in traces]
    if not items:
        raise ValueError("traces is empty; pass a Trace, a list of them or a dict label -> Trace")
    for i, (label, t) in enumerate(items):
        if not isinstance(t, Trace):
            where = f"for {label!r}" if label is not None else f"at position {i}"
            raise ValueError(f"traces must hold Trace objects (from trace()), got {type(t).__name__} {where}")
    return [(t.name if label is None else label, t) for label, t in items]


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
        title: the chart's title.
        xlabel: the x axis' label.

    Raises:
        ValueError: ``traces`` is not a Trace, a list or a dict of them (a
            str, a number), is empty or holds something else, or a group index
            a trace does not have.
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


def _check_lr_find_result(result: LRFindResult) -> None:
    """What :func:`plot_lr_find` draws must fit together: one loss and one smoothed loss per lr, marks among the lrs.

    ``lr_find()`` always returns such a result; one made by hand
    (``LRFindResult(lrs=..., losses=...)``) may not.
    """
    if not isinstance(result, LRFindResult) or not result.lrs:
        raise ValueError("result must be an LRFindResult from lr_find() with at least one step")
    advice = "pass what lr_find() returned, or fill lrs, losses, smoothed, suggestion and min_loss_lr yourself"
    for field in ("losses", "smoothed"):
        values = getattr(result, field)
        try:
            count = len(values)
        except TypeError:
            count = None
        if count != len(result.lrs):
            got = f"{count} values" if count is not None else f"a {type(values).__name__}"
            raise ValueError(f"result.{field} must hold one value per lr ({len(result.lrs)} values), got {got}; "
                             f"{advice}")
    for field in ("suggestion", "min_loss_lr"):
        value = getattr(result, field)
        if value not in result.lrs:
            raise ValueError(f"result.{field} must be one of result.lrs (it is marked on the curve), got {value!r}; "
                             f"{advice}")


def plot_lr_find(result: LRFindResult, ax=None, *, title: str | None = "LR range test"):
    """Loss against lr (log scale): raw losses faint, the smoothed curve, the suggestion marked. Returns the Axes.

    Raises:
        ValueError: ``result`` is not an :class:`LRFindResult` with at least
            one step, or its parts do not fit together (a result made by hand:
            ``losses`` or ``smoothed`` not one per lr, ``suggestion`` or
            ``min_loss_lr`` not among the lrs).
    """
    _check_lr_find_result(result)
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
