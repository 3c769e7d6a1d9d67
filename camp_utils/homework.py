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

Lessons with a checker: 20 (the curve y = 2x) and 21 (Loss and Accuracy,
Train and Valid in one chart).
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

HOMEWORK_LESSONS = (20, 21)
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


def check_homework(lesson: int, logdir: str | os.PathLike | None = None, *, run: str | None = None) -> HomeworkResult:
    """Check the homework of ``lesson`` from what your code wrote.

    Args:
        lesson: 20 or 21 (:data:`HOMEWORK_LESSONS`).
        logdir: the folder the homework wrote to; default ``runs/<lesson>``
            (``$CAMP_RUNS_DIR/<lesson>``), where ``run_writer(lesson, ...)`` writes.
        run: check only this run and the runs below it (``"my_lenet"`` for
            ``run_writer(21, "my_lenet")`` and its ``Loss_train``, ...), so
            that the lesson's own runs in the same folder do not count.

    Returns:
        A :class:`HomeworkResult`; ``print`` it. It is truthy when correct.

    Raises:
        ValueError: a lesson without a checker.
    """
    lesson = check_int(lesson, "lesson", what="lesson number")
    if lesson not in HOMEWORK_LESSONS:
        raise ValueError(f"lesson must be one of {', '.join(map(str, HOMEWORK_LESSONS))} (the lessons with a "
                         f"homework checker), got {lesson}")
    folder = Path(logdir) if logdir is not None else runs_dir() / str(lesson)
    if run is not None:
        if not isinstance(run, str) or not run.strip("/"):
            raise ValueError(f"run must be the name of a run, e.g. 'my_lenet', got {run!r}")
        folder = folder / run.strip("/")
    scalars, problem = _read(folder)
    if problem:
        return HomeworkResult(lesson, False, problem)
    if run is not None:  # names relative to logdir, as TensorBoard shows them
        prefix = run.strip("/")
        scalars = {(prefix if r == "." else f"{prefix}/{r}"): tags for r, tags in scalars.items()}
    check = {20: _check_20, 21: _check_21}[lesson]
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
                return False, f"no curve tagged {tag!r}; the tags written are {sorted({t for v in scalars.values() for t in v})}"
            sides = {side for run in with_tag for side in ("train", "valid") if run.rstrip("/").endswith(side)}
            missing = {"train", "valid"} - sides
            if missing:
                return False, (f"{tag!r} has no {' and no '.join(sorted(missing))} line (runs with it: {with_tag}): "
                               "log both, with add_scalars(tag, {'train': ...}) / {'valid': ...} or two writers")
            return False, (f"{tag!r}: the train and valid lines are in runs that TensorBoard does not pair "
                           f"({with_tag}); name them <run>/{tag}_train and <run>/{tag}_valid, or <run>/train and <run>/valid")
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
            return False, (f"{tag!r}: the valid steps ({min(valid.steps)}..{max(valid.steps)}) lie outside the train steps "
                           f"({min(train.steps)}..{max(train.steps)}): use one global step (iterations) for both")
        verdicts.append(f"{tag} train ({len(train.steps)} points) and valid ({len(valid.steps)} points) in one chart ({base})")
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
