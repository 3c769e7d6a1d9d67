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

Lessons with a checker: 19 (a ReduceLROnPlateau run), 20 (the curve y = 2x),
21 (Loss and Accuracy, Train and Valid in one chart), 22 (a ``make_grid`` of a
training batch, as TensorBoard stored it) and 23 (what a forward hook on
AlexNet's first convolution records with an in-place ReLU and without one;
this one checks the two tensors the learner recorded, not files).
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
            Lesson 19 needs it (the folder holds the lesson's four other runs).
        tag: lesson 22: the image tag to check; default: the run's only image
            tag (or the last one written).
        captured: lesson 23 only: ``{True: maps, False: maps}``, the
            ``(B, 64, 55, 55)`` outputs of ``alexnet().features[0]`` that your
            forward hook recorded with the ReLU after it in place (``True``) and
            not in place (``False``), for the same image.

    Returns:
        A :class:`HomeworkResult`; ``print`` it. It is truthy when correct.

    Raises:
        ValueError: a lesson without a checker; ``captured`` missing for lesson 23
            or given for another lesson; lesson 19 without ``run``.
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
    check = {19: _check_19, 20: _check_20, 21: _check_21}[lesson]
    correct, message = check(scalars)
    return HomeworkResult(lesson, correct, message)


def _read(folder: Path) -> tuple[dict, str]:
    """``read_scalars(folder)`` with the learner's usual mistakes turned into sentences."""
    from .tb import read_scalars

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


def _check_19(scalars: dict) -> tuple[bool, str]:
    lr_runs = [run for run, tags in sorted(scalars.items()) if "LearningRate" in tags]
    if not lr_runs:
        return False, say("hw19.no_lr")
    run = lr_runs[0]
    lrs = list(scalars[run]["LearningRate"].values)
    if len(lrs) < 3:
        return False, say("hw19.few_epochs", count=len(lrs))
    rises = [i for i in range(1, len(lrs)) if lrs[i] > lrs[i - 1] * (1 + 1e-6)]
    if rises:
        i = rises[0]
        return False, say("hw19.rises", epoch=i, before=f"{lrs[i - 1]:.3g}", after=f"{lrs[i]:.3g}")
    cuts = [(i, lrs[i] / lrs[i - 1]) for i in range(1, len(lrs)) if lrs[i] < lrs[i - 1] * (1 - 1e-6)]
    if not cuts:
        return False, say("hw19.never_changed", lr=f"{lrs[0]:.3g}", count=len(lrs))
    factors = {round(f, 3) for _, f in cuts}
    if len(factors) > 1 and len(cuts) >= len(lrs) - 2:
        listed = ", ".join(f"x{f:g}" for f in sorted(factors))
        return False, say("hw19.annealing", factors=listed)
    valid = [r for r in scalars if r.rstrip("/").endswith(("Loss_valid", "valid")) and "Loss" in scalars[r]]
    if not valid:
        return False, say("hw19.no_valid")
    epochs = ", ".join(str(i) for i, _ in cuts)
    return True, say("hw19.correct", cuts=len(cuts), epochs=epochs,
                     factor="/".join(f"x{f:g}" for f in sorted(factors)), count=len(lrs))


def _check_22(folder: Path, tag: str | None) -> tuple[bool, str]:
    import numpy as np

    from .tb import read_images

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
    else:
        tag = max(records, key=lambda t: records[t][-1].wall_time)
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
    clipped = float(np.mean((content == 0) | (content == 255)))
    if clipped > 0.4:
        return False, say("hw22.clipped", share=clipped, tag=tag)
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
        if maps.dim() != 4 or tuple(maps.shape[1:]) != (64, 55, 55):
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
    if len(runs) > 1:
        return False, say("hw20.many_runs", count=len(runs), wanted=wanted, runs=", ".join(r for r, _ in runs))
    run, line = runs[0]
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


def _check_21(scalars: dict) -> tuple[bool, str]:
    verdicts = []
    for tag in ("Loss", "Accuracy"):
        pairs = _train_valid_pairs(scalars, tag)
        if not pairs:
            with_tag = sorted(run for run, tags in scalars.items() if tag in tags)
            if not with_tag:
                written = sorted({t for v in scalars.values() for t in v})
                return False, say("hw21.no_tag", tag=tag, written=written)
            sides = {side for run in with_tag for side in ("train", "valid") if run.rstrip("/").endswith(side)}
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
        if max(valid.steps) < min(train.steps) or min(valid.steps) > max(train.steps):
            return False, say("hw21.step_axes", tag=tag, vmin=min(valid.steps), vmax=max(valid.steps),
                              tmin=min(train.steps), tmax=max(train.steps))
        verdicts.append(say("hw21.verdict", tag=tag, train=len(train.steps), valid=len(valid.steps), base=base))
    return True, say("hw.join").join(verdicts) + say("hw.correct_suffix")


def _train_valid_pairs(scalars: dict, tag: str) -> list[tuple[str, object, object]]:
    """``(base, train, valid)`` for runs that TensorBoard draws in one chart under ``tag``.

    Way A, ``add_scalars(tag, {"train": .., "valid": ..})``: runs ``<base>/<tag>_train`` and
    ``<base>/<tag>_valid``. Way B, two writers: runs ``<base>/train`` and ``<base>/valid``.
    """
    pairs = []
    for run, tags in sorted(scalars.items()):
        if tag not in tags:
            continue
        for suffix in (f"{tag}_train", "train"):
            if run == suffix or run.endswith("/" + suffix):
                base = run[: len(run) - len(suffix)]
                partner = base + suffix.replace("train", "valid")
                if partner in scalars and tag in scalars[partner]:
                    pairs.append((base.rstrip("/") or ".", tags[tag], scalars[partner][tag]))
    return pairs
