"""camp_utils.tb.notebook: the %tensorboard program, and the servers the magic started (found, kept, stopped)."""
import datetime
import os
import subprocess
import sys
import textwrap

import pytest

from camp_utils import tb

from tb_support import alive, alive_after, closed_port, write_line


@pytest.fixture(autouse=True)
def magic_set_up(monkeypatch):
    # These tests start servers the way %tensorboard does, in a kernel where importing camp_utils has pointed
    # the magic at this environment's program; a test process is no kernel, so it is done here.
    monkeypatch.setenv("TENSORBOARD_BINARY", str(tb.find_tensorboard_program()))


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
        from IPython.core.interactiveshell import InteractiveShell
        InteractiveShell.instance()   # as in a notebook's kernel, where importing camp_utils sets the magic up
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
        assert not alive_after(started[0].info.pid, seconds=60)
        assert alive(started[1].info.pid)
    finally:
        for s in started:
            if alive(s.info.pid):
                os.kill(s.info.pid, 15)


def test_stale_tensorboard_record_never_kills_an_unrelated_process(tmp_path, monkeypatch):
    """A record whose server is gone (its pid reused by another program) is ignored."""
    import tempfile

    from tensorboard import manager, version

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # an info dir of our own
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with closed_port() as nowhere:
            info = manager.TensorBoardInfo(version=version.VERSION, start_time=0, pid=bystander.pid,
                                           port=nowhere, path_prefix="",
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

    with tb.TensorBoardServer(folder) as server, closed_port() as nowhere:
        record(111111, server.port)  # alive: it answers
        record(222222, nowhere)      # dead: nothing listens there
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
        assert not alive_after(started["ours"].info.pid, seconds=60)
        assert alive(started["theirs"].info.pid)
    finally:
        for s in started.values():
            if alive(s.info.pid):
                os.kill(s.info.pid, 15)


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


def test_local_requests_bypass_a_proxy_so_a_live_record_survives(tmp_path, monkeypatch):
    import tempfile

    from tensorboard import manager, version

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # an info dir of our own
    folder = write_line(tmp_path, n=3)
    with tb.TensorBoardServer(folder) as server, closed_port() as nowhere:
        info = manager.TensorBoardInfo(version=version.VERSION, start_time=0, pid=444444, port=server.port,
                                       path_prefix="", logdir=str(folder), db="", cache_key="k4")
        (tb.notebook._info_dir() / "pid-444444.info").write_text(manager._info_to_string(info))
        dead_proxy = f"http://127.0.0.1:{nowhere}"  # nothing listens there
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
        assert alive(pid)
        assert tb.forget_dead_tensorboards() == 0  # alive, so its record is kept
        assert tb.stop_notebook_tensorboards(served) == 1
        assert not alive_after(pid, seconds=60)
    finally:
        try:
            os.kill(pid, 9)
        except OSError:
            pass



IMPORT_PROBE = textwrap.dedent("""
    import json, os, socket, sys
    from tensorboard import manager, version
    connects, removed = [], []
    real_connect, real_connect_ex, real_remove = socket.socket.connect, socket.socket.connect_ex, os.remove

    def connect(self, address):
        connects.append(str(address))
        return real_connect(self, address)

    def connect_ex(self, address):
        connects.append(str(address))
        return real_connect_ex(self, address)

    def remove(path, *args, **kwargs):
        removed.append(os.fspath(path))
        return real_remove(path, *args, **kwargs)

    dead_pid, dead_port = int(sys.argv[1]), int(sys.argv[2])
    info = manager.TensorBoardInfo(version=version.VERSION, start_time=0, pid=dead_pid, port=dead_port,
                                   path_prefix="", logdir="/nowhere", db="", cache_key="x")
    record = os.path.join(manager._get_info_dir(), f"pid-{dead_pid}.info")
    with open(record, "w") as f:
        f.write(manager._info_to_string(info))
    socket.socket.connect, socket.socket.connect_ex, os.remove = connect, connect_ex, remove  # from here on
    os.unlink = remove
    if sys.argv[3] == "kernel":
        from IPython.core.interactiveshell import InteractiveShell
        InteractiveShell.instance()
    import camp_utils, camp_utils.train, camp_utils.models, camp_utils.cam, camp_utils.schedules, camp_utils.data
    print(json.dumps({"connects": connects, "removed": removed, "record_kept": os.path.exists(record),
                      "binary": "TENSORBOARD_BINARY" in os.environ, "in_ipython": camp_utils.in_ipython()}))
""")


def _import_in_a_fresh_process(tmp_path, where):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    env = {k: v for k, v in os.environ.items() if k not in ("TENSORBOARD_BINARY", "TENSORBOARD_PROXY_URL")}
    env["TMPDIR"] = str(tmp_path)  # TensorBoard's info folder of its own
    with closed_port() as nowhere:
        out = subprocess.run([sys.executable, "-c", IMPORT_PROBE, dead.stdout.strip(), str(nowhere), where],
                             env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    import json
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_package_in_a_script_touches_no_socket_no_record_no_variable(tmp_path):
    # A torchrun worker, a benchmark or a test imports camp_utils: nothing of %tensorboard's housekeeping runs.
    seen = _import_in_a_fresh_process(tmp_path, "script")
    assert seen == {"connects": [], "removed": [], "record_kept": True, "binary": False, "in_ipython": False}


def test_importing_the_package_in_a_kernel_sets_up_the_magic(tmp_path):
    # In IPython (a notebook's kernel) the same import points %tensorboard at this environment's program and
    # forgets the record of a server that is gone.
    seen = _import_in_a_fresh_process(tmp_path, "kernel")
    assert seen["in_ipython"] and seen["binary"] and not seen["record_kept"]
    assert any(path.endswith(".info") for path in seen["removed"])
