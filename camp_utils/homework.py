"""Checkers a learner calls on their own homework: ``check_homework(20)``.

Each checker reads what the learner's code wrote (TensorBoard event files
under ``runs/<lesson>/``) and answers in one sentence: what is right, or the
first thing that is wrong and how to fix it ("the tag is 'y = 2x', not
'y=2x'", "steps 1..100 instead of 0..99", "nothing flushed yet"). It works
offline and changes nothing. In the spirit of Kaggle Learn's ``check()``, but
small: the homework of this course is a few curves, which TensorBoard's own
reader (:func:`camp_utils.tb.read_scalars`) reads back exactly, so a grading
framework (nbgrader, otter-grader: built for a teacher collecting and scoring
many learners' notebooks) would add machinery without adding a check.

Each checker judges by the lesson's own definition, not by the look of a
typical answer. Lesson 19: a ReduceLROnPlateau run, i.e. its learning rate
was cut exactly where ``ReduceLROnPlateau`` cuts it on the validation loss the
run logged (the checker replays it). 20: the curve y = 2x. 21: Loss and
Accuracy, Train and Valid in one chart, as TensorBoard draws it (ways A, B and
C of the lesson), on one step axis. 22: a ``make_grid`` of a training batch,
as TensorBoard stored it. 23: what a forward hook on AlexNet's first
convolution records with an in-place ReLU and without one (this one checks
the two tensors the learner recorded, not files).
"""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from .checks import check_int
from .messages import say
from .paths import runs_dir
from .tb import read_images, read_scalars
from .tb._reader import load_runs

__all__ = ["HomeworkResult", "check_homework", "HOMEWORK_LESSONS"]

HOMEWORK_LESSONS = (19, 20, 21, 22, 23)
"""The lessons :func:`check_homework` can check."""


@dataclass(frozen=True)
class HomeworkResult:
    """The verdict: ``correct`` and a one-sentence ``message`` (also what ``print`` shows)."""

    lesson: int
    correct: bool
    message: str

    def __str__(self) -> str:
        return say("hw.result", lesson=self.lesson, message=self.message)

    def __bool__(self) -> bool:
        return self.correct


def check_homework(lesson: int, logdir: str | os.PathLike | None = None, *, run: str | None = None,
                   tag: str | None = None, captured: dict | None = None) -> HomeworkResult:
    """Check the homework of ``lesson`` from what your code wrote.

    Args:
        lesson: one of :data:`HOMEWORK_LESSONS`: 19 (the ReduceLROnPlateau run
            of ``fit(..., writer=run_writer(19, name))``), 20 (y = 2x), 21 (Loss
            and Accuracy, train and valid), 22 (an image written with
            ``add_image(tag, make_grid(batch))``), 23 (pass ``captured``).
        logdir: the folder the homework wrote to; default ``runs/<lesson>``
            (``$CAMP_RUNS_DIR/<lesson>``), where ``run_writer(lesson, ...)`` writes.
        run: check only this run and the runs below it (``"my_lenet"`` for
            ``run_writer(21, "my_lenet")`` and its ``Loss_train``, ...), so
            that the lesson's own runs in the same folder do not count.
            Lessons 19 and 21 need it (their folders hold the lesson's own
            runs). Lesson 20 without it checks the run written last and names
            the others that hold the curve too.
        tag: lesson 22: the image tag to check; default: the run's only image
            tag (a run with several asks you to name one).
        captured: lesson 23 only: ``{True: maps, False: maps}``, the
            ``(B, 64, H', W')`` outputs of ``alexnet().features[0]`` (55 x 55 for a
            224 x 224 image; any photo size works) that your
            forward hook recorded with the ReLU after it in place (``True``) and
            not in place (``False``), for the same image.

    Returns:
        A :class:`HomeworkResult`; ``print`` it. It is truthy when correct.

    Raises:
        ValueError: a lesson without a checker; ``captured`` missing for lesson 23
            or given for another lesson; lesson 19 or 21 without ``run``.
    """
    lesson = check_int(lesson, "lesson", what="lesson number")
    if lesson not in HOMEWORK_LESSONS:
        raise ValueError(f"lesson must be one of {', '.join(map(str, HOMEWORK_LESSONS))} (the lessons with a "
                         f"homework checker), got {lesson}")
    if (lesson == 23) != (captured is not None):
        raise ValueError("captured is the input of lesson 23's checker (what your hook recorded, "
                         "{True: maps, False: maps}); the other lessons read their runs/ folder"
                         if lesson == 23 else f"captured is only for lesson 23; lesson {lesson} reads runs/{lesson}")
    if lesson == 23:
        correct, message = _check_23(captured)
        return HomeworkResult(lesson, correct, message)
    if lesson == 19 and run is None:
        raise ValueError("run must name your ReduceLROnPlateau run for lesson 19, e.g. run='plateau' for "
                         "run_writer(19, 'plateau'): runs/19 also holds the lesson's own four runs")
    if lesson == 21 and run is None:
        raise ValueError("run must name your run for lesson 21, e.g. run='my_lenet' for "
                         "run_writer(21, 'my_lenet'): runs/21 also holds the lesson's own runs, "
                         "and a right one of those must not make yours pass")
    folder = Path(logdir) if logdir is not None else runs_dir() / str(lesson)
    if run is not None:
        if not isinstance(run, str) or not run.strip("/"):
            raise ValueError(f"run must be the name of a run, e.g. 'my_lenet', got {run!r}")
        folder = folder / run.strip("/")
    if lesson == 22:
        correct, message = _check_22(folder, tag)
        return HomeworkResult(lesson, correct, message)
    scalars, problem = _read(folder)
    if problem:
        return HomeworkResult(lesson, False, problem)
    if run is not None:  # names relative to logdir, as TensorBoard shows them
        prefix = run.strip("/")
        scalars = {(prefix if r == "." else f"{prefix}/{r}"): tags for r, tags in scalars.items()}
    if lesson == 19:
        correct, message = _check_19(scalars, _texts(folder, "scheduler"))
    elif lesson == 21:
        correct, message = _check_21(scalars, _multiline_charts(folder, run.strip("/")))
    else:
        correct, message = _check_20(scalars)
    return HomeworkResult(lesson, correct, message)


