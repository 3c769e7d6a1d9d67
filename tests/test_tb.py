"""camp_utils.tb: writing runs, reading them back, serving them, finding the program."""
import datetime
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from camp_utils import tb


def write_line(root, n=100, lesson=20, experiment="line", **kwargs):
    with tb.run_writer(lesson, experiment, root=root, **kwargs) as writer:
        for x in range(n):
            writer.add_scalar("y=2x", 2 * x, x)
    return root / str(lesson) / experiment


# ----------------------------------------------------------------- run names and writers
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


# ----------------------------------------------------------------- reading scalars
def test_read_scalars_returns_every_point_exactly(tmp_path):
    # 12,000 points: more than the 10,000 EventAccumulator keeps by default.
    folder = write_line(tmp_path, n=12_000)
    series = tb.read_scalars(folder, "y=2x")["."]["y=2x"]
    assert series.steps == list(range(12_000))
    assert series.values == [2.0 * x for x in range(12_000)]
    assert len(series.wall_times) == 12_000


def test_read_scalars_walks_sub_runs_of_add_scalars(tmp_path):
    with tb.run_writer(21, "group", root=tmp_path) as writer:
        for step in range(5):
            writer.add_scalars("Loss", {"train": 1.0 / (step + 1), "valid": 2.0}, step)
            writer.add_scalar("lr", 0.1, step)
    data = tb.read_scalars(tmp_path / "21")
    assert sorted(data) == ["group", "group/Loss_train", "group/Loss_valid"]
    assert data["group/Loss_valid"]["Loss"].values == [2.0] * 5
    only_loss = tb.read_scalars(tmp_path / "21", tag="Loss")
    assert sorted(only_loss) == ["group/Loss_train", "group/Loss_valid"]


def test_read_scalars_missing_folder_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        tb.read_scalars(tmp_path / "nowhere")


def test_read_scalars_folder_without_events(tmp_path):
    with pytest.raises(ValueError, match="no TensorBoard event files"):
        tb.read_scalars(tmp_path)


def test_read_scalars_unknown_tag_names_it_and_lists_known_tags(tmp_path):
    folder = write_line(tmp_path, n=3)
    with pytest.raises(ValueError, match=r"tag 'y=3x' was never written.*y=2x"):
        tb.read_scalars(folder, tag="y=3x")


# ----------------------------------------------------------------- reading histograms
def test_read_histograms_round_trip(tmp_path):
    values = torch.linspace(-1, 1, 1001)
    with tb.run_writer(21, "hist", root=tmp_path) as writer:
        for step in range(3):
            writer.add_histogram("w", values * (step + 1), step)
    records = tb.read_histograms(tmp_path / "21" / "hist", "w")["."]["w"]
    assert [r.step for r in records] == [0, 1, 2]
    last = records[-1]
    assert last.num == 1001 and last.counts.sum() == 1001
    assert len(last.edges) == len(last.counts) + 1
    assert last.min == pytest.approx(-3.0) and last.max == pytest.approx(3.0)
    assert np.all(np.diff(last.edges) >= 0)


def test_read_histograms_unknown_tag(tmp_path):
    folder = write_line(tmp_path, n=3)
    with pytest.raises(ValueError, match="tag 'w' was never written as histograms"):
        tb.read_histograms(folder, "w")


# ----------------------------------------------------------------- the server
def test_server_serves_what_was_written_and_stops(tmp_path):
    folder = write_line(tmp_path, n=100)
    with tb.TensorBoardServer(folder.parent) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.runs() == ["line"]
        rows = server.scalars("line", "y=2x")
        process = server._process
    assert [(s, v) for _, s, v in rows] == [(x, 2.0 * x) for x in range(100)]
    assert not server.running and process.poll() is not None


def test_server_stops_when_the_body_raises(tmp_path):
    folder = write_line(tmp_path, n=3)
    with pytest.raises(RuntimeError, match="boom"):
        with tb.TensorBoardServer(folder) as server:
            process = server._process
            raise RuntimeError("boom")
    assert process.poll() is not None


