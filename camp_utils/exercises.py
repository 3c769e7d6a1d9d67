"""Checks for the exercises whose answer a program can judge: ``check_exercise(22, 3, (3, H, W))``.

Like the homework checkers (:mod:`camp_utils.homework`), in the spirit of
Kaggle Learn's ``check()``: one sentence, either what is right or the one thing
to fix, never the answer itself. Three exercises have one (:data:`CHECKED`);
the others ask for an explanation or a look at TensorBoard, and their hint and
the solutions notebook remain the way to check them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .checks import check_int
from .messages import say
from .schedules import trace

__all__ = ["ExerciseResult", "check_exercise", "CHECKED"]

CHECKED = {
    (19, 5): "a function optimizer -> scheduler: a warm-up of 5 epochs, then steps",
    (21, 5): "the three point counts: (read_scalars, default TensorBoard, TensorBoard with load_fast='false')",
    (22, 3): "the shape of make_grid(torch.zeros(50, 3, 28, 28), nrow=7, padding=3), as a tuple",
}
"""The exercises :func:`check_exercise` can check, ``(lesson, exercise)``, with the answer it expects."""


@dataclass(frozen=True)
class ExerciseResult:
    """The verdict: ``correct`` and a one-sentence ``message`` (also what ``print`` shows)."""

    lesson: int
    exercise: int
    correct: bool
    message: str

    def __str__(self) -> str:
        return say("ex.result", lesson=self.lesson, exercise=self.exercise, message=self.message)

    def __bool__(self) -> bool:
        return self.correct


def check_exercise(lesson: int, exercise: int, answer) -> ExerciseResult:
    """Check your answer to ``exercise`` of ``lesson``.

    Args:
        lesson, exercise: one of :data:`CHECKED`'s keys.
        answer: what :data:`CHECKED` says for that exercise: 19.5 a function
            ``make(optimizer) -> scheduler`` (traced for 30 epochs from lr 0.1);
            21.5 three point counts; 22.3 a shape such as ``(3, H, W)``.

    Returns:
        An :class:`ExerciseResult`; ``print`` it. It is truthy when correct.

    Raises:
        ValueError: an exercise without a checker (the message lists those that have one).
    """
    lesson = check_int(lesson, "lesson", what="lesson number")
    exercise = check_int(exercise, "exercise", what="exercise number")
    if (lesson, exercise) not in CHECKED:
        known = ", ".join(f"{lesson_}.{exercise_}" for lesson_, exercise_ in CHECKED)
        raise ValueError(f"lesson {lesson}, exercise {exercise} has no checker (its answer is an explanation or "
                         f"a look at TensorBoard; see its hint and the solutions notebook); checked: {known}")
    check = {(19, 5): _check_19_5, (21, 5): _check_21_5, (22, 3): _check_22_3}[(lesson, exercise)]
    correct, message = check(answer)
    return ExerciseResult(lesson, exercise, correct, message)


def _ints(answer, count: int) -> tuple[int, ...] | None:
    """``answer`` as ``count`` non-negative ints (a tuple, list or ``torch.Size``), else ``None``."""
    try:
        values = tuple(answer)
    except TypeError:
        return None
    if len(values) != count or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        return None
    return values


# ---- 22.3: the shape of make_grid(torch.zeros(50, 3, 28, 28), nrow=7, padding=3) ---------------------------

_GRID = {"images": 50, "size": 28, "nrow": 7, "padding": 3}


def _grid_side(tiles: int) -> int:
    return tiles * (_GRID["size"] + _GRID["padding"]) + _GRID["padding"]


def _check_22_3(answer) -> tuple[bool, str]:
    shape = _ints(answer, 3)
    if shape is None:
        if _ints(answer, 2) is not None:
            return False, say("ex22_3.no_channels", answer=tuple(answer))
        return False, say("ex22_3.not_a_shape", answer=repr(answer))
    rows = math.ceil(_GRID["images"] / _GRID["nrow"])
    height, width = _grid_side(rows), _grid_side(_GRID["nrow"])
    if shape == (3, height, width):
        return True, say("ex22_3.correct", shape=shape, rows=rows)
    if shape[0] != 3:
        return False, say("ex22_3.channels", channels=shape[0])
    if shape[1:] == (width, height):
        return False, say("ex22_3.swapped")
    if shape[1] == _grid_side(_GRID["images"] // _GRID["nrow"]):
        return False, say("ex22_3.rows_floor", rows=_GRID["images"] // _GRID["nrow"])
    if shape[1:] == (height - _GRID["padding"], width - _GRID["padding"]):
        return False, say("ex22_3.last_padding")
    if shape[1:] == (rows * _GRID["size"], _GRID["nrow"] * _GRID["size"]):
        return False, say("ex22_3.no_padding")
    return False, say("ex22_3.other", shape=shape)


# ---- 21.5: steps 0..99, then 50..59 again, in one run: how many points does each reader show? --------------

def _check_21_5(answer) -> tuple[bool, str]:
    counts = _ints(answer, 3)
    if counts is None:
        return False, say("ex21_5.not_counts", answer=repr(answer))
    files, default, python = counts
    written = 100 + 10
    if files != written:
        return False, say("ex21_5.files", count=files, written=written)
    if python != written:
        return False, say("ex21_5.python", count=python, written=written)
    if default == written:
        return False, say("ex21_5.default_all")
    if default != 50 + 10:
        return False, say("ex21_5.default_other", count=default)
    return True, say("ex21_5.correct")


# ---- 19.5: warm up for 5 epochs, then decay in steps --------------------------------------------------------

WARMUP_EPOCHS, TRACED_EPOCHS, BASE_LR = 5, 30, 0.1


def _check_19_5(answer) -> tuple[bool, str]:

    if not callable(answer):
        return False, say("ex19_5.not_callable", kind=type(answer).__name__)
    try:
        lrs = trace(answer, TRACED_EPOCHS, lr=BASE_LR, interval="epoch").group(0)
    except Exception as error:  # the learner's code: any error is the verdict
        return False, say("ex19_5.fails", error=f"{type(error).__name__}: {error}")
    close = [math.isclose(lr, BASE_LR, rel_tol=1e-6) for lr in lrs]
    if close[0] or lrs[0] > BASE_LR:
        return False, say("ex19_5.no_warmup", lr=f"{lrs[0]:.3g}")
    reached = close.index(True) if any(close) else None
    if reached is None:
        return False, say("ex19_5.never_full", top=f"{max(lrs):.3g}", base=BASE_LR)
    if reached != WARMUP_EPOCHS:
        return False, say("ex19_5.warmup_length", epochs=reached, wanted=WARMUP_EPOCHS)
    if not all(b > a for a, b in zip(lrs[:reached], lrs[1:reached + 1])):
        return False, say("ex19_5.warmup_not_rising")
    after = lrs[reached:]
    rises = [i for i in range(1, len(after)) if after[i] > after[i - 1] * (1 + 1e-9)]
    if rises:
        epoch = reached + rises[0]
        return False, say("ex19_5.rises", epoch=epoch, before=f"{after[rises[0] - 1]:.3g}",
                          after=f"{after[rises[0]]:.3g}")
    drops = [(reached + i, after[i] / after[i - 1]) for i in range(1, len(after))
             if after[i] < after[i - 1] * (1 - 1e-9)]
    if not drops:
        return False, say("ex19_5.no_steps", epochs=TRACED_EPOCHS)
    factors = {round(f, 6) for _, f in drops}
    if len(drops) > len(after) // 2 or len(factors) > 1:
        return False, say("ex19_5.smooth", count=len(drops))
    epochs = ", ".join(str(e) for e, _ in drops)
    return True, say("ex19_5.correct", start=f"{lrs[0]:.3g}", base=BASE_LR, warmup=WARMUP_EPOCHS, epochs=epochs,
                     factor=f"{drops[0][1]:.3g}")

