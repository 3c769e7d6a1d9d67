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
    unique = os.environ[tb.SESSION_VARIABLE]  # this test's own (tests/conftest.py)
    for session in ("ours", "theirs"):
        (tmp_path / session).mkdir()
        monkeypatch.setenv(tb.SESSION_VARIABLE, f"{unique}-{session}")  # inherited by the server process
        started[session] = manager.start(["--logdir", str(tmp_path / session), "--port", "0",
                                           "--host", "127.0.0.1"], timeout=timeout)
    try:
        assert tb.stop_session_tensorboards(f"{unique}-ours") == 1
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


# ----------------------------------------------------------------- issue 6: nothing escapes runs/
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


# ----------------------------------------------------------------- issue 6: the server is safe
@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "example.org", "::"])
def test_server_refuses_a_network_host_unless_asked(tmp_path, host):
    with pytest.raises(ValueError, match="allow_remote=True"):
        tb.TensorBoardServer(tmp_path, host=host, port=6006)
    assert tb.TensorBoardServer(tmp_path, host=host, port=6006, allow_remote=True).host == host


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_server_accepts_loopback_hosts(tmp_path, host):
    assert tb.TensorBoardServer(tmp_path, host=host, port=6006).host == host


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1, True, "60"])
def test_server_refuses_a_timeout_that_is_not_a_positive_finite_number(tmp_path, timeout):
    with pytest.raises(ValueError, match="timeout must be a positive, finite number"):
        tb.TensorBoardServer(tmp_path, timeout=timeout)


@pytest.mark.parametrize("port", [True, "6006", 0, 70_000, 6006.0])
def test_server_refuses_a_bad_port(tmp_path, port):
    with pytest.raises(ValueError, match="port must be an int from 1 to 65535"):
        tb.TensorBoardServer(tmp_path, port=port)


def test_server_accepts_a_numpy_port(tmp_path):
    assert tb.TensorBoardServer(tmp_path, port=np.int64(6123)).port == 6123


