"""camp_utils.tb.server: a real TensorBoard for checks -- what it serves, which loader, that it is safe and stops."""
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from camp_utils import tb

from tb_support import alive, alive_after, write_line


def test_server_serves_what_was_written_and_stops(tmp_path):
    folder = write_line(tmp_path, n=100)
    with tb.TensorBoardServer(folder.parent) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.runs() == ["line"]
        rows = server.scalars("line", "y=2x")
        process = server._process
    assert [(s, v) for _, s, v in rows] == [(x, 2.0 * x) for x in range(100)]
    assert not server.running and process.poll() is not None


def test_get_text_returns_a_plugins_answer_as_it_is_served(tmp_path):
    import warnings

    import torch
    from torch.utils.tensorboard import SummaryWriter
    with SummaryWriter(tmp_path / "graph") as writer, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.trace's deprecation: the graph is written all the same
        writer.add_graph(torch.nn.Linear(3, 2), torch.zeros(1, 3))
    with tb.TensorBoardServer(tmp_path) as server:
        text = server.get_text("data/plugin/graphs/graph", run="graph", conceptual="false")
        assert server.get_text("data/runs") == '["graph"]'
    assert 'op: "aten::linear"' in text   # the graph as the GRAPHS tab receives it (pbtxt)


def test_server_stops_when_the_body_raises(tmp_path):
    folder = write_line(tmp_path, n=3)
    with pytest.raises(RuntimeError, match="boom"), tb.TensorBoardServer(folder) as server:  # noqa: PT012
        process = server._process
        raise RuntimeError("boom")
    assert process.poll() is not None


def test_server_unknown_series_names_run_and_tag(tmp_path):
    folder = write_line(tmp_path, n=3)
    with tb.TensorBoardServer(folder.parent) as server, pytest.raises(ValueError, match=r"run 'line', tag 'nope'"):
        server.scalars("line", "nope")


def test_server_missing_folder_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        tb.TensorBoardServer(tmp_path / "missing")


def test_server_rejects_bad_timeout(tmp_path):
    with pytest.raises(ValueError, match="timeout"):
        tb.TensorBoardServer(tmp_path, timeout=0)


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
        assert tb.fast_loader_available()   # what the lessons and the exercise checker ask before they count
        backwards = default.scalars("backwards", "x")
        twice = default.scalars("twice", "x")
    assert [s for _, s, _ in backwards] == list(range(60))
    assert [s for _, s, _ in twice] == list(range(100))
    with tb.TensorBoardServer(tmp_path, load_fast="false") as python:
        assert python.loader == "python"
        assert len(python.scalars("backwards", "x")) == 110
        assert len(python.scalars("twice", "x")) == 200


def test_fast_loader_available_says_whether_the_data_server_program_is_there(monkeypatch):
    import tensorboard_data_server

    assert tb.fast_loader_available() is (tensorboard_data_server.server_binary() is not None)
    monkeypatch.setattr(tensorboard_data_server, "server_binary", lambda: None)   # pip's empty wheel (Windows, ...)
    assert tb.fast_loader_available() is False


def test_server_refuses_an_unknown_loader(tmp_path):
    with pytest.raises(ValueError, match=r"load_fast must be one of \('auto', 'true', 'false'\)"):
        tb.TensorBoardServer(tmp_path, load_fast="fast")


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
        assert alive(pid)
    finally:
        parent.kill()  # like a kernel killed by the learner: no clean-up code runs
        parent.wait()
    assert not alive_after(pid, seconds=30)


def test_server_on_the_ipv6_loopback(tmp_path):
    import socket

    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:  # .ci/run sets CI=true: no silent skip there
            pytest.fail("CI's machine has no IPv6 loopback (::1), so TensorBoard on ::1 goes untested")
        pytest.skip("this machine has no IPv6 loopback")
    folder = write_line(tmp_path, n=5)
    with tb.TensorBoardServer(folder, host="::1") as server:
        assert server.url.startswith("http://[::1]:")
        assert [v for _, _, v in server.scalars(".", "y=2x")] == [2.0 * x for x in range(5)]



