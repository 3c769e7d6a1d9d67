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


@pytest.mark.parametrize(("kwargs", "message"), [
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


def test_lesson_20_an_attempt_beside_the_lessons_own_run(tmp_path):
    import time
    write_line(tmp_path / "20" / "y_equals_2x")  # the lesson's own run
    time.sleep(0.05)
    write_line(tmp_path / "20" / "mine")          # the learner's, written after it: right
    result = check_homework(20, tmp_path / "20")
    assert result.correct, result.message
    assert result.message == ("100 points of y = 2x (steps 0..99, values 0..198) in run 'mine': correct (checked "
                              "'mine', the run written last; y_equals_2x hold(s) 'y=2x' too, and TensorBoard draws "
                              "them in the same chart: check_homework(20, run=...) checks only the run you name)")
    time.sleep(0.05)
    write_line(tmp_path / "20" / "wrong", value=lambda x: x * x)   # a wrong one, written last
    result = check_homework(20, tmp_path / "20")
    assert not result and "at step 1 the value is 1" in result.message and "checked 'wrong'" in result.message
    assert check_homework(20, tmp_path / "20", run="mine").correct


def test_lesson_20_written_twice_into_one_run(tmp_path):
    write_line(tmp_path / "20" / "y_equals_2x")
    write_line(tmp_path / "20" / "y_equals_2x")
    assert "written twice into one run" in check_homework(20, tmp_path / "20").message


def write_21(root, way="A", accuracy_scale=1.0, valid=True, valid_steps=(9, 19, 29), names=("train", "valid"),
             layout=True, run="lenet"):
    """A learner's lesson-21 homework: 30 training iterations, validation at ``valid_steps``."""
    train_name, valid_name = names
    folder = root / "21" / run
    if way == "A":
        with SummaryWriter(log_dir=str(folder)) as w:
            for step in range(30):
                w.add_scalars("Loss", {train_name: 1.0 / (step + 1)}, step)
                w.add_scalars("Accuracy", {train_name: accuracy_scale * step / 30}, step)
            if valid:
                for step in valid_steps:
                    w.add_scalars("Loss", {valid_name: 1.2 / (step + 1)}, step)
                    w.add_scalars("Accuracy", {valid_name: accuracy_scale * step / 35}, step)
    elif way == "B":
        with SummaryWriter(log_dir=str(folder / train_name)) as t, \
             SummaryWriter(log_dir=str(folder / valid_name)) as v:
            for step in range(30):
                t.add_scalar("Loss", 1.0 / (step + 1), step)
                t.add_scalar("Accuracy", step / 30, step)
            for step in valid_steps:
                v.add_scalar("Loss", 1.2 / (step + 1), step)
                v.add_scalar("Accuracy", step / 35, step)
    else:  # way C: one run, tags Loss/train and Loss/valid, and a custom-scalars layout
        with SummaryWriter(log_dir=str(folder)) as w:
            for step in range(30):
                w.add_scalar(f"Loss/{train_name}", 1.0 / (step + 1), step)
                w.add_scalar(f"Accuracy/{train_name}", step / 30, step)
            for step in valid_steps:
                w.add_scalar(f"Loss/{valid_name}", 1.2 / (step + 1), step)
                w.add_scalar(f"Accuracy/{valid_name}", step / 35, step)
            if layout:
                charts = {tag: ["Multiline", [f"{tag}/{train_name}", f"{tag}/{valid_name}"]]
                          for tag in ("Loss", "Accuracy")}
                w.add_custom_scalars({"Train vs Valid": charts})


# Right answers a learner writes: the lesson's three ways, other names for the two sides, fit's own logging.
@pytest.mark.parametrize(("way", "kwargs"), [
    ("A", {}), ("B", {}), ("C", {}),
    ("A", {"names": ("train", "val")}), ("B", {"names": ("training", "validation")}),
    ("C", {"names": ("train", "val")}),
    ("A", {"valid_steps": (15, 30)}),  # two epochs, validated at (epoch + 1) * len(loader)
])
def test_lesson_21_right_answers_are_correct(tmp_path, way, kwargs):
    write_21(tmp_path, way, **kwargs)
    result = check_homework(21, tmp_path / "21", run="lenet")
    assert result.correct, result.message
    valid = len(kwargs.get("valid_steps", (9, 19, 29)))
    assert f"Loss train (30 points) and valid ({valid} points) in one chart" in result.message


@pytest.mark.parametrize("log_interval", ["batch", "epoch"])
def test_lesson_21_a_run_written_by_fit_is_correct(tmp_path, log_interval):
    import torch

    from camp_utils.data import shapes_loaders
    from camp_utils.models import GapNet
    from camp_utils.tb import run_writer
    from camp_utils.train import fit

    train_loader, valid_loader, _ = shapes_loaders(16, sizes={"train": 64, "valid": 32, "test": 8}, image_size=16)
    torch.manual_seed(0)
    model = GapNet(4, width=4)
    with run_writer(21, "gapnet", root=tmp_path) as writer:
        fit(model, torch.optim.SGD(model.parameters(), lr=0.01), train_loader, valid_loader, epochs=3,
            writer=writer, log_interval=log_interval, log_histograms=False, device="cpu", progress=False)
    result = check_homework(21, tmp_path / "21", run="gapnet")
    assert result.correct, result.message


# Wrong answers, each with the one thing the verdict must name.
@pytest.mark.parametrize(("way", "kwargs", "message"), [
    ("A", {"valid": False}, "'Loss' has no valid line"),
    ("A", {"accuracy_scale": 100.0}, "accuracy is a share in [0, 1]"),
    # the classic: validation at the epoch (0, 1, 2) next to training at the iteration (0..29)
    ("A", {"valid_steps": (0, 1, 2)}, "valid is logged at steps 0..2 and train at 0..29, so in one chart the valid "
                                      "line is squeezed into the first 7% of the axis"),
    ("B", {"valid_steps": (1, 2, 3)}, "the valid line is squeezed into the first 10% of the axis"),
    ("A", {"valid_steps": (100, 200, 300)}, "the train line is squeezed into the first 10% of the axis"),
    ("C", {"layout": False}, "'Loss/train' and 'Loss/valid' in run 'lenet' are two charts; TensorBoard puts them in "
                             "one only with a custom-scalars layout"),
    ("A", {"names": ("train", "test_set")}, "'Loss' has no valid line"),
])
def test_lesson_21_wrong_answers_are_named(tmp_path, way, kwargs, message):
    write_21(tmp_path, way, **kwargs)
    result = check_homework(21, tmp_path / "21", run="lenet")
    assert not result, result.message
    assert message in result.message


def test_lesson_21_checks_only_the_named_run(tmp_path):
    write_21(tmp_path, "A")  # a correct run of the lesson's own, runs/21/lenet
    with SummaryWriter(log_dir=str(tmp_path / "21" / "mine")) as w:  # the learner's: train only
        for step in range(5):
            w.add_scalars("Loss", {"train": 1.0}, step)
            w.add_scalars("Accuracy", {"train": 0.5}, step)
    with pytest.raises(ValueError, match="run must name your run for lesson 21"):
        check_homework(21, tmp_path / "21")
    result = check_homework(21, tmp_path / "21", run="mine")
    assert not result and "no valid line" in result.message and "mine/Loss_train" in result.message
    assert "there is no folder 'nope'" in check_homework(21, tmp_path / "21", run="nope").message


def test_only_lessons_with_a_checker_are_accepted(tmp_path):
    for lesson in (19, 20, 21, 22, 23):  # the syllabus's lessons: each has a checker, which finds nothing here
        given = {19: {"run": "plateau"}, 21: {"run": "mine"}, 23: {"captured": {True: [], False: []}}}.get(lesson, {})
        try:
            verdict = check_homework(lesson, tmp_path, **given)
        except ValueError as error:  # a checker may refuse an empty answer, never the lesson
            assert "lesson must be one of" not in str(error), lesson  # noqa: PT017 -- either outcome is allowed
        else:
            assert not verdict.correct and verdict.message, lesson
    for bad in (18, 24, "20", True):
        with pytest.raises(ValueError, match="lesson"):
            check_homework(bad, tmp_path)


# ---- lesson 19: a ReduceLROnPlateau run -------------------------------------------------------------

def write_lr_run(folder, lrs, valid_losses=None, valid=True, valid_way="A"):
    """A learner's own loop: the lr and the losses of every epoch, at steps 1, 2, ... (as fit numbers epochs)."""
    valid_losses = valid_losses or [1.2 / (epoch + 1) for epoch in range(len(lrs))]
    writer = SummaryWriter(log_dir=str(folder))
    for epoch, (lr, valid_loss) in enumerate(zip(lrs, valid_losses), start=1):
        writer.add_scalar("LearningRate", lr, epoch)
        if valid_way == "C":
            writer.add_scalar("Loss/train", 1.0 / epoch, epoch)
            writer.add_scalar("Loss/valid", valid_loss, epoch)
        else:
            writer.add_scalars("Loss", {"train": 1.0 / epoch, **({"valid": valid_loss} if valid else {})}, epoch)
    writer.close()


def plateau_lrs(valid_losses, lr=0.05, **settings):
    """The lrs torch's own ReduceLROnPlateau gives for these validation losses, stepped once per epoch."""
    import torch
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, **settings)
    lrs = []
    for loss in valid_losses:
        lrs.append(optimizer.param_groups[0]["lr"])
        scheduler.step(loss)
    return lrs


# Validation losses that a plateau run and other schedulers meet: they fall, stall, fall again.
BUMPY = [1.0, 0.9, 0.95, 0.8, 0.85, 0.86, 0.7, 0.72]


def fit_run(root, make_scheduler, log_interval="epoch", lr=1e-6, epochs=5):
    import torch

    from camp_utils.data import shapes_loaders
    from camp_utils.models import GapNet
    from camp_utils.tb import run_writer
    from camp_utils.train import fit

    train_loader, valid_loader, _ = shapes_loaders(32, sizes={"train": 64, "valid": 32, "test": 8}, image_size=16)
    torch.manual_seed(0)
    model = GapNet(4, width=4)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)  # so small that the valid loss stalls
    with run_writer(19, "mine", root=root) as writer:
        fit(model, optimizer, train_loader, valid_loader, epochs=epochs, scheduler=make_scheduler(optimizer),
            writer=writer, log_histograms=False, log_interval=log_interval, device="cpu", seed=0, progress=False)
    return check_homework(19, root / "19", run="mine")


