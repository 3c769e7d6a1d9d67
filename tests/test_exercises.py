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
@pytest.mark.parametrize(("answer", "message"), [
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


@pytest.fixture
def fast_loader(monkeypatch):
    """A machine whose default TensorBoard has the Rust data server (Linux x86-64, Intel Macs)."""
    monkeypatch.setattr("camp_utils.exercises.fast_loader_available", lambda: True)


@pytest.fixture
def python_loader_only(monkeypatch):
    """A machine whose default TensorBoard falls back to the Python loader (Windows, Apple-silicon Macs)."""
    monkeypatch.setattr("camp_utils.exercises.fast_loader_available", lambda: False)


def test_the_right_counts_are_correct(fast_loader):
    result = check_exercise(21, 5, (110, 60, 110))
    assert result and "60 in the default TensorBoard" in result.message


def test_without_the_fast_loader_the_default_tensorboard_keeps_every_point(python_loader_only):
    result = check_exercise(21, 5, (110, 110, 110))
    assert result and "uses the Python loader" in result.message
    wrong = check_exercise(21, 5, (110, 60, 110))   # the count of another machine's TensorBoard, not this one's
    assert not wrong and "On this machine it has no fast data server" in wrong.message


@pytest.mark.parametrize(("answer", "message"), [
    ((110, 110, 110), "the default TensorBoard shows fewer than all"),
    ((100, 60, 110), "read_scalars returns 100: it keeps every point the files hold, and 110 were written"),
    ((110, 60, 60), "its Python loader keeps every point"),
    ((110, 50, 110), "the default TensorBoard shows 50?"),
    ((110, 60), "give three counts"),
])
def test_wrong_counts_are_named(answer, message, fast_loader):
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
@pytest.mark.parametrize(("make", "message"), [
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
    assert sorted(CHECKED) == [(19, 5), (21, 5), (22, 2), (22, 3), (23, 4)]
    with pytest.raises(ValueError,
                       match=r"lesson 20, exercise 2 has no checker .*checked: 19.5, 21.5, 22.2, 22.3, 23.4"):
        check_exercise(20, 2, None)
    with pytest.raises(ValueError, match="exercise"):
        check_exercise(22, "3", (3, 251, 220))


# ---- 22.2: the two fixes of torch.rand(3, 64, 64) * 255, and whether their stored images are identical ---------

def _rand255(seed=0):
    return torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(seed)) * 255


def test_both_fixes_and_identical_is_correct():
    x = _rand255()
    result = check_exercise(22, 2, (x / 255, x.to(torch.uint8), True))
    assert result and "12288 values, identical: correct" in result.message


def test_the_verdict_agrees_with_what_add_image_stores(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    from camp_utils.tb import read_images
    x = _rand255(3)
    with SummaryWriter(tmp_path) as writer:
        writer.add_image("divided", x / 255, 0)
        writer.add_image("converted", x.to(torch.uint8), 0)
    stored = {tag: records[0].array for tag, records in read_images(tmp_path)["."].items()}
    identical = bool((stored["divided"] == stored["converted"]).all())
    assert check_exercise(22, 2, (x / 255, x.to(torch.uint8), identical))
    assert not check_exercise(22, 2, (x / 255, x.to(torch.uint8), not identical))


# Wrong answers a learner gives: the fixes applied to the wrong tensor, rounding, another x, a wrong verdict.
@pytest.mark.parametrize(("make", "message"), [
    (lambda x: (x / 255, x.to(torch.uint8), False), "they are identical, all 12288 values"),
    (lambda x: (x, x.to(torch.uint8), True), "the first tensor reaches 2"),
    (lambda x: (x / 255, (x / 255).to(torch.uint8), True), "you converted x / 255"),
    (lambda x: (x / 255, x.round().to(torch.uint8), True), "the second was rounded"),
    (lambda x: (x / 255, _rand255(1).to(torch.uint8), True), "they come from different tensors"),
    (lambda x: (x / 255, x, True), "the second tensor is torch.float32"),
    (lambda x: ((x / 255).to(torch.uint8), x.to(torch.uint8), True), "the first tensor is torch.uint8"),
    (lambda x: (x / 255, x.to(torch.uint8), "yes"), "answer True or False"),
    (lambda x: (x / 255, x.to(torch.uint8)[:, :32], True), "the shapes (3, 64, 64) and (3, 32, 64)"),
    (lambda x: ((x / 255).numpy(), x.to(torch.uint8), True), "ndarray, Tensor"),
    (lambda x: (x / 255, x.to(torch.uint8)), "give three things"),
])
def test_wrong_fixes_are_named(make, message):
    result = check_exercise(22, 2, make(_rand255()))
    assert not result and message in result.message, result.message


def test_a_true_verdict_is_wrong_where_values_differ():
    x = _rand255()
    converted = x.to(torch.uint8)
    converted[0, 0, :5] = (x[0, 0, :5].floor() + 1).clamp(max=255).to(torch.uint8)
    result = check_exercise(22, 2, (x / 255, converted, True))
    assert not result and "5 of 12288 stored values differ by 1" in result.message
    assert check_exercise(22, 2, (x / 255, converted, False))


# ---- 23.4: a forward hook that returns model.features' output with 8 channels zeroed ------------------------

def _gapnet():
    from camp_utils.models import GapNet
    torch.manual_seed(0)
    return GapNet(4).eval()


def _top8(model):
    from camp_utils.data import ShapesDataset, shapes_transform
    test = ShapesDataset("test", 16, transform=shapes_transform())
    with torch.no_grad():
        maps = model.features(torch.stack([test[i][0] for i in range(16)]))
    return maps.mean((0, 2, 3)).topk(8).indices


def _zero(channels, *, clone=True, give_back=True):
    def hook(module, args, output):
        edited = output.clone() if clone else output
        edited[:, channels] = 0
        return edited if give_back else None
    return hook


def test_a_hook_that_returns_an_edited_copy_is_correct():
    model = _gapnet()
    top8 = _top8(model)
    handle = model.features.register_forward_hook(_zero(top8))
    handle.remove()
    result = check_exercise(23, 4, (model, _zero(top8)))
    assert result and "no hook is left on the model: correct" in result.message
    assert result.message.count(",") >= 7


@pytest.mark.parametrize(("hook", "message"), [
    (lambda top8: _zero(top8, clone=False), "changes the output in place"),
    (lambda top8: _zero(top8, clone=False, give_back=False), "changes the output in place"),
    (lambda top8: (lambda module, args, output: None), "returns None"),
    (lambda top8: _zero(top8[:7]), "sets 7 channels to zero, not 8"),
    (lambda top8: (lambda module, args, output: _zero(top8)(module, args, output) * 2), "also changes channels"),
    (lambda top8: (lambda module, args, output: output.mean((2, 3))), "returns a tensor of shape (16, 64)"),
    (lambda top8: (lambda module, args, output: (_zero(top8)(module, args, output),)),
     "returns a tuple, not a tensor: return the edited copy of the output, a tensor of shape (16, 64, 8, 8)"),
    (lambda top8: (lambda module, args, output: output[:, 99]), "raised IndexError"),
])
def test_wrong_hooks_are_named(hook, message):
    model = _gapnet()
    result = check_exercise(23, 4, (model, hook(_top8(model))))
    assert not result and message in result.message, result.message


def test_a_hook_left_on_the_model_is_named():
    model = _gapnet()
    model.features.register_forward_hook(_zero(_top8(model)))   # no handle.remove()
    result = check_exercise(23, 4, (model, _zero(_top8(model))))
    assert not result and "still registered on model.features" in result.message
    assert "no .features module" in check_exercise(23, 4, (torch.nn.Linear(2, 2), _zero([0]))).message
    assert "give (model, hook)" in check_exercise(23, 4, (_gapnet(),)).message
