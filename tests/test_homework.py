"""camp_utils.homework: each checker passes the right answer and names what is wrong in typical wrong ones."""
import pytest
from torch.utils.tensorboard import SummaryWriter

from camp_utils.homework import check_homework


def write_line(folder, tag="y=2x", steps=range(100), value=lambda x: 2 * x, flush=True):
    # without flush: a queue larger than the homework and no timed flush, so nothing reaches the file
    writer = SummaryWriter(log_dir=str(folder)) if flush else SummaryWriter(log_dir=str(folder), max_queue=1000,
                                                                            flush_secs=10_000)
    for x in steps:
        writer.add_scalar(tag, value(x), x)
    if flush:
        writer.close()
    return writer


def test_lesson_20_the_right_answer_is_correct(tmp_path):
    write_line(tmp_path / "20" / "y_equals_2x")
    result = check_homework(20, tmp_path / "20")
    assert result and result.correct
    assert str(result) == ("Lesson 20 homework: 100 points of y = 2x (steps 0..99, values 0..198) "
                           "in run 'y_equals_2x': correct")


@pytest.mark.parametrize("kwargs, message", [
    ({"tag": "y = 2x"}, "the tag is 'y = 2x', not 'y=2x'"),
    ({"steps": range(1, 101)}, "steps 1..100 instead of 0..99"),
    ({"value": lambda x: x * x}, "at step 1 the value is 1, not 2·1 = 2"),
    ({"value": lambda x: 2 * x + 1}, "at step 0 the value is 1, not 2·0 = 0"),
    ({"steps": range(40)}, "only 40 of 100 points"),
    ({"tag": "loss"}, "no curve tagged 'y=2x'; the tags written are ['loss']"),
])
def test_lesson_20_typical_wrong_answers_are_named(tmp_path, kwargs, message):
    write_line(tmp_path / "20" / "attempt", **kwargs)
    result = check_homework(20, tmp_path / "20")
    assert not result
    assert message in result.message


def test_lesson_20_nothing_written_or_nothing_flushed(tmp_path):
    assert "there is no folder '20'" in check_homework(20, tmp_path / "20").message
    (tmp_path / "20").mkdir()
    assert "no event files in 20/ yet" in check_homework(20, tmp_path / "20").message
    # A writer that is open and has written nothing to disk yet: only the file's header is there. (Points
    # added to an open writer reach the file when its buffer fills, so a half-written homework may be
    # partly on disk; the header alone is the reproducible form of "nothing flushed yet".)
    writer = write_line(tmp_path / "20" / "open", steps=range(0), flush=False)
    try:
        message = check_homework(20, tmp_path / "20").message
        assert "nothing flushed yet" in message
    finally:
        writer.close()
    assert "nothing flushed yet" in check_homework(20, tmp_path / "20").message  # closed, and still no points


def test_lesson_20_written_twice_into_one_run(tmp_path):
    write_line(tmp_path / "20" / "y_equals_2x")
    write_line(tmp_path / "20" / "y_equals_2x")
    assert "written twice into one run" in check_homework(20, tmp_path / "20").message


def write_21(root, way="A", accuracy_scale=1.0, valid=True, valid_steps=(9, 19, 29)):
    if way == "A":
        with SummaryWriter(log_dir=str(root / "21" / "lenet")) as w:
            for step in range(30):
                w.add_scalars("Loss", {"train": 1.0 / (step + 1)}, step)
                w.add_scalars("Accuracy", {"train": accuracy_scale * step / 30}, step)
            if valid:
                for step in valid_steps:
                    w.add_scalars("Loss", {"valid": 1.2 / (step + 1)}, step)
                    w.add_scalars("Accuracy", {"valid": accuracy_scale * step / 35}, step)
    else:
        with SummaryWriter(log_dir=str(root / "21" / "two" / "train")) as t, \
             SummaryWriter(log_dir=str(root / "21" / "two" / "valid")) as v:
            for step in range(30):
                t.add_scalar("Loss", 1.0 / (step + 1), step)
                t.add_scalar("Accuracy", step / 30, step)
            for step in valid_steps:
                v.add_scalar("Loss", 1.2 / (step + 1), step)
                v.add_scalar("Accuracy", step / 35, step)


@pytest.mark.parametrize("way", ["A", "B"])
def test_lesson_21_both_ways_are_correct(tmp_path, way):
    write_21(tmp_path, way)
    result = check_homework(21, tmp_path / "21")
    assert result.correct, result.message
    assert "Loss train (30 points) and valid (3 points) in one chart" in result.message


