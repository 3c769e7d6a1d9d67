"""Plotting boilerplate for the notebooks (matplotlib; nothing global is changed).

* :func:`plot_series` -- several scalar series in one chart (e.g. train vs valid);
* :func:`plot_histogram_ridges` -- histograms over steps as a ridge plot, the
  inline counterpart of TensorBoard's Histograms dashboard.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .tb import Histogram, Scalars

__all__ = ["plot_series", "plot_histogram_ridges"]


def _axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(5, 3.2))[1]


def plot_series(
    series: Mapping[str, Scalars | tuple[Sequence[float], Sequence[float]]],
    ax=None,
    *,
    title: str | None = None,
    xlabel: str = "step",
    ylabel: str | None = None,
    marker: str | None = "o",
):
    """Draw each ``label -> series`` as a line in one chart and return the Axes.

    Args:
        series: :class:`~camp_utils.tb.Scalars` (from ``read_scalars``) or
            ``(steps, values)`` pairs, keyed by the legend label.
        ax: Axes to draw on; default a new figure.

    Raises:
        ValueError: if ``series`` is empty or a series' steps and values differ in length.
    """
    if not series:
        raise ValueError("series is empty; pass at least one label -> (steps, values)")
    ax = _axes(ax)
    for label, s in series.items():
        steps, values = (s.steps, s.values) if isinstance(s, Scalars) else s
        if len(steps) != len(values):
            raise ValueError(f"series {label!r} has {len(steps)} steps but {len(values)} values")
        ax.plot(steps, values, marker=marker, markersize=3, label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def plot_histogram_ridges(
    records: Sequence[Histogram],
    ax=None,
    *,
    title: str | None = None,
    overlap: float = 1.5,
    cmap: str = "viridis",
    label: str = "step",
):
    """Draw histograms as stacked ridges, one per record, oldest at the back (top).

    Each ridge is a density (counts / bucket width, scaled so the tallest
    ridge is ``overlap`` rows high), so buckets of different widths compare
    fairly. This is what TensorBoard's Histograms dashboard shows in its
    "offset" mode.

    Args:
        records: ``Histogram`` s in the order to stack them (e.g. one per epoch).
        ax: Axes to draw on; default a new figure.
        overlap: height of the tallest ridge in rows.
        label: what a row is, for the y axis ("epoch", "layer", ...).

    Raises:
        ValueError: if ``records`` is empty.
    """
    if not records:
        raise ValueError("records is empty; read them with camp_utils.tb.read_histograms")
    import matplotlib as mpl

    ax = _axes(ax)
    densities = []
    for r in records:
        widths = np.diff(r.edges)
        density = np.divide(r.counts, widths, out=np.zeros_like(r.counts), where=widths > 0)
        densities.append(density / max(r.num, 1))
    peak = max((d.max() for d in densities if d.size), default=1.0) or 1.0
    colours = mpl.colormaps[cmap](np.linspace(0, 0.9, len(records)))
    for row, (r, d, colour) in enumerate(zip(records, densities, colours)):
        base = len(records) - 1 - row
        xs = np.repeat(r.edges, 2)[1:-1]
        ys = base + overlap * np.repeat(d, 2) / peak
        ax.fill_between(xs, base, ys, color=colour, alpha=0.75, linewidth=0.6, edgecolor="black", zorder=row)
    ax.set_yticks(range(len(records)))
    ax.set_yticklabels([str(r.step) for r in reversed(records)])
    ax.set(title=title, ylabel=label)
    return ax
