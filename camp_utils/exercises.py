"""Checks for the exercises whose answer a program can judge: ``check_exercise(22, 3, (3, H, W))``.

Like the homework checkers (:mod:`camp_utils.homework`), in the spirit of
Kaggle Learn's ``check()``: one sentence, either what is right or the one thing
to fix, never the answer itself. Five exercises have one (:data:`CHECKED`);
the others ask for an explanation or a look at TensorBoard, and their hint and
the solutions notebook remain the way to check them.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .checks import check_int
from .data import ShapesDataset, shapes_transform
from .messages import say
from .schedules import trace
from .tb.server import fast_loader_available

__all__ = ["ExerciseResult", "check_exercise", "CHECKED"]

CHECKED = {
    (19, 5): "a function optimizer -> scheduler: a warm-up of 5 epochs, then steps",
    (21, 5): "the three point counts: (read_scalars, default TensorBoard, TensorBoard with load_fast='false')",
    (22, 2): "(x / 255, x.to(torch.uint8), True or False: are the two stored images identical?)",
    (22, 3): "the shape of make_grid(torch.zeros(50, 3, 28, 28), nrow=7, padding=3), as a tuple",
    (23, 4): "(model, hook): the model after the experiment and the hook that zeroes 8 channels of model.features",
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
        lesson: the lesson's number (19-23).
        exercise: the exercise's number in that lesson; ``(lesson, exercise)`` is one of :data:`CHECKED`'s keys.
        answer: what :data:`CHECKED` says for that exercise: 19.5 a function
            ``make(optimizer) -> scheduler`` (traced for 30 epochs from lr 0.1);
            21.5 three point counts; 22.2 ``(x / 255, x.to(torch.uint8), identical)``;
            22.3 a shape such as ``(3, H, W)``; 23.4 ``(model, hook)``.

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
    check = {(19, 5): _check_19_5, (21, 5): _check_21_5, (22, 2): _check_22_2, (22, 3): _check_22_3,
             (23, 4): _check_23_4}[(lesson, exercise)]
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


# ---- 22.2: torch.rand(3, 64, 64) * 255, fixed by / 255 and by .to(torch.uint8): are the stored images identical? --

def _stored(image: torch.Tensor) -> np.ndarray:
    """What ``add_image`` stores for ``image``: floats as floor(clip(255 x, 0, 255)), uint8 as it is."""
    values = image.detach().cpu().numpy().astype(np.float32)
    scale = 1 if image.dtype == torch.uint8 else 255
    return (values * scale).clip(0, 255).astype(np.uint8)


def _check_22_2(answer) -> tuple[bool, str]:
    if not isinstance(answer, (tuple, list)) or len(answer) != 3:
        return False, say("ex22_2.not_three", answer=repr(answer)[:80])
    divided, converted, identical = answer
    if not (isinstance(divided, torch.Tensor) and isinstance(converted, torch.Tensor)):
        return False, say("ex22_2.not_tensors", kinds=f"{type(divided).__name__}, {type(converted).__name__}")
    if divided.shape != converted.shape or divided.dim() != 3:
        return False, say("ex22_2.shapes", first=tuple(divided.shape), second=tuple(converted.shape))
    if not divided.is_floating_point():
        return False, say("ex22_2.first_not_float", dtype=divided.dtype)
    if divided.numel() and (divided.max() > 1 or divided.min() < 0):
        return False, say("ex22_2.first_range", top=f"{divided.max().item():.4g}")
    if converted.dtype != torch.uint8:
        return False, say("ex22_2.second_not_uint8", dtype=converted.dtype)
    if converted.numel() and converted.max() <= 1 < 255 * divided.max():
        return False, say("ex22_2.second_from_divided", top=int(converted.max()))
    first, second = _stored(divided), _stored(converted)
    gap = np.abs(first.astype(int) - second.astype(int))
    if gap.size and gap.max() > 1:
        return False, say("ex22_2.different_x", gap=int(gap.max()))
    differ = int((gap > 0).sum())
    if differ > gap.size / 10:
        return False, say("ex22_2.second_rounded", share=f"{differ / gap.size:.0%}")
    if not isinstance(identical, (bool, np.bool_)):
        return False, say("ex22_2.not_bool", answer=repr(identical)[:40])
    if bool(identical) != (differ == 0):
        if differ == 0:
            return False, say("ex22_2.said_different", count=gap.size)
        return False, say("ex22_2.said_identical", differ=differ, count=gap.size)
    verdict = say("ex22_2.identical") if differ == 0 else say("ex22_2.differ", differ=differ)
    return True, say("ex22_2.correct", count=gap.size, verdict=verdict)


# ---- 23.4: a forward hook that returns model.features' output with 8 channels set to 0 ------------------------

def _check_23_4(answer) -> tuple[bool, str]:
    if not isinstance(answer, (tuple, list)) or len(answer) != 2 or not callable(answer[1]):
        return False, say("ex23_4.not_pair", answer=repr(answer)[:80])
    model, hook = answer
    features = getattr(model, "features", None)
    if not isinstance(model, nn.Module) or not isinstance(features, nn.Module):
        return False, say("ex23_4.no_features", kind=type(model).__name__)
    for name, module in model.named_modules():
        if module._forward_hooks or module._forward_pre_hooks:
            return False, say("ex23_4.left_over", module=f"model.{name}" if name else "model")
    # probe images like the exercise's: test shapes, normalised as the lesson's GapNet was trained
    test = ShapesDataset("test", 16, transform=shapes_transform())
    inputs = torch.stack([test[i][0] for i in range(len(test))])
    parameter = next(model.parameters(), None)
    if parameter is not None:
        inputs = inputs.to(parameter.device, parameter.dtype)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            output = features(inputs)
            original = output.clone()
            try:
                returned = hook(features, (inputs,), output)
            except Exception as error:  # the learner's code: any error is the verdict
                return False, say("ex23_4.fails", error=f"{type(error).__name__}: {error}")
    finally:
        model.train(was_training)
    if not torch.equal(output, original):
        return False, say("ex23_4.in_place")
    if returned is None:
        return False, say("ex23_4.returns_none")
    if not isinstance(returned, torch.Tensor):
        return False, say("ex23_4.not_tensor", kind=type(returned).__name__, expected=tuple(output.shape))
    if returned.shape != output.shape:
        return False, say("ex23_4.shape", got=tuple(returned.shape), expected=tuple(output.shape))
    zeroed = [c for c in range(output.shape[1]) if bool((returned[:, c] == 0).all()) and bool(output[:, c].any())]
    if len(zeroed) != 8:
        return False, say("ex23_4.zeroed", count=len(zeroed))
    kept = [c for c in range(output.shape[1]) if c not in zeroed]
    if not torch.equal(returned[:, kept], output[:, kept]):
        return False, say("ex23_4.others_changed", count=len(kept))
    return True, say("ex23_4.correct", channels=", ".join(map(str, zeroed)))


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
    if not fast_loader_available():  # the default TensorBoard here is the Python loader too: it keeps every point
        if default != written:
            return False, say("ex21_5.default_python", count=default, written=written)
        return True, say("ex21_5.correct_python", written=written)
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
    if not all(b > a for a, b in itertools.pairwise(lrs[:reached + 1])):
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