@pytest.mark.parametrize("log_interval", ["epoch", "batch"])
def test_lesson_19_a_real_plateau_run_is_correct(tmp_path, log_interval):
    import torch
    result = fit_run(tmp_path, lambda opt: torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0),
                     log_interval)
    assert result, result.message
    assert "factor x0.5), exactly where ReduceLROnPlateau(patience=0) cuts it" in result.message
    assert result.message.endswith("correct")


@pytest.mark.parametrize(("settings", "valid_way"), [
    ({"factor": 0.5, "patience": 0}, "A"),
    ({"factor": 0.1, "patience": 1}, "A"),
    ({"factor": 0.5, "patience": 0, "cooldown": 2}, "A"),
    ({"factor": 0.5, "patience": 0, "min_lr": 0.02}, "A"),
    ({"factor": 0.5, "patience": 0}, "C"),   # an own loop that logs Loss/valid in the run itself
])
def test_lesson_19_plateau_runs_of_an_own_loop_are_correct(tmp_path, settings, valid_way):
    lrs = plateau_lrs(BUMPY, **settings)
    write_lr_run(tmp_path / "19" / "mine", lrs, BUMPY, valid_way=valid_way)
    result = check_homework(19, tmp_path / "19", run="mine")
    assert result, (settings, lrs, result.message)


