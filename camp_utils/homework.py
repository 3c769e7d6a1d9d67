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
        return f"Lesson {self.lesson} homework: {self.message}"

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
        return {}, (f"there is no folder {folder.name!r} where the homework should write "
                    f"({folder}); run the homework cell first")
    if not any(p.name.startswith("events.out.tfevents") for p in folder.rglob("*")):
        return {}, (f"no event files in {folder.name}/ yet: did the writer write there (log_dir), "
                    "and was it flushed or closed?")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return read_scalars(folder), ""
        except ValueError:
            return {}, ("the event files hold no scalars yet: nothing flushed yet? call writer.flush() "
                        "or writer.close() (or use `with run_writer(...) as writer:`)")


def _check_19(scalars: dict) -> tuple[bool, str]:
    lr_runs = [run for run, tags in sorted(scalars.items()) if "LearningRate" in tags]
    if not lr_runs:
        return False, ("no 'LearningRate' curve in this run: log the lr every epoch "
                       "(fit(..., writer=writer) does it)")
    run = lr_runs[0]
    lrs = list(scalars[run]["LearningRate"].values)
    if len(lrs) < 3:
        return False, f"only {len(lrs)} epoch(s) of 'LearningRate': train for several epochs (the lesson uses 8)"
    rises = [i for i in range(1, len(lrs)) if lrs[i] > lrs[i - 1] * (1 + 1e-6)]
    if rises:
        i = rises[0]
        return False, (f"the lr rises after epoch {i} ({lrs[i - 1]:.3g} -> {lrs[i]:.3g}): ReduceLROnPlateau only "
                       "lowers it; is this run another scheduler (OneCycleLR, a warm-up)?")
    cuts = [(i, lrs[i] / lrs[i - 1]) for i in range(1, len(lrs)) if lrs[i] < lrs[i - 1] * (1 - 1e-6)]
    if not cuts:
        return False, (f"the lr never changed ({lrs[0]:.3g} in all {len(lrs)} epochs): ReduceLROnPlateau cuts it when "
                       "the validation loss has not improved for `patience` epochs; build it with patience=1, pass it "
                       "to fit(..., scheduler=...) (fit calls scheduler.step(valid_loss)) and train a few more epochs")
    factors = {round(f, 3) for _, f in cuts}
    if len(factors) > 1 and len(cuts) >= len(lrs) - 2:
        listed = ", ".join(f"x{f:g}" for f in sorted(factors))
        return False, (f"the lr falls after almost every epoch by different factors ({listed}): that is an "
                       "annealing schedule (cosine, exponential), not ReduceLROnPlateau, whose cuts all use one factor")
    valid = [r for r in scalars if r.rstrip("/").endswith(("Loss_valid", "valid")) and "Loss" in scalars[r]]
    if not valid:
        return False, ("no validation loss in this run (Loss_valid): ReduceLROnPlateau watches it; "
                       "give fit a valid_loader and the writer")
    epochs = ", ".join(str(i) for i, _ in cuts)
    return True, (f"the lr was cut {len(cuts)} time(s) (after epoch {epochs}; factor "
                  f"{'/'.join(f'x{f:g}' for f in sorted(factors))}), never raised, with the validation loss logged "
                  f"({len(lrs)} epochs): correct")