@pytest.mark.parametrize("kwargs, message", [
    ({"valid": False}, "'Loss' has no valid line"),
    ({"accuracy_scale": 100.0}, "accuracy is a share in [0, 1]"),
    ({"valid_steps": (0, 1, 2)}, None),  # fine: inside the train steps
    ({"valid_steps": (100, 200, 300)}, "use one global step (iterations) for both"),
])
def test_lesson_21_typical_wrong_answers_are_named(tmp_path, kwargs, message):
    write_21(tmp_path, "A", **kwargs)
    result = check_homework(21, tmp_path / "21")
    if message is None:
        assert result.correct, result.message
    else:
        assert not result and message in result.message


def test_lesson_21_checks_only_the_named_run(tmp_path):
    write_21(tmp_path, "A")  # a correct run of the lesson's own, runs/21/lenet
    with SummaryWriter(log_dir=str(tmp_path / "21" / "mine")) as w:  # the learner's: train only
        for step in range(5):
            w.add_scalars("Loss", {"train": 1.0}, step)
            w.add_scalars("Accuracy", {"train": 0.5}, step)
    assert check_homework(21, tmp_path / "21").correct
    result = check_homework(21, tmp_path / "21", run="mine")
    assert not result and "no valid line" in result.message and "mine/Loss_train" in result.message
    assert "there is no folder 'nope'" in check_homework(21, tmp_path / "21", run="nope").message


def test_only_lessons_with_a_checker_are_accepted(tmp_path):
    for lesson in (19, 20, 21, 22, 23):  # the syllabus's lessons: each has a checker, which finds nothing here
        given = {19: {"run": "plateau"}, 23: {"captured": {True: [], False: []}}}.get(lesson, {})
        try:
            verdict = check_homework(lesson, tmp_path, **given)
        except ValueError as error:  # a checker may refuse an empty answer, never the lesson
            assert "lesson must be one of" not in str(error), lesson
        else:
            assert not verdict.correct and verdict.message, lesson
    for bad in (18, 24, "20", True):
        with pytest.raises(ValueError, match="lesson"):
            check_homework(bad, tmp_path)


# ---- lesson 19: a ReduceLROnPlateau run -------------------------------------------------------------

def write_lr_run(folder, lrs, valid=True):
    writer = SummaryWriter(log_dir=str(folder))
    for epoch, lr in enumerate(lrs):
        writer.add_scalar("LearningRate", lr, epoch)
        losses = {"train": 1.0 / (epoch + 1), **({"valid": 1.2 / (epoch + 1)} if valid else {})}
        writer.add_scalars("Loss", losses, epoch)
    writer.close()


def test_lesson_19_a_real_plateau_run_is_correct(tmp_path):
    import torch

    from camp_utils.data import shapes_loaders
    from camp_utils.models import GapNet
    from camp_utils.tb import run_writer
    from camp_utils.train import fit

    train_loader, valid_loader, _ = shapes_loaders(32, sizes={"train": 64, "valid": 32, "test": 8})
    torch.manual_seed(0)
    model = GapNet(4, width=4)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)  # so small that the valid loss stalls: the lr is cut
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=0)
    with run_writer(19, "plateau", root=tmp_path) as writer:
        fit(model, optimizer, train_loader, valid_loader, epochs=5, scheduler=scheduler, writer=writer,
            log_histograms=False, device="cpu", seed=0)
    result = check_homework(19, tmp_path / "19", run="plateau")
    assert result, result.message
    assert "x0.5" in result.message and result.message.endswith("correct")


@pytest.mark.parametrize("lrs, valid, message", [
    ([0.05] * 8, True, "the lr never changed (0.05 in all 8 epochs)"),
    ([0.05 * 0.8 ** e for e in range(3)] + [0.05 * 0.5 ** e for e in range(3, 8)], True,
     "the lr falls after almost every epoch by different factors"),
    ([0.002, 0.02, 0.05, 0.025, 0.0125], True, "the lr rises after epoch 1 (0.002 -> 0.02)"),
    ([0.05, 0.05, 0.025, 0.025], False, "no validation loss in this run"),
    ([0.05, 0.025], True, "only 2 epoch(s)"),
])
def test_lesson_19_typical_wrong_answers_are_named(tmp_path, lrs, valid, message):
    write_lr_run(tmp_path / "19" / "mine", lrs, valid)
    result = check_homework(19, tmp_path / "19", run="mine")
    assert not result
    assert message in result.message