def test_lesson_19_a_step_schedule_trained_by_fit_is_refused_whatever_its_loss_did(tmp_path):
    # StepLR may cut where a plateau would have (here the loss stalls: lr 1e-6), so the losses alone
    # cannot tell; fit writes the scheduler into the run and the checker reads it.
    import torch
    result = fit_run(tmp_path, lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5))
    assert not result
    assert "this run was trained with StepLR(step_size=2, gamma=0.5)" in result.message


@pytest.mark.parametrize(("lrs", "valid", "message"), [
    ([0.05] * 8, True, "the lr never changed (0.05 in all 8 epochs)"),
    ([0.05 * 0.9 ** e for e in range(8)], True, "cut right after the first epoch"),                # ExponentialLR
    ([0.05, 0.05, 0.005, 0.005, 0.0005, 0.0005, 5e-5, 5e-5], True,                                # StepLR(2)
     "the lr was cut after epoch 2 although the validation loss improved in that epoch (1 -> 0.9, its best"),
    ([0.05, 0.05, 0.05, 0.05, 0.05, 0.005, 0.005, 0.005], True,                                   # MultiStepLR([5])
     "the lr was cut after epoch(s) 5, but ReduceLROnPlateau replayed on the logged validation loss cuts "
     "elsewhere for every patience 0-10 and cooldown 0-3 (with patience=1: after epoch(s) 6)"),
    ([0.002, 0.02, 0.05, 0.025, 0.0125, 0.01, 0.01, 0.01], True, "the lr rises after epoch 1 (0.002 -> 0.02)"),
    ([0.05, 0.05, 0.025, 0.025], False, "no validation loss in this run"),
    ([0.05, 0.025], True, "only 2 epoch(s)"),
])
def test_lesson_19_wrong_answers_are_named(tmp_path, lrs, valid, message):
    write_lr_run(tmp_path / "19" / "mine", lrs, BUMPY[: len(lrs)], valid)
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