def _check_22(folder: Path, tag: str | None) -> tuple[bool, str]:
    import numpy as np

    from .tb import read_images

    if not folder.is_dir():
        return False, (f"there is no folder {folder.name!r} where the homework should write "
                       f"({folder}); run the homework cell first")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            images = read_images(folder)
        except ValueError:
            return False, (f"no images in {folder.name}/ yet: write the grid with writer.add_image(tag, grid, step) "
                           "and flush or close the writer")
    records = {t: recs for tags in images.values() for t, recs in tags.items()}
    if tag is not None:
        if tag not in records:
            return False, f"no image tagged {tag!r}; the image tags written are {sorted(records)}"
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
        return False, (f"{tag!r} ({width} x {height}) shows one picture, not a grid of tiles: pass the whole batch "
                       "(B, C, H, W) to make_grid (and keep its padding, so that the tiles are apart)")
    content = flat[~same_row][:, ~same_col]
    clipped = float(np.mean((content == 0) | (content == 255)))
    if clipped > 0.4:
        return False, (f"{clipped:.0%} of the colour values in {tag!r} are 0 or 255: the batch was outside [0, 1] and "
                       "TensorBoard clipped it. Denormalise the inputs first (x * std + mean), or use "
                       "make_grid(..., normalize=True)")
    return True, f"{tag!r} is a {width} x {height} grid of tiles with values inside [0, 1]: correct"


def _check_23(captured) -> tuple[bool, str]:
    import torch

    if not isinstance(captured, dict) or set(captured) != {True, False}:
        raise ValueError("captured must be {True: maps, False: maps}: what the hook recorded with inplace=True and "
                         f"with inplace=False, got {type(captured).__name__}"
                         + (f" with keys {sorted(captured, key=str)}" if isinstance(captured, dict) else ""))
    for inplace, maps in captured.items():
        if not isinstance(maps, torch.Tensor):
            return False, (f"captured[{inplace}] is a {type(maps).__name__}, not a tensor: store the hook's "
                           "output argument (a tensor), e.g. maps.append(output.detach().clone())")
        if maps.dim() != 4 or tuple(maps.shape[1:]) != (64, 55, 55):
            return False, (f"captured[{inplace}] has shape {tuple(maps.shape)}; features[0] of AlexNet gives "
                           "(B, 64, 55, 55) for a 224 x 224 image: hook model.features[0] and pass a "
                           "(B, 3, 224, 224) input")
    with_relu, without = captured[True].detach().float(), captured[False].detach().float()
    if with_relu.shape != without.shape:
        return False, (f"the two recordings have different shapes {tuple(with_relu.shape)} and "
                       f"{tuple(without.shape)}: use the same input twice")
    if not (torch.isfinite(with_relu).all() and torch.isfinite(without).all()):
        return False, "the recorded maps hold NaN or inf: check the input image"
    negative = bool((without < 0).any())
    if (with_relu < 0).any():
        return False, ("the inplace=True maps have negative values: the ReLU did not overwrite them, so it did not "
                       "run in place (is inplace still True for that run?) or the hook kept a copy before the ReLU ran")
    if not negative:
        return False, ("the inplace=False maps have no negative values: they were changed by the ReLU after all "
                       "(set model.features[1].inplace = False before that forward pass), or the hook is on the "
                       "ReLU (features[1]) instead of the convolution (features[0])")
    if not torch.allclose(with_relu, without.clamp_min(0), atol=1e-5, rtol=1e-4):
        return False, ("ReLU(inplace=False maps) differs from the inplace=True maps: the two runs saw different "
                       "inputs or weights; use the same model and the same image for both")
    return True, ("with inplace=True the hook's tensor was overwritten by the ReLU (no negative values); with "
                  "inplace=False it is the convolution's own output, negative values included, and its ReLU "
                  "equals the first: correct")


def _squash(tag: str) -> str:
    return "".join(tag.split()).lower()


