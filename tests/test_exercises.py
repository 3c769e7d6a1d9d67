"""camp_utils.exercises: each checker passes the right answers and names what is wrong in typical wrong ones."""
import pytest
import torch
from torch.optim.lr_scheduler import (
    ChainedScheduler,
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    MultiStepLR,
    SequentialLR,
    StepLR,
)
from torchvision.utils import make_grid

from camp_utils.exercises import CHECKED, check_exercise


def test_the_right_shape_is_the_one_make_grid_returns():
    shape = tuple(make_grid(torch.zeros(50, 3, 28, 28), nrow=7, padding=3).shape)
    for answer in (shape, list(shape), torch.Size(shape)):
        result = check_exercise(22, 3, answer)
        assert result and result.message.startswith(f"{shape}: 8 rows of 7 tiles")
    assert str(check_exercise(22, 3, shape)).startswith("Lesson 22, exercise 3: (3, 251, 220)")


# Wrong shapes a learner computes by hand, each with the one thing the verdict must name.
@pytest.mark.parametrize("answer, message", [
    ((3, 220, 251), "height and width are swapped"),
    ((3, 220, 220), "7 rows hold only 7·7 images"),
    ((3, 248, 217), "one padding short in each direction"),
    ((3, 224, 196), "without the padding"),
    ((1, 251, 220), "1 channels"),
    ((251, 220), "make_grid keeps the channels first"),
    ((3, 250, 220), "not (3, 250, 220): count the rows"),
    ("3x251x220", "is not a shape"),
    ((3, 251.0, 220), "is not a shape"),
])
def test_wrong_shapes_are_named(answer, message):
    result = check_exercise(22, 3, answer)
    assert not result and message in result.message


def test_the_right_counts_are_correct():
    result = check_exercise(21, 5, (110, 60, 110))
    assert result and "60 in the default TensorBoard" in result.message


@pytest.mark.parametrize("answer, message", [
    ((110, 110, 110), "the default TensorBoard shows fewer than all"),
    ((100, 60, 110), "read_scalars returns 100: it keeps every point the files hold, and 110 were written"),
    ((110, 60, 60), "its Python loader keeps every point"),
    ((110, 50, 110), "the default TensorBoard shows 50?"),
    ((110, 60), "give three counts"),
])
def test_wrong_counts_are_named(answer, message):
    result = check_exercise(21, 5, answer)
    assert not result and message in result.message


# Right schedules: the pieces the exercise names, put together the ways that work.
@pytest.mark.parametrize("make", [
    lambda opt: SequentialLR(opt, [LinearLR(opt, start_factor=0.1, total_iters=5), StepLR(opt, step_size=10)],
                             milestones=[5]),
    lambda opt: SequentialLR(opt, [LinearLR(opt, start_factor=0.01, total_iters=5),
                                   MultiStepLR(opt, milestones=[5, 15], gamma=0.5)], milestones=[5]),
    lambda opt: ChainedScheduler([LinearLR(opt, start_factor=0.1, total_iters=5),
                                  MultiStepLR(opt, milestones=[15, 25], gamma=0.1)]),
], ids=["SequentialLR+StepLR", "SequentialLR+MultiStepLR", "ChainedScheduler with absolute milestones"])
def test_warm_up_then_steps_is_correct(make):
    result = check_exercise(19, 5, make)
    assert result, result.message
    assert "over 5 epochs, then steps of x" in result.message


# Wrong schedules a learner builds, each with the one thing to fix.
@pytest.mark.parametrize("make, message", [
    (lambda opt: StepLR(opt, step_size=10), "no warm-up: the lr starts at 0.1"),
    (lambda opt: SequentialLR(opt, [LinearLR(opt, start_factor=0.1, total_iters=3), StepLR(opt, step_size=10)],
                              milestones=[3]), "the warm-up lasts 3 epoch(s), not 5"),
    (lambda opt: SequentialLR(opt, [LinearLR(opt, start_factor=0.1, total_iters=5), StepLR(opt, step_size=10)],
                              milestones=[3]), "the warm-up lasts 3 epoch(s), not 5"),
    (lambda opt: SequentialLR(opt, [LinearLR(opt, start_factor=0.1, total_iters=5),
                                    CosineAnnealingLR(opt, T_max=25)], milestones=[5]), "not steps"),
    (lambda opt: SequentialLR(opt, [LinearLR(opt, start_factor=0.1, total_iters=5),
                                    ExponentialLR(opt, gamma=0.9)], milestones=[5]), "not steps"),
    (lambda opt: LinearLR(opt, start_factor=0.1, total_iters=5), "no step down in 30 epochs"),
    (lambda opt: LinearLR(opt, start_factor=0.1, total_iters=10), "the warm-up lasts 10 epoch(s), not 5"),
    (lambda opt: ChainedScheduler([LinearLR(opt, start_factor=0.1, total_iters=5),
                                   StepLR(opt, step_size=2, gamma=0.5)]), "never reaches its full value 0.1"),
    (lambda opt: SequentialLR(opt, [LinearLR(opt, start_factor=0.1, total_iters=5)], milestones=[5]),
     "building or stepping your scheduler fails"),
    (StepLR, "building or stepping your scheduler fails"),
    ("SequentialLR", "a str is not a recipe"),
])
def test_wrong_schedules_are_named(make, message):
    result = check_exercise(19, 5, make)
    assert not result, result.message
    assert message in result.message


def test_only_exercises_with_a_checker_are_accepted():
    assert sorted(CHECKED) == [(19, 5), (21, 5), (22, 3)]
    with pytest.raises(ValueError, match=r"lesson 20, exercise 2 has no checker .*checked: 19.5, 21.5, 22.3"):
        check_exercise(20, 2, None)
    with pytest.raises(ValueError, match="exercise"):
        check_exercise(22, "3", (3, 251, 220))