def _read(folder: Path) -> tuple[dict, str]:
    """``read_scalars(folder)`` with the learner's usual mistakes turned into sentences."""
    if not folder.is_dir():
        return {}, say("hw.no_folder", name=folder.name, folder=folder)
    if not any(p.name.startswith("events.out.tfevents") for p in folder.rglob("*")):
        return {}, say("hw.no_events", name=folder.name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return read_scalars(folder), ""
        except ValueError:
            return {}, say("hw.no_scalars")


# What the lesson-19 checker tries when it replays ReduceLROnPlateau: every patience and cooldown a
# learner would choose, TensorBoard's default threshold and two coarser ones, no floor or the lowest lr.
_PLATEAU_PATIENCE = range(11)
_PLATEAU_COOLDOWN = range(4)
_PLATEAU_THRESHOLDS = (1e-4, 1e-3, 1e-2)


def _valid_loss_line(scalars: dict, lr_run: str):
    """The validation loss that belongs to ``lr_run``: fit's ``<run>/Loss_valid``, way B's
    ``<run>/valid`` or way C's ``Loss/valid`` tag in the run itself.
    """
    base = "" if lr_run == "." else lr_run.rstrip("/") + "/"
    for split in _VALID_NAMES:
        for run, tag in ((f"{base}Loss_{split}", "Loss"), (f"{base}{split}", "Loss"), (lr_run, f"Loss/{split}")):
            if tag in scalars.get(run, {}):
                return scalars[run][tag]
    return None


def _per_epoch(lr_line, valid_line) -> tuple[list[float], list[float]]:
    """``(lrs, losses)``: the lr used in each epoch and the validation loss after it.

    The lr may be logged once per epoch (one point per validation) or per batch; then an
    epoch's lr is the last one logged before its validation.
    """
    valid = sorted(zip(valid_line.steps, valid_line.values))
    logged = sorted(zip(lr_line.steps, lr_line.values))
    if len(logged) <= len(valid):
        n = len(logged)
        return [v for _, v in logged][:n], [v for _, v in valid][:n]
    lrs = []
    for step, _ in valid:
        before = [lr for s, lr in logged if s < step]
        if not before:
            break
        lrs.append(before[-1])
    return lrs, [v for _, v in valid][: len(lrs)]


def _replay_plateau(lrs: list[float], losses: list[float], factor: float, patience: int, cooldown: int,
                    threshold: float, min_lr: float) -> list[float]:
    """The lr of every epoch as ``ReduceLROnPlateau`` sets it from ``losses``, starting at ``lrs[0]``."""
    import torch
    from torch.optim.lr_scheduler import ReduceLROnPlateau

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lrs[0])
    scheduler = ReduceLROnPlateau(optimizer, factor=factor, patience=patience, cooldown=cooldown,
                                  threshold=threshold, min_lr=min_lr)
    replayed = [lrs[0]]
    for loss in losses[: len(lrs) - 1]:
        scheduler.step(loss)
        replayed.append(optimizer.param_groups[0]["lr"])
    return replayed


