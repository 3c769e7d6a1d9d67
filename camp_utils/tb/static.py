"""TensorBoard where its page cannot go: the scalars of a runs folder as a static figure, and a diagnosis.

VS Code, Positron and Kaggle notebooks often cannot show ``%tensorboard``'s
frame (or time out starting it); Colab shows it through TensorBoard's own Colab
support. :func:`plot_scalars` draws what the SCALARS tab would draw -- every
tag, every run, raw and smoothed the way TensorBoard smooths -- from the event
files alone, with matplotlib; :func:`diagnose_tensorboard` says which of the
known causes applies to this machine and folder.
"""
from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..checks import check_number
from .events import read_scalars

__all__ = ["smooth_like_tensorboard", "plot_scalars", "diagnose_tensorboard", "FRAMELESS_FRONTENDS"]

FRAMELESS_FRONTENDS = {
    "VSCODE_PID": "VS Code",
    "POSITRON": "Positron",
    "KAGGLE_KERNEL_RUN_TYPE": "Kaggle",
}
"""Environment variables that give away a notebook front end where ``%tensorboard``'s frame often fails."""


def smooth_like_tensorboard(values: Sequence[float], weight: float = 0.6) -> list[float]:
    """The smoothed line TensorBoard draws over ``values`` at smoothing ``weight`` (its slider; default 0.6).

    TensorBoard's scalar charts use a debiased exponential moving average:
    ``last = weight * last + (1 - weight) * value``, shown as
    ``last / (1 - weight ** n)`` after ``n`` finite points; a non-finite
    value is shown as it is and skipped, and a constant series is not smoothed.

    Raises:
        ValueError: ``weight`` outside ``[0, 1)``.
    """
    weight = check_number(weight, "weight", low=0.0, high=1.0, high_open=True)
    values = [float(v) for v in values]
    if not values or all(v == values[0] for v in values):
        return values
    smoothed, last, count = [], 0.0, 0
    for value in values:
        if not math.isfinite(value):
            smoothed.append(value)
            continue
        last = last * weight + (1 - weight) * value
        count += 1
        smoothed.append(last / (1 - weight**count))
    return smoothed


def plot_scalars(folder: str | os.PathLike, tags: Sequence[str] | None = None, *, smoothing: float = 0.6,
                 columns: int = 3):
    """Every scalar tag of the runs under ``folder``, one chart per tag, as TensorBoard's SCALARS tab draws them.

    Each run is a faint raw line and a smoothed one in the same colour
    (:func:`smooth_like_tensorboard`), against the step. Returns the figure.

    Raises:
        ValueError: no scalars under ``folder`` (the message names it), an unknown tag, or bad ``columns``.
    """
    import matplotlib.pyplot as plt

    scalars = read_scalars(folder)
    by_tag: dict[str, dict[str, object]] = {}
    for run, series in scalars.items():
        for tag, line in series.items():
            by_tag.setdefault(tag, {})[run] = line
    if not by_tag:
        raise ValueError(f"no scalars under {Path(folder)}: point it at the folder the SummaryWriter wrote")
    if tags is not None:
        unknown = [t for t in tags if t not in by_tag]
        if unknown:
            raise ValueError(f"tags {unknown} are not in {Path(folder)}; it has {sorted(by_tag)}")
        by_tag = {t: by_tag[t] for t in tags}
    if not isinstance(columns, int) or columns < 1:
        raise ValueError(f"columns must be a whole number >= 1, got {columns!r}")
    columns = min(columns, len(by_tag))
    rows = math.ceil(len(by_tag) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows), squeeze=False)
    for ax, (tag, runs) in zip(axes.flat, sorted(by_tag.items())):
        for i, (run, line) in enumerate(sorted(runs.items())):
            color = f"C{i % 10}"
            ax.plot(line.steps, line.values, color=color, alpha=0.25, linewidth=1)
            ax.plot(line.steps, smooth_like_tensorboard(line.values, smoothing), color=color, linewidth=1.6,
                    label=run if run != "." else Path(folder).name)
        ax.set(title=tag, xlabel="step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(by_tag):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def diagnose_tensorboard(folder: str | os.PathLike | None = None, *, environ: Mapping[str, str] | None = None,
                         modules: Sequence[str] | None = None) -> list[tuple[str, str, str]]:
    """Which known cause of "no TensorBoard in my notebook" applies here: ``(status, what, fix)`` triples.

    Checked: the folder holds event files (TensorBoard started on the wrong
    folder shows "No dashboards are active"); the notebook front end can show
    ``%tensorboard``'s frame (VS Code, Positron and Kaggle often cannot; Colab can);
    the course's ``tensorboard`` program exists (else "Timed out waiting for
    TensorBoard to start"); records of dead servers that ``%tensorboard`` would
    "reuse". ``status`` is ``"ok"``, ``"note"`` or ``"problem"``.
    """
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    found = []
    if folder is not None:
        folder = Path(folder)
        events = list(folder.rglob("events.out.tfevents.*")) if folder.is_dir() else []
        if not events:
            where = "does not exist" if not folder.exists() else "holds no event files"
            found.append(("problem", f"{folder} {where}: TensorBoard on it shows 'No dashboards are active'",
                          "--logdir is read from where TensorBoard starts: from a notebook in my_notebooks/, "
                          "use ../runs/<lesson>; from the project folder, runs/<lesson>"))
        else:
            found.append(("ok", f"{folder} holds {len(events)} event file(s)", ""))
    frontends = [name for variable, name in FRAMELESS_FRONTENDS.items() if environ.get(variable)]
    if frontends:
        found.append(("note", f"this notebook runs in {frontends[0]}, where %tensorboard's frame often stays "
                              "empty or times out", "draw the runs without it: plot_scalars(folder); or start "
                                                    "tensorboard --logdir <folder> in a terminal and open its URL"))
    elif "google.colab" in modules or environ.get("COLAB_RELEASE_TAG"):
        found.append(("ok", "Colab, whose %tensorboard shows its frame through TensorBoard's own Colab support", ""))
    else:
        found.append(("ok", "a front end that can show %tensorboard's frame (JupyterLab, Notebook)", ""))
    from .notebook import find_tensorboard_program, notebook_tensorboards

    try:
        program = Path(find_tensorboard_program())
        try:
            shown = f"{program.relative_to(sys.prefix)} of this Python environment"
        except ValueError:
            shown = str(program)
        found.append(("ok", f"the tensorboard program is there ({shown})", ""))
    except Exception as error:  # whatever went wrong is the finding
        found.append(("problem", f"no tensorboard program for %tensorboard ({error}): it would wait and then say "
                                 "'Timed out waiting for TensorBoard to start'",
                      "python course.py setup, then restart the kernel"))
    try:
        from tensorboard import manager

        live = {(info.pid, info.port) for info in notebook_tensorboards()}
        dead = [info for info in manager.get_all() if (info.pid, info.port) not in live]
    except Exception:  # records that cannot be read are no cause to report
        dead = []
    if dead:
        found.append(("note", f"{len(dead)} record(s) of TensorBoards that are no longer running: %tensorboard "
                              "would 'reuse' them and show an empty frame",
                      "camp_utils.tb.forget_dead_tensorboards() (importing camp_utils in a kernel does it)"))
    return found
