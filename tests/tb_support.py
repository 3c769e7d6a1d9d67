"""Shared helpers of the camp_utils.tb tests: a run to read back, and "is that process still there?"."""
import contextlib
import os
import socket
import time

from camp_utils import tb


def write_line(root, n=100, lesson=20, experiment="line", **kwargs):
    """Write y = 2x for x in 0..n-1 with run_writer; return the run folder."""
    with tb.run_writer(lesson, experiment, root=root, **kwargs) as writer:
        for x in range(n):
            writer.add_scalar("y=2x", 2 * x, x)
    return root / str(lesson) / experiment


def alive_after(pid, seconds):
    """Whether ``pid`` still runs after waiting up to ``seconds`` for it to exit."""
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive(pid)


def alive(pid):
    """Whether process ``pid`` runs (a zombie, exited but not reaped, counts as gone)."""
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



@contextlib.contextmanager
def closed_port(host="127.0.0.1"):
    """A localhost port where nothing answers, held for the ``with`` block.

    The socket is bound but never listens: a connection is refused, and no
    other program can take the port meanwhile (a port merely found free and
    released could be taken by a server the moment after).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind((host, 0))
        yield held.getsockname()[1]