def _same_lrs(a: list[float], b: list[float]) -> int:
    """How many leading epochs agree (logged lrs are float32: relative tolerance 1e-5)."""
    for i, (x, y) in enumerate(zip(a, b)):
        if not math.isclose(x, y, rel_tol=1e-5, abs_tol=1e-12):
            return i
    return min(len(a), len(b))


def _epochs(indices) -> str:
    return ", ".join(str(i + 1) for i in indices)


def _check_19(scalars: dict, schedulers: list[str]) -> tuple[bool, str]:
    lr_runs = [run for run, tags in sorted(scalars.items()) if "LearningRate" in tags]
    if not lr_runs:
        return False, say("hw19.no_lr")
    others = [s for s in schedulers if not s.startswith(("ReduceLROnPlateau(", "no scheduler"))]
    if others:  # fit(..., writer=...) wrote which scheduler trained the run
        return False, say("hw19.other_scheduler", scheduler=others[0].split(" · ")[0])
    run = lr_runs[0]
    lr_line = scalars[run]["LearningRate"]
    if len(lr_line.values) < 3:
        return False, say("hw19.few_epochs", count=len(lr_line.values))
    valid_line = _valid_loss_line(scalars, run)
    if valid_line is None:
        return False, say("hw19.no_valid")
    lrs, losses = _per_epoch(lr_line, valid_line)
    lrs = lrs[: len(losses)]
    if len(lrs) < 3:
        return False, say("hw19.few_epochs", count=len(lrs))
    rises = [i for i in range(1, len(lrs)) if lrs[i] > lrs[i - 1] * (1 + 1e-6)]
    if rises:
        i = rises[0]
        return False, say("hw19.rises", epoch=i, before=f"{lrs[i - 1]:.3g}", after=f"{lrs[i]:.3g}")
    cuts = [i - 1 for i in range(1, len(lrs)) if lrs[i] < lrs[i - 1] * (1 - 1e-6)]  # cut after epoch index i-1
    if not cuts:
        return False, say("hw19.never_changed", lr=f"{lrs[0]:.3g}", count=len(lrs))
    # A cut after an epoch whose validation loss clearly beat every earlier one: no patience explains it.
    if cuts[0] == 0:
        return False, say("hw19.cut_after_first")
    for e in cuts:
        best = min(losses[:e])
        if losses[e] < best * (1 - max(_PLATEAU_THRESHOLDS)):
            return False, say("hw19.cut_after_improvement", epoch=e + 1, best=f"{best:.4g}",
                              loss=f"{losses[e]:.4g}")
    factor = lrs[cuts[0] + 1] / lrs[cuts[0]]
    floors = sorted({0.0, min(lrs)})
    closest, closest_agree = None, -1
    for patience in _PLATEAU_PATIENCE:
        for cooldown in _PLATEAU_COOLDOWN:
            for threshold in _PLATEAU_THRESHOLDS:
                for floor in floors:
                    replayed = _replay_plateau(lrs, losses, factor, patience, cooldown, threshold, floor)
                    agree = _same_lrs(replayed, lrs)
                    if agree == len(lrs):
                        setting = f"patience={patience}" + (f", cooldown={cooldown}" if cooldown else "")
                        return True, say("hw19.correct", cuts=len(cuts), epochs=_epochs(cuts),
                                         factor=f"x{factor:.3g}", setting=setting, count=len(lrs))
                    if agree > closest_agree:
                        closest, closest_agree = (patience, replayed), agree
    patience, replayed = closest
    expected = [i - 1 for i in range(1, len(replayed)) if replayed[i] < replayed[i - 1] * (1 - 1e-6)]
    return False, say("hw19.cuts_elsewhere", epochs=_epochs(cuts), patience=patience,
                      expected=_epochs(expected) or say("hw19.nowhere"))