def test_server_on_a_file_says_it_is_a_file(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        tb.TensorBoardServer(tmp_path / "notes.txt")


def test_server_refuses_a_port_another_tensorboard_serves(tmp_path):
    first = write_line(tmp_path / "a", n=3)
    second = write_line(tmp_path / "b", n=3)
    with tb.TensorBoardServer(first) as other:
        with pytest.raises(RuntimeError, match=f"port {other.port} .* already in use"):
            tb.TensorBoardServer(second, port=other.port).start()
        assert other.running


def test_interrupting_start_leaves_no_server_behind(tmp_path, monkeypatch):
    started = []
    real_popen = subprocess.Popen

    def spy(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    real_sleep, interrupted = time.sleep, []

    def interrupt(seconds):  # the learner presses "interrupt" once, while start() waits
        if not interrupted:
            interrupted.append(True)
            raise KeyboardInterrupt
        real_sleep(seconds)

    monkeypatch.setattr(tb.server.subprocess, "Popen", spy)
    monkeypatch.setattr(tb.server.time, "sleep", interrupt)
    server = tb.TensorBoardServer(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        server.start()
    assert len(started) == 1 and started[0].poll() is not None
    assert not server.running


def test_a_failed_start_can_be_retried(tmp_path, monkeypatch):
    server = tb.TensorBoardServer(tmp_path)
    monkeypatch.setattr(server, "_command", lambda: [sys.executable, "-c", "import sys; sys.exit(3)"])
    for _ in range(2):  # the second attempt fails the same way, not with "already running"
        with pytest.raises(RuntimeError, match="exited with code 3"):
            server.start()
        assert not server.running


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_server_dies_with_the_process_that_started_it(tmp_path):
    script = textwrap.dedent(f"""
        import time
        from camp_utils.tb import TensorBoardServer
        server = TensorBoardServer({str(tmp_path)!r}).start()
        print(server._process.pid, flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(parent.stdout.readline())
        assert _alive(pid)
    finally:
        parent.kill()  # like a kernel killed by the learner: no clean-up code runs
        parent.wait()
    assert not _alive_after(pid, seconds=30)


def test_stop_session_tensorboards_needs_a_session_name(monkeypatch):
    signalled = []
    monkeypatch.setattr(tb.notebook.os, "kill", lambda pid, sig: signalled.append(pid))
    fake = type("Info", (), {"pid": 424242, "port": 1, "logdir": "/x"})()
    monkeypatch.setattr(tb.notebook, "notebook_tensorboards", lambda logdir=None: [fake])
    monkeypatch.setattr(tb.notebook, "_environ_of", lambda pid: None)  # environment unreadable
    for session in (None, ""):
        with pytest.raises(ValueError, match="session must be a non-empty str"):
            tb.stop_session_tensorboards(session)
    assert tb.stop_session_tensorboards("some-session") == 0
    assert signalled == []


# ----------------------------------------------------------------- issue 6: damaged event files
def test_a_flipped_byte_is_reported_with_the_file_and_the_lost_records(tmp_path):
    folder = write_line(tmp_path, n=100)
    event_file = next(folder.glob("events.out.tfevents.*"))
    data = bytearray(event_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    event_file.write_bytes(bytes(data))
    with pytest.warns(tb.DamagedEventFileWarning, match=rf"{event_file.name}' is damaged at byte \d+: "
                      r"1 record\(s\) fail their checksum.*so 52 of its 101 records were not read"):
        steps = tb.read_scalars(folder)["."]["y=2x"].steps
    assert steps == list(range(48))


def test_a_garbage_file_is_named_not_silently_skipped(tmp_path):
    write_line(tmp_path, n=3, experiment="good")
    bad = tmp_path / "20" / "bad"
    bad.mkdir()
    (bad / "events.out.tfevents.123.host").write_bytes(b"not an event file" * 20)
    with pytest.warns(tb.DamagedEventFileWarning, match="bad/events.out.tfevents.123.host' is not readable"):
        assert sorted(tb.read_scalars(tmp_path / "20")) == ["good"]
    with pytest.warns(tb.DamagedEventFileWarning):
        with pytest.raises(ValueError, match="no scalars could be read under .*is not readable"):
            tb.read_scalars(bad)


def test_a_file_still_being_written_is_not_damaged(tmp_path):
    import warnings

    folder = write_line(tmp_path, n=10)
    event_file = next(folder.glob("events.out.tfevents.*"))
    event_file.write_bytes(event_file.read_bytes()[:-5])  # the last record is incomplete
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tb.read_scalars(folder)["."]["y=2x"].steps == list(range(9))


# ----------------------------------------------------------------- issue 6: install check
def test_check_install_takes_one_name_as_one_package():
    report = tb.check_install("torch")
    assert list(report.versions) == ["torch"] and report.ok
    with pytest.raises(ValueError, match="packages must be names"):
        tb.check_install(["torch", 3])


def test_local_requests_bypass_a_proxy_so_a_live_record_survives(tmp_path, monkeypatch):
    import tempfile

    from tensorboard import manager, version

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # an info dir of our own
    folder = write_line(tmp_path, n=3)
    with tb.TensorBoardServer(folder) as server:
        info = manager.TensorBoardInfo(version=version.VERSION, start_time=0, pid=444444, port=server.port,
                                       path_prefix="", logdir=str(folder), db="", cache_key="k4")
        (tb.notebook._info_dir() / "pid-444444.info").write_text(manager._info_to_string(info))
        dead_proxy = f"http://127.0.0.1:{tb.server._free_port('127.0.0.1')}"  # nothing listens there
        for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
            monkeypatch.setenv(name, dead_proxy)
        for name in ("no_proxy", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
        assert tb.forget_dead_tensorboards() == 0
        assert [i.pid for i in manager.get_all()] == [444444]
        assert tb.notebook_tensorboards(folder)[0].pid == 444444
        assert server.get_json("data/environment")["data_location"]


def test_a_relative_record_is_read_against_the_folder_its_server_started_in(tmp_path, monkeypatch):
    from tensorboard import manager

    served = tmp_path / "served"
    write_line(served, n=3)
    (tmp_path / "notebooks").mkdir()
    decoy = tmp_path / "elsewhere" / "deeper"  # from here "../served" is another folder
    decoy.mkdir(parents=True)
    (tmp_path / "elsewhere" / "served").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    started = manager.start(["--logdir", "../served", "--port", "0", "--host", "127.0.0.1"],
                            timeout=datetime.timedelta(seconds=60))
    pid = started.info.pid
    try:
        assert started.info.logdir == "../served"  # recorded as given
        monkeypatch.chdir(decoy)
        assert [i.pid for i in tb.notebook_tensorboards(served)] == [pid]
        assert [i.pid for i in tb.notebook_tensorboards("../served")] == []  # tmp/elsewhere/served: not served
        assert tb.stop_notebook_tensorboards("../served") == 0
        assert _alive(pid)
        assert tb.forget_dead_tensorboards() == 0  # alive, so its record is kept
        assert tb.stop_notebook_tensorboards(served) == 1
        assert not _alive_after(pid, seconds=60)
    finally:
        try:
            os.kill(pid, 9)
        except OSError:
            pass


def test_server_on_the_ipv6_loopback(tmp_path):
    import socket

    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")
    folder = write_line(tmp_path, n=5)
    with tb.TensorBoardServer(folder, host="::1") as server:
        assert server.url.startswith("http://[::1]:")
        assert [v for _, _, v in server.scalars(".", "y=2x")] == [2.0 * x for x in range(5)]
