"""camp_utils.tb.proxy: when %tensorboard's frame goes through JupyterLab's port, and when it stays direct."""
from __future__ import annotations

import http.server
import json
import os
import threading
from typing import ClassVar

import pytest

from camp_utils.tb import proxy


class _FakeJupyter(http.server.BaseHTTPRequestHandler):
    """Answers /server-proxy/servers-info like a Jupyter server with (200) or without (404) the proxy."""

    status = 200
    seen_headers: ClassVar[list] = []

    def do_GET(self):
        type(self).seen_headers.append(dict(self.headers))
        code = self.status if self.path.endswith("/server-proxy/servers-info") else 404
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"server_processes": []}' if code == 200 else b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_server():
    def start(status: int):
        handler = type("Handler", (_FakeJupyter,), {"status": status, "seen_headers": []})
        httpd = http.server.HTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return httpd, handler

    servers: list = []
    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def _record(tmp_path, url: str, base_url: str = "/", pid: int = 4242, token: str = "secret") -> None:
    info = {"url": url, "base_url": base_url, "pid": pid, "token": token, "port": 0}
    (tmp_path / f"jpserver-{pid}.json").write_text(json.dumps(info))


def test_a_kernel_of_a_server_that_can_proxy_routes_the_frame_through_the_server(tmp_path, fake_server):
    httpd, handler = fake_server(200)
    base = f"http://127.0.0.1:{httpd.server_port}/user/ada/"
    _record(tmp_path, base, base_url="/user/ada/")
    url = proxy.tensorboard_proxy_url({"JPY_PARENT_PID": "4242"}, runtime_dir=tmp_path)
    assert url == "/user/ada/proxy/%PORT%/"
    assert handler.seen_headers[0]["Authorization"] == "token secret"


def test_a_server_without_the_proxy_keeps_the_direct_frame(tmp_path, fake_server):
    httpd, _ = fake_server(404)
    _record(tmp_path, f"http://127.0.0.1:{httpd.server_port}/")
    assert proxy.tensorboard_proxy_url({"JPY_PARENT_PID": "4242"}, runtime_dir=tmp_path) is None


def test_a_kernel_without_a_jupyter_server_keeps_the_direct_frame(tmp_path):
    # e.g. nbval, VS Code or a terminal IPython: no jpserver record for our parent
    assert proxy.kernel_jupyter_server({"JPY_PARENT_PID": "4242"}, runtime_dir=tmp_path) is None
    assert proxy.tensorboard_proxy_url({"JPY_PARENT_PID": "4242"}, runtime_dir=tmp_path) is None


def test_a_record_for_another_pid_is_not_taken_for_our_server(tmp_path):
    _record(tmp_path, "http://127.0.0.1:1/", pid=4243)
    (tmp_path / "jpserver-4242.json").write_text((tmp_path / "jpserver-4243.json").read_text())
    assert proxy.kernel_jupyter_server({"JPY_PARENT_PID": "4242"}, runtime_dir=tmp_path) is None


def test_on_jupyterhub_the_proxy_is_used_when_the_server_cannot_be_asked(tmp_path):
    import jupyter_server_proxy  # noqa: F401  a hard requirement (requirements.txt): missing, the test fails
    environ = {"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"}
    assert proxy.tensorboard_proxy_url(environ, runtime_dir=tmp_path) == "/user/ada/proxy/%PORT%/"


def test_the_learner_can_keep_the_direct_frame(tmp_path, fake_server):
    httpd, _ = fake_server(200)
    _record(tmp_path, f"http://127.0.0.1:{httpd.server_port}/")
    environ = {"JPY_PARENT_PID": "4242", "CAMP_TENSORBOARD_PROXY": "0", "JUPYTERHUB_SERVICE_PREFIX": "/u/"}
    assert proxy.tensorboard_proxy_url(environ, runtime_dir=tmp_path) is None


def test_a_proxy_address_the_learner_set_is_never_changed(monkeypatch):
    monkeypatch.setenv("TENSORBOARD_PROXY_URL", "/mine/%PORT%/")
    assert proxy.configure_tensorboard_proxy() == "/mine/%PORT%/"
    assert os.environ["TENSORBOARD_PROXY_URL"] == "/mine/%PORT%/"


def test_a_server_that_does_not_answer_cannot_be_asked():
    assert proxy.server_can_proxy({"url": "http://127.0.0.1:9/"}, timeout=0.5) is None
    assert proxy.server_can_proxy({"url": "unix:/tmp/socket"}) is None
    with pytest.raises(ValueError, match="timeout"):
        proxy.server_can_proxy({"url": "http://127.0.0.1:9/"}, timeout=0)


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1, "2"])
def test_server_can_proxy_refuses_a_timeout_that_is_not_a_positive_number(timeout):
    with pytest.raises(ValueError, match="timeout"):
        proxy.server_can_proxy({"url": "http://127.0.0.1:9/"}, timeout=timeout)