def _check_22(folder: Path, tag: str | None) -> tuple[bool, str]:
    import numpy as np

    if not folder.is_dir():
        return False, say("hw.no_folder", name=folder.name, folder=folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            images = read_images(folder)
        except ValueError:
            return False, say("hw22.no_images", name=folder.name)
    records = {t: recs for tags in images.values() for t, recs in tags.items()}
    if tag is not None:
        if tag not in records:
            return False, say("hw22.no_tag", tag=tag, tags=sorted(records))
    elif len(records) > 1:
        return False, say("hw22.which_tag", count=len(records), tags=sorted(records), first=sorted(records)[0])
    else:
        tag = next(iter(records))
    picture = records[tag][-1].array
    height, width = picture.shape[:2]
    flat = picture.reshape(height, width, -1)
    same_row = (flat == flat[:, :1]).all(axis=(1, 2))  # a row of one colour: a padding line of the grid
    same_col = (flat == flat[:1]).all(axis=(0, 2))
    inner_rows = same_row[3:-3].any() if height > 6 else False
    inner_cols = same_col[3:-3].any() if width > 6 else False
    if not (inner_rows or inner_cols):
        return False, say("hw22.one_picture", tag=tag, width=width, height=height)
    content = flat[~same_row][:, ~same_col]
    # A batch still normalised (about -2..2) is clipped at both ends: black where it was below 0, white
    # above 1 -- measured: 49-78 % zeros and 15-25 % 255s (the shapes, FashionMNIST, a photo). A correct
    # batch may have one end only: FashionMNIST or MNIST on black (50-80 % zeros, under 1 % 255s), or
    # objects on white.
    low, high = float(np.mean(content == 0)), float(np.mean(content == 255))
    if min(low, high) >= 0.05 and low + high >= 0.25:
        return False, say("hw22.clipped", low=low, high=high, tag=tag)
    return True, say("hw22.correct", tag=tag, width=width, height=height)


def _check_23(captured) -> tuple[bool, str]:
    import torch

    if not isinstance(captured, dict) or set(captured) != {True, False}:
        raise ValueError("captured must be {True: maps, False: maps}: what the hook recorded with inplace=True and "
                         f"with inplace=False, got {type(captured).__name__}"
                         + (f" with keys {sorted(captured, key=str)}" if isinstance(captured, dict) else ""))
    for inplace, maps in captured.items():
        if not isinstance(maps, torch.Tensor):
            return False, say("hw23.not_tensor", inplace=inplace, kind=type(maps).__name__)
        if maps.dim() != 4 or maps.shape[1] != 64:  # (B, 64, H', W'): 55 x 55 for a 224 x 224 image
            return False, say("hw23.shape", inplace=inplace, shape=tuple(maps.shape))
    with_relu, without = captured[True].detach().float(), captured[False].detach().float()
    if with_relu.shape != without.shape:
        return False, say("hw23.shapes_differ", first=tuple(with_relu.shape), second=tuple(without.shape))
    if not (torch.isfinite(with_relu).all() and torch.isfinite(without).all()):
        return False, say("hw23.not_finite")
    negative = bool((without < 0).any())
    if (with_relu < 0).any():
        return False, say("hw23.inplace_negative")
    if not negative:
        return False, say("hw23.no_negative")
    if not torch.allclose(with_relu, without.clamp_min(0), atol=1e-5, rtol=1e-4):
        return False, say("hw23.relu_differs")
    return True, say("hw23.correct")


def _squash(tag: str) -> str:
    return "".join(tag.split()).lower()


def _check_20(scalars: dict) -> tuple[bool, str]:
    wanted = "y=2x"
    runs = [(run, tags[wanted]) for run, tags in sorted(scalars.items()) if wanted in tags]
    if not runs:
        near = sorted({tag for tags in scalars.values() for tag in tags if _squash(tag) == wanted})
        if near:
            return False, say("hw20.near_tag", near=near[0], wanted=wanted)
        found = sorted({tag for tags in scalars.values() for tag in tags})
        return False, say("hw20.no_tag", wanted=wanted, found=found)
    others = ""
    if len(runs) > 1:  # the learner's attempt beside the lesson's own run: check the run written last
        runs.sort(key=lambda r: max(r[1].wall_times))
        others = say("hw20.others", runs=", ".join(r for r, _ in runs[:-1]), last=runs[-1][0])
    correct, message = _check_20_line(*runs[-1])
    return correct, message + others


def _check_20_line(run: str, line) -> tuple[bool, str]:
    steps, values = list(line.steps), list(line.values)
    if len(steps) != len(set(steps)):
        return False, say("hw20.twice", run=run, points=len(steps), steps=len(set(steps)))
    expected = list(range(100))
    if steps != expected:
        if len(steps) == 100 and steps == list(range(steps[0], steps[0] + 100)):
            return False, say("hw20.shifted", first=steps[0], last=steps[-1])
        if steps == expected[: len(steps)]:
            return False, say("hw20.partial", count=len(steps), last=steps[-1])
        return False, say("hw20.bad_steps", head=steps[:3], tail=steps[-2:])
    wrong = [(s, v) for s, v in zip(steps, values) if not math.isclose(v, 2 * s, rel_tol=0, abs_tol=1e-6)]
    if wrong:
        s, v = wrong[0]
        return False, say("hw20.bad_value", step=s, value=v, double=2 * s)
    return True, say("hw20.correct", run=run)


def _check_21(scalars: dict, charts: dict[str, list[list[str]]]) -> tuple[bool, str]:
    verdicts = []
    for tag in ("Loss", "Accuracy"):
        pairs = _train_valid_pairs(scalars, tag) + _layout_pairs(scalars, charts, tag)
        if not pairs:
            split_tags = _split_tags(scalars, tag)
            if split_tags:  # way C without the layout that puts the two tags in one chart
                run, train_tag, valid_tag = split_tags[0]
                return False, say("hw21.no_layout", tag=tag, train=train_tag, valid=valid_tag, run=run)
            with_tag = sorted(run for run, tags in scalars.items() if tag in tags)
            if not with_tag:
                written = sorted({t for v in scalars.values() for t in v})
                return False, say("hw21.no_tag", tag=tag, written=written)
            sides = {side for run in with_tag for side, names in (("train", _TRAIN_NAMES), ("valid", _VALID_NAMES))
                     if run.rstrip("/").endswith(names)}
            missing = {"train", "valid"} - sides
            if missing:
                return False, say("hw21.missing_side", tag=tag, missing=say("hw21.and_no").join(sorted(missing)),
                                  runs=with_tag)
            return False, say("hw21.unpaired", tag=tag, runs=with_tag)
        base, train, valid = pairs[0]
        for side, line in (("train", train), ("valid", valid)):
            values = list(line.values)
            if not all(math.isfinite(v) for v in values):
                return False, say("hw21.not_finite", tag=tag, side=side)
            if tag == "Accuracy" and not all(0 <= v <= 1 for v in values):
                return False, say("hw21.accuracy_range", tag=tag, side=side, top=max(values))
            if tag == "Loss" and min(values) < 0:
                return False, say("hw21.negative_loss", tag=tag, side=side, low=min(values))
        if len(valid.steps) < 2:
            return False, say("hw21.few_valid", tag=tag, count=len(valid.steps))
        # One step axis: the line that ends first must still reach past the middle of the other's steps.
        # Validation logged at the epoch (0..7) next to training at the iteration (0..1503) fails this: in
        # TensorBoard the valid line is squeezed into the first half percent of the chart.
        start = min(min(train.steps), min(valid.steps))
        vmax, tmax = max(valid.steps), max(train.steps)
        if min(vmax, tmax) - start < 0.5 * (max(vmax, tmax) - start):
            share = (min(vmax, tmax) - start) / max(max(vmax, tmax) - start, 1)
            return False, say("hw21.step_axes", tag=tag, vmin=min(valid.steps), vmax=vmax,
                              tmin=min(train.steps), tmax=tmax, share=share,
                              shorter="valid" if vmax < tmax else "train")
        verdicts.append(say("hw21.verdict", tag=tag, train=len(train.steps), valid=len(valid.steps), base=base))
    return True, say("hw.join").join(verdicts) + say("hw.correct_suffix")


# How learners name the two sides: add_scalars keys, run folders, tag suffixes.
_TRAIN_NAMES = ("train", "training")
_VALID_NAMES = ("valid", "validation", "val")


def _split_tags(scalars: dict, tag: str) -> list[tuple[str, str, str]]:
    """``(run, train_tag, valid_tag)`` for runs with way C's tags ``<tag>/train`` and ``<tag>/valid``."""
    found = []
    for run, tags in sorted(scalars.items()):
        train = [f"{tag}/{n}" for n in _TRAIN_NAMES if f"{tag}/{n}" in tags]
        valid = [f"{tag}/{n}" for n in _VALID_NAMES if f"{tag}/{n}" in tags]
        if train and valid:
            found.append((run, train[0], valid[0]))
    return found


def _layout_pairs(scalars: dict, charts: dict[str, list[list[str]]], tag: str) -> list[tuple[str, object, object]]:
    """Way C: ``(run, train, valid)`` where a custom-scalars Multiline chart of the run holds both tags.

    A chart's entries are regular expressions, matched as TensorBoard's Custom Scalars tab does (search).
    """
    import re

    pairs = []
    for run, train_tag, valid_tag in _split_tags(scalars, tag):
        for patterns in charts.get(run, []):
            def drawn(name, patterns=patterns):
                return any(re.search(p, name) for p in patterns)
            if drawn(train_tag) and drawn(valid_tag):
                pairs.append((run, scalars[run][train_tag], scalars[run][valid_tag]))
                break
    return pairs


def _texts(folder: Path, tag: str) -> list[str]:
    """Every text written with ``add_text(tag, ...)`` below ``folder`` (TensorBoard's TEXT tab)."""
    from tensorboard.util import tensor_util

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            runs, _ = load_runs(folder, "tensors")
        except (OSError, ValueError):
            return []
    texts = []
    for accumulator in runs.values():
        if f"{tag}/text_summary" in accumulator.Tags()["tensors"]:
            for event in accumulator.Tensors(f"{tag}/text_summary"):
                value = tensor_util.make_ndarray(event.tensor_proto)
                texts += [v.decode() if isinstance(v, bytes) else str(v) for v in value.reshape(-1)]
    return texts


def _multiline_charts(folder: Path, prefix: str) -> dict[str, list[list[str]]]:
    """``{run: [[tag pattern, ...], ...]}``: the Multiline charts of custom-scalars layouts below ``folder``,
    with run names prefixed by ``prefix`` (the run ``folder`` is), as the checker names runs.
    """
    from tensorboard.plugins.custom_scalar import layout_pb2
    from tensorboard.util import tensor_util

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            runs, _ = load_runs(folder, "tensors")
        except (OSError, ValueError):
            return {}
    charts: dict[str, list[list[str]]] = {}
    for run, accumulator in runs.items():
        if "custom_scalars__config__" not in accumulator.Tags()["tensors"]:
            continue
        layout = layout_pb2.Layout()
        layout.ParseFromString(tensor_util.make_ndarray(accumulator.Tensors("custom_scalars__config__")[-1]
                                                        .tensor_proto).item())
        name = prefix if run == "." else f"{prefix}/{run}"
        charts[name] = [list(chart.multiline.tag) for category in layout.category for chart in category.chart
                        if chart.WhichOneof("content") == "multiline"]
    return charts


def _train_valid_pairs(scalars: dict, tag: str) -> list[tuple[str, object, object]]:
    """``(base, train, valid)`` for runs that TensorBoard draws in one chart under ``tag``.

    Way A, ``add_scalars(tag, {"train": .., "valid": ..})``: runs ``<base>/<tag>_train`` and
    ``<base>/<tag>_valid``. Way B, two writers: runs ``<base>/train`` and ``<base>/valid``.
    (``training``, ``validation`` and ``val`` are accepted for the two sides.)
    """
    pairs = []
    for run, tags in sorted(scalars.items()):
        if tag not in tags:
            continue
        for train_name in _TRAIN_NAMES:
            for suffix in (f"{tag}_{train_name}", train_name):
                if not (run == suffix or run.endswith("/" + suffix)):
                    continue
                base = run[: len(run) - len(suffix)]
                for valid_name in _VALID_NAMES:
                    partner = base + suffix[: len(suffix) - len(train_name)] + valid_name
                    if partner in scalars and tag in scalars[partner]:
                        pairs.append((base.rstrip("/") or ".", tags[tag], scalars[partner][tag]))
                        break
    return pairs
