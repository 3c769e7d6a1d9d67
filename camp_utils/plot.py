"""Plotting boilerplate for the notebooks (matplotlib; nothing global is changed).

* :func:`plot_series` -- several scalar series in one chart (e.g. train vs valid);
* :func:`plot_histogram_ridges` -- histograms over steps as a ridge plot, the
  inline counterpart of TensorBoard's Histograms dashboard.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .checks import check_int, check_number
from .tb import Histogram, Scalars

__all__ = ["plot_series", "plot_histogram_ridges", "rebin"]


def _axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(5, 3.2))[1]


def _steps_and_values(label: str, s) -> tuple[Sequence[float], Sequence[float]]:
    """``Scalars``, a ``(steps, values)`` pair, or plain values (steps 0, 1, 2, ...)."""
    if isinstance(s, Scalars):
        return s.steps, s.values
    try:
        values = np.asarray(s, dtype=float)
    except (TypeError, ValueError):  # ragged: a (steps, values) pair of different lengths
        values = None
    if values is not None and values.ndim == 1:
        return range(len(values)), values  # plain values, drawn as plt.plot(values) would
    if isinstance(s, (tuple, list)) and len(s) == 2:
        return s[0], s[1]
    raise ValueError(f"series {label!r} must be Scalars, a (steps, values) pair or a list of values; "
                     f"got {type(s).__name__}")


def plot_series(
    series: Mapping[str, Scalars | tuple[Sequence[float], Sequence[float]] | Sequence[float]],
    ax=None,
    *,
    title: str | None = None,
    xlabel: str = "step",
    ylabel: str | None = None,
    marker: str | None = "o",
):
    """Draw each ``label -> series`` as a line in one chart and return the Axes.

    Args:
        series: :class:`~camp_utils.tb.Scalars` (from ``read_scalars``),
            ``(steps, values)`` pairs, or plain lists of values (drawn at
            steps 0, 1, 2, ...), keyed by the legend label.
        ax: Axes to draw on; default a new figure.
        title: the chart's title (none by default).
        xlabel: the x axis' label.
        ylabel: the y axis' label (none by default).
        marker: a matplotlib marker for every point, ``None`` for lines only.

    Raises:
        ValueError: if ``series`` is empty or a series' steps and values differ in length.
    """
    if not series:
        raise ValueError("series is empty; pass at least one label -> (steps, values)")
    ax = _axes(ax)
    for label, s in series.items():
        steps, values = _steps_and_values(label, s)
        if len(steps) != len(values):
            raise ValueError(f"series {label!r} has {len(steps)} steps but {len(values)} values")
        ax.plot(steps, values, marker=marker, markersize=3, label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def rebin(histogram: Histogram, edges: np.ndarray) -> np.ndarray:
    """Counts of ``histogram`` re-distributed onto new bucket ``edges``.

    TensorBoard stores buckets of very different widths (exponentially finer
    towards 0); like its dashboard, we assume values are spread evenly inside
    a bucket and interpolate the cumulative count at the new edges.

    Returns:
        ``len(edges) - 1`` counts that add up to the counts inside ``edges``.

    Raises:
        ValueError: if ``edges`` is not a 1-D array of at least 2 strictly increasing, finite numbers.
    """
    edges = np.asarray(edges, dtype=float)
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ValueError(f"edges must be at least 2 strictly increasing finite numbers, got {edges!r}")
    cumulative = np.concatenate([[0.0], np.cumsum(histogram.counts)])
    at_new_edges = np.interp(edges, histogram.edges, cumulative)
    return np.diff(at_new_edges)


def plot_histogram_ridges(
    records: Sequence[Histogram],
    ax=None,
    *,
    title: str | None = None,
    bins: int = 40,
    overlap: float = 1.6,
    cmap: str = "viridis",
    label: str = "step",
):
    """Draw histograms as stacked ridges, one per record, the first at the top.

    All records are re-binned (:func:`rebin`) onto ``bins`` equal buckets that
    span every record's range, as TensorBoard's Histograms dashboard does in
    its "offset" mode; each ridge shows the fraction of values per bucket, the
    tallest ridge ``overlap`` rows high.

    Args:
        records: ``Histogram`` s in the order to stack them (e.g. one per epoch).
        ax: Axes to draw on; default a new figure.
        title: the chart's title (none by default).
        bins: number of equal buckets.
        overlap: height of the tallest ridge in rows.
        cmap: a matplotlib colour map; the ridges take its colours from top to bottom.
        label: what a row is, for the y axis ("epoch", "layer", ...).

    Raises:
        ValueError: if ``records`` is empty or ``bins`` < 1.
    """
    if not records:
        raise ValueError("records is empty; read them with camp_utils.tb.read_histograms")
    bins = check_int(bins, "bins", minimum=1, what="equal buckets")
    overlap = check_number(overlap, "overlap", positive=True, what="height of the tallest ridge in rows")
    import matplotlib as mpl

    ax = _axes(ax)
    low = min(r.min for r in records)
    high = max(r.max for r in records)
    if high <= low:
        high = low + 1e-12
    edges = np.linspace(low, high, bins + 1)
    fractions = [rebin(r, edges) / max(r.num, 1) for r in records]
    peak = max(f.max() for f in fractions) or 1.0
    colours = mpl.colormaps[cmap](np.linspace(0, 0.9, len(records)))
    xs = np.repeat(edges, 2)[1:-1]
    for row, (f, colour) in enumerate(zip(fractions, colours)):
        base = len(records) - 1 - row
        ys = base + overlap * np.repeat(f, 2) / peak
        ax.fill_between(xs, base, ys, color=colour, alpha=0.8, linewidth=0.6, edgecolor="black", zorder=row)
    ax.set_yticks(range(len(records)))
    ax.set_yticklabels([str(r.step) for r in reversed(records)])
    ax.set(title=title, ylabel=label)
    return ax
