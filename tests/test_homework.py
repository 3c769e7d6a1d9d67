"""camp_utils.homework: each checker passes the right answer and names what is wrong in typical wrong ones."""
import pytest
from torch.utils.tensorboard import SummaryWriter

from camp_utils.homework import HOMEWORK_LESSONS, check_homework


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
    assert str(result) == "Lesson 20 homework: 100 points of y = 2x (steps 0..99, values 0..198) in run 'y_equals_2x': correct"


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
    writer = write_line(tmp_path / "20" / "open", flush=False)  # still open, nothing flushed
    try:
        message = check_homework(20, tmp_path / "20").message
        assert "nothing flushed yet" in message
    finally:
        writer.close()
    assert check_homework(20, tmp_path / "20").correct  # closing flushed it


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
    assert HOMEWORK_LESSONS == (20, 21)
    for bad in (19, "20", True):
        with pytest.raises(ValueError, match="lesson"):
            check_homework(bad, tmp_path)