def _check_20(scalars: dict) -> tuple[bool, str]:
    wanted = "y=2x"
    runs = [(run, tags[wanted]) for run, tags in sorted(scalars.items()) if wanted in tags]
    if not runs:
        near = sorted({tag for tags in scalars.values() for tag in tags if _squash(tag) == wanted})
        if near:
            return False, f"the tag is {near[0]!r}, not {wanted!r}: the tag must match exactly (no spaces)"
        found = sorted({tag for tags in scalars.values() for tag in tags})
        return False, f"no curve tagged {wanted!r}; the tags written are {found}"
    if len(runs) > 1:
        return False, (f"{len(runs)} runs hold the tag {wanted!r} ({', '.join(r for r, _ in runs)}): "
                       "TensorBoard draws them on top of each other; write the homework once, to one run")
    run, line = runs[0]
    steps, values = list(line.steps), list(line.values)
    if len(steps) != len(set(steps)):
        return False, (f"run {run!r} has {len(steps)} points but only {len(set(steps))} different steps: "
                       "the homework was written twice into one run (start it fresh: run_writer(20, ...))")
    expected = list(range(100))
    if steps != expected:
        if len(steps) == 100 and steps == list(range(steps[0], steps[0] + 100)):
            return False, f"steps {steps[0]}..{steps[-1]} instead of 0..99: x runs over range(100)"
        if steps == expected[: len(steps)]:
            return False, (f"only {len(steps)} of 100 points (steps 0..{steps[-1]}): nothing flushed yet? "
                           "close the writer, or the loop stopped early")
        return False, f"the steps are {steps[:3]}...{steps[-2:]}, expected 0, 1, ..., 99 (one point per x)"
    wrong = [(s, v) for s, v in zip(steps, values) if not math.isclose(v, 2 * s, rel_tol=0, abs_tol=1e-6)]
    if wrong:
        s, v = wrong[0]
        return False, f"at step {s} the value is {v:g}, not 2·{s} = {2 * s}: write add_scalar('y=2x', 2 * x, x)"
    return True, f"100 points of y = 2x (steps 0..99, values 0..198) in run {run!r}: correct"


def _check_21(scalars: dict) -> tuple[bool, str]:
    verdicts = []
    for tag in ("Loss", "Accuracy"):
        pairs = _train_valid_pairs(scalars, tag)
        if not pairs:
            with_tag = sorted(run for run, tags in scalars.items() if tag in tags)
            if not with_tag:
                written = sorted({t for v in scalars.values() for t in v})
                return False, f"no curve tagged {tag!r}; the tags written are {written}"
            sides = {side for run in with_tag for side in ("train", "valid") if run.rstrip("/").endswith(side)}
            missing = {"train", "valid"} - sides
            if missing:
                return False, (f"{tag!r} has no {' and no '.join(sorted(missing))} line (runs with it: {with_tag}): "
                               "log both, with add_scalars(tag, {'train': ...}) / {'valid': ...} or two writers")
            return False, (f"{tag!r}: the train and valid lines are in runs that TensorBoard does not pair "
                           f"({with_tag}); name them <run>/{tag}_train and <run>/{tag}_valid, "
                           "or <run>/train and <run>/valid")
        base, train, valid = pairs[0]
        for side, line in (("train", train), ("valid", valid)):
            values = list(line.values)
            if not all(math.isfinite(v) for v in values):
                return False, f"{tag!r} ({side}) holds NaN or inf"
            if tag == "Accuracy" and not all(0 <= v <= 1 for v in values):
                return False, (f"{tag!r} ({side}) goes up to {max(values):g}: accuracy is a share in [0, 1] "
                               "(did you log percent, or a count of correct images?)")
            if tag == "Loss" and min(values) < 0:
                return False, f"{tag!r} ({side}) is negative ({min(values):g}): log the loss itself"
        if len(valid.steps) < 2:
            return False, f"{tag!r}: only {len(valid.steps)} valid point(s); validate after every epoch"
        if max(valid.steps) < min(train.steps) or min(valid.steps) > max(train.steps):
            return False, (f"{tag!r}: the valid steps ({min(valid.steps)}..{max(valid.steps)}) lie outside "
                           "the train steps "
                           f"({min(train.steps)}..{max(train.steps)}): use one global step (iterations) for both")
        verdicts.append(f"{tag} train ({len(train.steps)} points) and valid ({len(valid.steps)} points) "
                        f"in one chart ({base})")
    return True, "; ".join(verdicts) + ": correct"


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