def dark_batch(n=16, size=28, saturated=0.01):
    """FashionMNIST/MNIST-like: grey objects on an exactly black background (about half the pixels),
    a few pixels exactly white. Measured on FashionMNIST: 50-53 % zeros, under 1 % 255s.
    """
    import torch
    generator = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    batch = torch.zeros(n, 1, size, size)
    for i in range(n):
        cy, cx, r = [*torch.randint(9, 19, (2,), generator=generator).tolist(), 8 + i % 3]
        blob = ((yy - cy) ** 2 + (xx - cx) ** 2 < r * r)
        batch[i, 0][blob] = torch.rand(int(blob.sum()), generator=generator) * 0.7 + 0.2
    batch.view(-1)[torch.randperm(batch.numel(), generator=generator)[: int(saturated * batch.numel())]] = 1.0
    return batch


def write_image(folder, picture, tag="homework/train_batch", extra=None):
    writer = SummaryWriter(log_dir=str(folder))
    writer.add_image(tag, picture, 0)
    for other_tag, other in (extra or {}).items():
        writer.add_image(other_tag, other, 0)
    writer.close()


# Right answers: the lesson's shapes denormalised or normalize=True, a dark-background dataset, objects on white.
@pytest.mark.parametrize("answer", ["denormalised", "normalize=True", "dark background", "white background",
                                    "dark background, normalize=True"])
def test_lesson_22_right_grids_are_correct(tmp_path, answer):
    from torchvision.utils import make_grid

    from camp_utils.data import denormalize
    batch = {"denormalised": lambda: denormalize(shapes_batch()),
             "normalize=True": lambda: shapes_batch(),
             "dark background": dark_batch,
             "white background": lambda: 1 - dark_batch(),
             "dark background, normalize=True": lambda: (dark_batch() - 0.286) / 0.353}[answer]()
    write_image(tmp_path / "22" / "mine", make_grid(batch, nrow=4, normalize=answer.endswith("normalize=True")))
    result = check_homework(22, tmp_path / "22", run="mine")
    assert result, result.message


def test_lesson_22_the_exact_verdict(tmp_path):
    from torchvision.utils import make_grid

    from camp_utils.data import denormalize
    write_image(tmp_path / "22" / "grid", make_grid(denormalize(shapes_batch()), nrow=4))
    assert str(check_homework(22, tmp_path / "22", run="grid")) == (
        "Lesson 22 homework: 'homework/train_batch' is a 138 x 138 grid of tiles with values inside [0, 1]: correct")


@pytest.mark.parametrize(("mistake", "message"), [
    ("normalised", "49% of the colour values in 'homework/train_batch' are 0 and 17% are 255: the batch was "
                   "outside [0, 1] at both ends and TensorBoard clipped it"),
    ("dark background normalised", "are 255: the batch was outside [0, 1] at both ends"),
    ("one image", "shows one picture, not a grid of tiles"),
])
def test_lesson_22_wrong_answers_are_named(tmp_path, mistake, message):
    from torchvision.utils import make_grid

    from camp_utils.data import denormalize
    picture = {"normalised": lambda: make_grid(shapes_batch(), nrow=4),
               "dark background normalised": lambda: make_grid((dark_batch() - 0.286) / 0.353, nrow=4),
               "one image": lambda: denormalize(shapes_batch()[0])}[mistake]()
    write_image(tmp_path / "22" / "mine", picture)
    result = check_homework(22, tmp_path / "22", run="mine")
    assert not result
    assert message in result.message


def test_lesson_22_a_run_with_several_images_needs_the_tag(tmp_path):
    # as in the lesson's own make_grid run: the homework grid and grids of the make_grid options after it
    from torchvision.utils import make_grid

    from camp_utils.data import denormalize
    batch = denormalize(shapes_batch())
    write_image(tmp_path / "22" / "mine", make_grid(batch, nrow=4),
                extra={"options/nrow=2": make_grid(batch[:4], nrow=2)})
    result = check_homework(22, tmp_path / "22", run="mine")
    assert not result
    assert result.message == ("this run holds 2 image tags ['homework/train_batch', 'options/nrow=2']: name your "
                              "homework's, e.g. check_homework(22, run=..., tag='homework/train_batch')")
    assert check_homework(22, tmp_path / "22", run="mine", tag="homework/train_batch")


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

def alexnet_recordings(size=(224, 224)):
    import torch
    from torchvision.models import alexnet
    torch.manual_seed(0)
    model = alexnet(weights=None).eval()
    image = torch.randn(1, 3, *size)
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


@pytest.mark.parametrize("size", [(224, 224), (300, 200), (128, 128)])
def test_lesson_23_the_right_recordings_are_correct(size):
    # the homework asks for a photo, not a 224 x 224 one: any size AlexNet takes is right
    _, _, captured = alexnet_recordings(size)
    result = check_homework(23, captured=captured)
    assert result, result.message


def test_lesson_23_typical_wrong_answers_are_named():
    import torch
    _model, _image, captured = alexnet_recordings()
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