def test_data_location_says_which_folder_a_server_serves(tmp_path):
    folder = write_line(tmp_path, n=3)
    with tb.TensorBoardServer(folder) as server:
        assert tb.data_location(server.url) == folder.resolve()
        assert tb.data_location(server.url.rstrip("/"), timeout=5) == folder.resolve()
    assert tb.data_location(server.url, timeout=1) is None  # stopped: nothing answers


def test_data_location_reads_a_relative_answer_against_the_servers_folder(tmp_path):
    import http.server
    import json
    import threading

    class Environment(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"data_location": "../runs/20"} if self.path == "/data/environment" else {})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    with http.server.HTTPServer(("127.0.0.1", 0), Environment) as fake:
        threading.Thread(target=fake.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{fake.server_address[1]}/"
            assert tb.data_location(url, base=tmp_path / "notebooks") == (tmp_path / "runs" / "20").resolve()
        finally:
            fake.shutdown()


@pytest.mark.parametrize(("url", "timeout", "message"), [
    ("localhost:6006", 2.0, "url must be an http:// address"),
    (6006, 2.0, "url must be an http:// address"),
    ("http://localhost:6006/", 0, "timeout must be a positive, finite number"),
])
def test_data_location_refuses_a_bad_url_or_timeout(url, timeout, message):
    with pytest.raises(ValueError, match=message):
        tb.data_location(url, timeout=timeout)


@pytest.fixture
def squatter(monkeypatch):
    """Make every TensorBoard start lose the race: just before the process starts, another program binds
    whatever port its command line names. Returns the ports taken (0, "any free one", cannot be taken).
    """
    import socket

    real_popen, taken, squatters = subprocess.Popen, [], []

    def popen(command, *args, **kwargs):
        port = int(command[command.index("--port") + 1]) if "tensorboard.main" in command else 0
        if port:
            squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
            squatters.append(squatter)
            taken.append(port)
        return real_popen(command, *args, **kwargs)

    monkeypatch.setattr(tb.server.subprocess, "Popen", popen)
    yield taken
    for squatter in squatters:
        squatter.close()


def test_no_port_is_chosen_before_tensorboard_binds_it(tmp_path, squatter):
    # A port picked free in this process and bound later by TensorBoard can be taken in between (by another
    # server started at the same time, a test run, another kernel); none is picked here, the OS does it at bind.
    folder = write_line(tmp_path, n=3)
    server = tb.TensorBoardServer(folder)
    assert server.port is None
    with pytest.raises(RuntimeError, match="no port yet"):
        _ = server.url
    with server:
        assert squatter == [] and server.port > 0 and server.url == f"http://127.0.0.1:{server.port}/"
        assert [v for _, _, v in server.scalars(".", "y=2x")] == [0.0, 2.0, 4.0]


def test_a_named_port_taken_just_before_tensorboard_binds_it_says_so(tmp_path, squatter):
    import socket

    with socket.socket() as probe:  # a port that is free now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RuntimeError, match=f"port {port} on 127.0.0.1 is already in use"):
        tb.TensorBoardServer(write_line(tmp_path, n=3), port=port).start()
    assert squatter == [port]


def test_many_servers_started_at_once_each_answer_on_their_own_port(tmp_path):
    # What solutions 20 does with two servers, twelve at a time, five times over. Before TensorBoard chose its
    # own port, about one round in three of twelve failed with "port ... already in use" on a 2-core machine.
    import threading
    from concurrent.futures import ThreadPoolExecutor

    folder = write_line(tmp_path, n=3)

    def serve(i, barrier):
        try:
            server = tb.TensorBoardServer(folder, load_fast=("auto", "false")[i % 2]).start()
        except BaseException:
            barrier.abort()  # the others stop waiting; this error is the test's failure
            raise
        try:
            # All twelve serve at the same time before any stops: a port freed by a server that already
            # stopped may be handed out again, so only ports held at once must differ.
            barrier.wait()
            return server.port, [v for _, _, v in server.scalars(".", "y=2x")]
        finally:
            server.stop()

    for _ in range(5):
        barrier = threading.Barrier(12, timeout=300)
        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(serve, range(12), [barrier] * 12))
        assert [values for _, values in answers] == [[0.0, 2.0, 4.0]] * 12
        assert len({port for port, _ in answers}) == 12