def test_lesson_19_needs_the_run_name(tmp_path):
    with pytest.raises(ValueError, match="run must name your ReduceLROnPlateau run"):
        check_homework(19, tmp_path)


# ---- lesson 22: make_grid of a training batch --------------------------------------------------------

def shapes_batch(n=16):
    from camp_utils.data import ShapesDataset, shapes_transform
    dataset = ShapesDataset("train", n=n, transform=shapes_transform())
    import torch
    return torch.stack([dataset[i][0] for i in range(n)])


def write_image(folder, picture, tag="homework/train_batch"):
    writer = SummaryWriter(log_dir=str(folder))
    writer.add_image(tag, picture, 0)
    writer.close()


def test_lesson_22_a_denormalised_grid_is_correct(tmp_path):
    from torchvision.utils import make_grid

    from camp_utils.data import denormalize
    batch = shapes_batch()
    write_image(tmp_path / "22" / "grid", make_grid(denormalize(batch), nrow=4))
    write_image(tmp_path / "22" / "auto", make_grid(batch, nrow=4, normalize=True))
    for run in ("grid", "auto"):
        result = check_homework(22, tmp_path / "22", run=run)
        assert result, result.message
    assert str(check_homework(22, tmp_path / "22", run="grid")) == (
        "Lesson 22 homework: 'homework/train_batch' is a 138 x 138 grid of tiles with values inside [0, 1]: correct")


@pytest.mark.parametrize("mistake, message", [
    ("normalised", "are 0 or 255: the batch was outside [0, 1] and TensorBoard clipped it"),
    ("one image", "shows one picture, not a grid of tiles"),
])
def test_lesson_22_typical_wrong_answers_are_named(tmp_path, mistake, message):
    from torchvision.utils import make_grid

    from camp_utils.data import denormalize
    batch = shapes_batch()
    picture = make_grid(batch, nrow=4) if mistake == "normalised" else denormalize(batch[0])
    write_image(tmp_path / "22" / "mine", picture)
    result = check_homework(22, tmp_path / "22", run="mine")
    assert not result
    assert message in result.message


def test_lesson_22_nothing_written_and_wrong_tag(tmp_path):
    (tmp_path / "22" / "empty").mkdir(parents=True)
    assert "no images in empty/ yet" in check_homework(22, tmp_path / "22", run="empty").message
    from torchvision.utils import make_grid

    from camp_utils.data import denormalize
    write_image(tmp_path / "22" / "mine", make_grid(denormalize(shapes_batch()), nrow=4))
    result = check_homework(22, tmp_path / "22", run="mine", tag="grid")
    assert not result
    assert "no image tagged 'grid'; the image tags written are ['homework/train_batch']" in result.message


# ---- lesson 23: what a forward hook records with and without an in-place ReLU -------------------------

def alexnet_recordings():
    import torch
    from torchvision.models import alexnet
    torch.manual_seed(0)
    model = alexnet(weights=None).eval()
    image = torch.randn(1, 3, 224, 224)
    captured = {}
    for inplace in (True, False):
        model.features[1].inplace = inplace
        records = []
        handle = model.features[0].register_forward_hook(lambda m, args, out, records=records: records.append(out))
        with torch.no_grad():
            model(image)
        handle.remove()
        captured[inplace] = records[0]
    return model, image, captured


def test_lesson_23_the_right_recordings_are_correct():
    _, _, captured = alexnet_recordings()
    result = check_homework(23, captured=captured)
    assert result, result.message


def test_lesson_23_typical_wrong_answers_are_named():
    import torch
    model, image, captured = alexnet_recordings()
    swapped = {True: captured[False], False: captured[True]}
    assert "the inplace=True maps have negative values" in check_homework(23, captured=swapped).message
    same = {True: captured[True], False: captured[True]}
    assert "the inplace=False maps have no negative values" in check_homework(23, captured=same).message
    other = {True: captured[True], False: captured[False] + 0.5}
    assert "the two runs saw different inputs or weights" in check_homework(23, captured=other).message
    wrong_layer = {True: torch.zeros(1, 192, 27, 27), False: torch.zeros(1, 192, 27, 27)}
    assert "hook model.features[0]" in check_homework(23, captured=wrong_layer).message
    with pytest.raises(ValueError, match=r"captured must be \{True: maps, False: maps\}"):
        check_homework(23, captured=[captured[True]])
    with pytest.raises(ValueError, match="captured is the input of lesson 23's checker"):
        check_homework(23)
    with pytest.raises(ValueError, match="captured is only for lesson 23"):
        check_homework(20, captured=captured)