def test_server_unknown_series_names_run_and_tag(tmp_path):
    folder = write_line(tmp_path, n=3)
    with tb.TensorBoardServer(folder.parent) as server:
        with pytest.raises(ValueError, match=r"run 'line', tag 'nope'"):
            server.scalars("line", "nope")


def test_server_missing_folder_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        tb.TensorBoardServer(tmp_path / "missing")


def test_server_rejects_bad_timeout(tmp_path):
    with pytest.raises(ValueError, match="timeout"):
        tb.TensorBoardServer(tmp_path, timeout=0)


# ----------------------------------------------------------------- program and install check
def test_find_program_prefers_tensorboard_binary(tmp_path, monkeypatch):
    fake = tmp_path / "my-tensorboard"
    fake.write_text("")
    monkeypatch.setenv("TENSORBOARD_BINARY", str(fake))
    assert tb.find_tensorboard_program() == fake


def test_tensorboard_magic_finds_program_without_activated_venv(tmp_path):
    """What `%tensorboard` does, in a Python whose PATH lacks this environment's bin folder."""
    script = textwrap.dedent(f"""
        import datetime, os, shutil
        assert shutil.which("tensorboard") is None, "test needs a PATH without tensorboard"
        from tensorboard import manager
        args = ["--logdir", {str(tmp_path)!r}, "--port", "0", "--host", "127.0.0.1"]
        timeout = datetime.timedelta(seconds=60)
        before = manager.start(args, timeout=timeout)
        import camp_utils
        after = manager.start(args, timeout=timeout)
        if hasattr(after, "info"):
            os.kill(after.info.pid, 15)
        print(type(before).__name__, type(after).__name__)
    """)
    env = {k: v for k, v in os.environ.items() if k != "TENSORBOARD_BINARY"}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not os.path.isfile(os.path.join(p, "tensorboard")))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["StartExecFailed", "StartLaunched"]


def test_check_install_reports_versions():
    report = tb.check_install()
    assert report.ok, report.problems
    assert set(report.versions) == {"torch", "torchvision", "tensorboard"}
    assert report.versions["torch"].split("+")[0] == torch.__version__.split("+")[0]
    assert "All good" in str(report)


def test_check_install_explains_a_missing_package():
    report = tb.check_install(("torch", "no-such-package-xyz"))
    assert not report.ok
    assert report.versions["no-such-package-xyz"] is None
    assert "no-such-package-xyz" in report.problems[0] and "requirements.txt" in report.problems[0]
    assert "MISSING" in str(report)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="tells exited servers from zombies via /proc")
def test_stop_notebook_tensorboards_stops_only_the_servers_of_that_folder(tmp_path):
    from tensorboard import manager

    (tmp_path / "mine").mkdir()
    (tmp_path / "other").mkdir()
    timeout = datetime.timedelta(seconds=60)
    started = [manager.start(["--logdir", str(tmp_path / name), "--port", "0", "--host", "127.0.0.1"],
                             timeout=timeout) for name in ("mine", "other")]
    assert all(type(s).__name__ == "StartLaunched" for s in started), started
    try:
        assert tb.stop_notebook_tensorboards(tmp_path / "mine") == 1
        assert not _alive_after(started[0].info.pid, seconds=60)
        assert _alive(started[1].info.pid)
    finally:
        for s in started:
            if _alive(s.info.pid):
                os.kill(s.info.pid, 15)


def _alive_after(pid, seconds):
    """Whether ``pid`` still runs after waiting up to ``seconds`` for it to exit."""
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _alive(pid)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    # a terminated child that was not reaped yet is a zombie: count it as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


