"""camp_utils.tb.runs: run folders under runs/<lesson>/<experiment>, and writers that never reach outside them."""

import numpy as np
import pytest

from camp_utils import tb

from tb_support import write_line


def test_run_writer_uses_runs_lesson_experiment(runs_root):
    writer = tb.run_writer(20, "y_equals_2x")
    writer.add_scalar("a", 1.0, 0)
    writer.close()
    folder = runs_root / "20" / "y_equals_2x"
    assert writer.log_dir == str(folder)
    assert len(list(folder.glob("events.out.tfevents.*"))) == 1


@pytest.mark.parametrize("experiment", ["", "..", "a/../b", "/abs", "C:thing"])
def test_run_dir_rejects_names_that_leave_the_folder(tmp_path, experiment):
    with pytest.raises(ValueError, match="plain relative name"):
        tb.run_dir(20, experiment, tmp_path)


def test_run_dir_allows_nested_runs(tmp_path):
    assert tb.run_dir(21, "lenet/train", tmp_path) == tmp_path / "21" / "lenet" / "train"


def test_fresh_writer_replaces_old_events_and_keeps_other_files(tmp_path):
    folder = write_line(tmp_path, n=10)
    (folder / "notes.txt").write_text("mine")
    write_line(tmp_path, n=10)
    assert len(list(folder.glob("events.out.tfevents.*"))) == 1
    assert (folder / "notes.txt").read_text() == "mine"
    assert tb.read_scalars(folder)["."]["y=2x"].steps == list(range(10))


def test_not_fresh_writer_appends_a_second_file(tmp_path):
    folder = write_line(tmp_path, n=10)
    write_line(tmp_path, n=10, fresh=False)
    assert len(list(folder.glob("events.out.tfevents.*"))) == 2


def test_run_writer_in_unwritable_place_names_the_folder(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the runs folder should be")
    with pytest.raises(PermissionError, match="not_a_folder"):
        tb.run_writer(20, "x", root=blocker)


def test_run_writer_refuses_log_dir(tmp_path):
    with pytest.raises(ValueError, match="log_dir"):
        tb.run_writer(20, "x", root=tmp_path, log_dir="elsewhere")


@pytest.mark.parametrize("lesson", ["../../x", "..", "/abs", None, "", "20/21", True, "C:x", 2.0])
def test_run_dir_checks_the_lesson_too(tmp_path, lesson):
    with pytest.raises(ValueError, match=r"lesson .*(plain relative name|must be a str or an int)"):
        tb.run_dir(lesson, "x", tmp_path)


def test_run_dir_accepts_numpy_lesson_numbers(tmp_path):
    assert tb.run_dir(np.int64(20), "x", tmp_path) == tmp_path / "20" / "x"


def test_run_dir_refuses_a_link_that_points_out_of_the_runs_folder(tmp_path):
    root, outside = tmp_path / "runs", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "20").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="not inside"):
        tb.run_dir(20, "x", root)


def test_fresh_writer_with_an_escaping_lesson_deletes_nothing_outside(tmp_path):
    victim = write_line(tmp_path / "elsewhere", n=3, lesson=1, experiment="x")
    before = sorted(victim.iterdir())
    (tmp_path / "runs").mkdir()
    with pytest.raises(ValueError, match="lesson"):
        tb.run_writer("../elsewhere/1", "x", root=tmp_path / "runs")
    assert sorted(victim.iterdir()) == before


def test_fresh_writer_with_a_typo_keeps_the_old_run(tmp_path):
    folder = write_line(tmp_path, n=5)
    with pytest.raises(TypeError):
        tb.run_writer(20, "line", root=tmp_path, flush_sec=5)  # typo for flush_secs
    assert tb.read_scalars(folder)["."]["y=2x"].steps == list(range(5))


def test_fresh_writer_replaces_its_add_scalars_subruns_but_keeps_nested_runs_and_own_folders(tmp_path):
    def lenet(values):
        with tb.run_writer(21, "lenet", root=tmp_path) as writer:
            for step, value in enumerate(values):
                writer.add_scalars("Loss", {"train": value, "valid": value + 1}, step)
                writer.add_scalar("lr", 0.1, step)

    lenet([3.0, 2.0])
    with tb.run_writer(21, "lenet/train", root=tmp_path) as nested:
        nested.add_scalar("Loss", 9.0, 0)
    (tmp_path / "21" / "lenet" / "my_notes").mkdir()
    lenet([5.0])
    data = tb.read_scalars(tmp_path / "21" / "lenet")
    assert data["Loss_train"]["Loss"].values == [5.0]
    assert data["Loss_valid"]["Loss"].values == [6.0]
    assert data["."]["lr"].steps == [0]
    assert data["train"]["Loss"].values == [9.0]  # the nested run is untouched
    assert (tmp_path / "21" / "lenet" / "my_notes").is_dir()