def test_stale_tensorboard_record_never_kills_an_unrelated_process(tmp_path, monkeypatch):
    """A record whose server is gone (its pid reused by another program) is ignored."""
    import tempfile

    from tensorboard import manager, version

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # an info dir of our own
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        info = manager.TensorBoardInfo(version=version.VERSION, start_time=0, pid=bystander.pid,
                                       port=tb.server._free_port("127.0.0.1"), path_prefix="",
                                       logdir=str(tmp_path), db="", cache_key="x")
        info_dir = manager._get_info_dir()
        with open(os.path.join(info_dir, f"pid-{bystander.pid}.info"), "w") as f:
            f.write(manager._info_to_string(info))
        assert [i.pid for i in manager.get_all()] == [bystander.pid]
        assert tb.notebook_tensorboards(tmp_path) == []
        assert tb.stop_notebook_tensorboards(tmp_path) == 0
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_forget_dead_tensorboards_removes_only_records_of_dead_servers(tmp_path, monkeypatch):
    import tempfile

    from tensorboard import manager, version

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # an info dir of our own
    folder = write_line(tmp_path, n=3)

    def record(pid, port):
        info = manager.TensorBoardInfo(version=version.VERSION, start_time=0, pid=pid, port=port,
                                       path_prefix="", logdir=str(folder), db="", cache_key=f"k{pid}")
        (tb.notebook._info_dir() / f"pid-{pid}.info").write_text(manager._info_to_string(info))

    with tb.TensorBoardServer(folder) as server:
        record(111111, server.port)                 # alive: it answers
        record(222222, tb.server._free_port("127.0.0.1"))  # dead: nothing listens there
        other = tmp_path / "other"
        other.mkdir()
        info = manager.TensorBoardInfo(version=version.VERSION, start_time=0, pid=333333, port=server.port,
                                       path_prefix="", logdir=str(other), db="", cache_key="k3")
        # dead too: its port was taken over by a server of another folder
        (tb.notebook._info_dir() / "pid-333333.info").write_text(manager._info_to_string(info))
        assert tb.forget_dead_tensorboards() == 2
        assert [i.pid for i in manager.get_all()] == [111111]


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads other processes' environment from /proc")
def test_stop_session_tensorboards_stops_only_servers_of_that_session(tmp_path, monkeypatch):
    from tensorboard import manager

    timeout = datetime.timedelta(seconds=60)
    started = {}
    for session in ("ours", "theirs"):
        (tmp_path / session).mkdir()
        monkeypatch.setenv(tb.SESSION_VARIABLE, session)  # inherited by the server process
        started[session] = manager.start(["--logdir", str(tmp_path / session), "--port", "0",
                                           "--host", "127.0.0.1"], timeout=timeout)
    try:
        assert tb.stop_session_tensorboards("ours") == 1
        assert not _alive_after(started["ours"].info.pid, seconds=60)
        assert _alive(started["theirs"].info.pid)
    finally:
        for s in started.values():
            if _alive(s.info.pid):
                os.kill(s.info.pid, 15)


# ----------------------------------------------------------------- which reader sees what
def _write_steps(folder, steps, writers=1):
    from torch.utils.tensorboard import SummaryWriter

    for _ in range(writers):
        with SummaryWriter(str(folder)) as writer:
            for step in steps:
                writer.add_scalar("x", step, step)


def test_readers_differ_when_steps_go_backwards_or_a_run_is_written_twice(tmp_path):
    """Pins TensorBoard's behaviour: an upgrade that changes it makes this test fail.

    read_scalars (Python EventAccumulator) keeps every point; a default
    TensorBoard (--load_fast=auto: the Rust data server) keeps the last point per step.
    """
    _write_steps(tmp_path / "backwards", [*range(100), *range(50, 60)])
    _write_steps(tmp_path / "twice", range(100), writers=2)
    assert len(tb.read_scalars(tmp_path / "backwards")["."]["x"].steps) == 110
    assert len(tb.read_scalars(tmp_path / "twice")["."]["x"].steps) == 200
    with tb.TensorBoardServer(tmp_path) as default:
        assert default.loader == "rust", "the tensorboard-data-server wheel is missing"
        backwards = default.scalars("backwards", "x")
        twice = default.scalars("twice", "x")
    assert [s for _, s, _ in backwards] == list(range(60))
    assert [s for _, s, _ in twice] == list(range(100))
    with tb.TensorBoardServer(tmp_path, load_fast="false") as python:
        assert python.loader == "python"
        assert len(python.scalars("backwards", "x")) == 110
        assert len(python.scalars("twice", "x")) == 200


def test_server_refuses_an_unknown_loader(tmp_path):
    with pytest.raises(ValueError, match=r"load_fast must be one of \('auto', 'true', 'false'\)"):
        tb.TensorBoardServer(tmp_path, load_fast="fast")
