"""Inline TensorBoard through JupyterLab's own port (for a JupyterLab on another machine).

``%tensorboard`` shows TensorBoard in a frame whose address is the *browser's*
``localhost:<port>``. When JupyterLab runs on a remote machine (a rented GPU
box, a lab server, JupyterHub) and the learner reaches it through one
forwarded port, that address is the learner's own laptop, and the frame says
"refused to connect".

TensorBoard's magic can put the frame behind a proxy instead: if
``TENSORBOARD_PROXY_URL`` is set (``%PORT%`` is replaced by TensorBoard's
port), the frame loads that address, relative to the JupyterLab page. The
jupyter-server-proxy extension (in ``requirements.txt``) serves any local port
under JupyterLab's own ``<base_url>proxy/<port>/``. So a kernel that was
started by a Jupyter server which can proxy sets::

    TENSORBOARD_PROXY_URL=<base_url>proxy/%PORT%/

and the frame then travels through the same port, and the same login, as
JupyterLab itself -- on a laptop and on a remote machine alike.

How the kernel finds out (:func:`tensorboard_proxy_url`):

1. ``CAMP_TENSORBOARD_PROXY=0`` keeps the direct frame; a
   ``TENSORBOARD_PROXY_URL`` that is already set is never changed.
2. The Jupyter server that started this kernel is found through its record
   ``jpserver-<pid>.json`` in Jupyter's runtime folder (``<pid>`` is
   ``$JPY_PARENT_PID``, which jupyter_client gives every kernel, or the
   kernel's parent process). The record holds the server's URL, base URL and
   token; the server is asked whether jupyter-server-proxy is loaded
   (``<url>server-proxy/servers-info``).
3. If the server cannot be asked and ``JUPYTERHUB_SERVICE_PREFIX`` is set
   (a JupyterHub single-user server: the direct frame can never work there),
   the proxy is used when jupyter-server-proxy is installed.
4. Otherwise -- no Jupyter server (nbval, VS Code, a plain IPython), or a
   server without the proxy -- the direct frame stays: it is then the only one
   that can work.

Importing :mod:`camp_utils` calls :func:`configure_tensorboard_proxy`.
"""
from __future__ import annotations

import importlib.util
import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from ..checks import check_number
from .local import open_local

__all__ = [
    "PROXY_VARIABLE",
    "OPT_OUT_VARIABLE",
    "kernel_jupyter_server",
    "server_can_proxy",
    "tensorboard_proxy_url",
    "configure_tensorboard_proxy",
]

PROXY_VARIABLE = "TENSORBOARD_PROXY_URL"
OPT_OUT_VARIABLE = "CAMP_TENSORBOARD_PROXY"


def _runtime_dir() -> Path | None:
    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except ImportError:  # no Jupyter in this environment: no server started us
        return None
    return Path(jupyter_runtime_dir())


def kernel_jupyter_server(environ: Mapping[str, str] | None = None,
                          runtime_dir: str | os.PathLike | None = None) -> dict | None:
    """The record of the running Jupyter server that started this kernel, or ``None``.

    Args:
        environ: environment to read ``JPY_PARENT_PID`` from (default: ``os.environ``).
        runtime_dir: Jupyter's runtime folder (default: ``jupyter_runtime_dir()``).

    Returns:
        The server's ``jpserver-<pid>.json`` as a dict (keys such as ``url``,
        ``base_url``, ``token``, ``pid``), or ``None`` if this process was not
        started by a Jupyter server on this machine.
    """
    environ = os.environ if environ is None else environ
    folder = Path(runtime_dir) if runtime_dir is not None else _runtime_dir()
    if folder is None:
        return None
    candidates = []
    parent = environ.get("JPY_PARENT_PID", "")
    if os.name != "nt" and parent.isdigit():  # on Windows it holds a process handle, not a pid
        candidates.append(int(parent))
    candidates.append(os.getppid())
    for pid in candidates:
        try:
            info = json.loads((folder / f"jpserver-{pid}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(info, dict) and info.get("pid") == pid and info.get("url"):
            return info
    return None


def server_can_proxy(server: Mapping, timeout: float = 2.0) -> bool | None:
    """Ask a Jupyter server whether jupyter-server-proxy is loaded in it.

    Args:
        server: a server record (see :func:`kernel_jupyter_server`).
        timeout: seconds to wait for the answer.

    Redirects are followed, and the last answer decides. A server that wants
    a password rather than the record's token answers with a redirect to its
    login page, which answers 200: that gives ``True``. It is the right
    answer, as far as it goes -- Jupyter asks for a login only on a route that
    exists (an unknown path answers 404 without one), so the proxy is loaded;
    the frame then needs the browser's own login, which a learner looking at
    JupyterLab has.

    Returns:
        ``True`` when the last answer is 200 (also after a redirect, e.g. to
        the login page); ``False`` for 404 (no jupyter-server-proxy) and for
        a success status other than 200; ``None`` when the server could not
        be asked (no answer, another error status such as 403, an address
        that is not ``http(s)://``).
    """
    timeout = check_number(timeout, "timeout", positive=True, what="seconds")
    url = str(server.get("url", ""))
    if not url.startswith(("http://", "https://")):
        return None
    request = urllib.request.Request(url.rstrip("/") + "/server-proxy/servers-info")
    token = server.get("token")
    if token:
        request.add_header("Authorization", f"token {token}")
    try:
        with open_local(request, timeout=timeout) as reply:
            return reply.status == 200
    except urllib.error.HTTPError as error:
        return False if error.code == 404 else None
    except (OSError, ValueError):
        return None


def _base_url(prefix: str) -> str:
    return "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"


def tensorboard_proxy_url(environ: Mapping[str, str] | None = None,
                          runtime_dir: str | os.PathLike | None = None) -> str | None:
    """The ``TENSORBOARD_PROXY_URL`` this kernel should use, or ``None`` for the direct frame.

    See the module documentation for the rules. The answer is an absolute
    path such as ``/proxy/%PORT%/`` or ``/user/ada/proxy/%PORT%/``; the
    browser resolves it against the JupyterLab page, so it works whatever
    host name and port the learner reaches JupyterLab by.
    """
    environ = os.environ if environ is None else environ
    if environ.get(OPT_OUT_VARIABLE, "").strip().lower() in {"0", "false", "no", "off"}:
        return None
    server = kernel_jupyter_server(environ, runtime_dir)
    if server is not None:
        answer = server_can_proxy(server)
        if answer is not None:
            return _base_url(str(server.get("base_url", "/"))) + "proxy/%PORT%/" if answer else None
    prefix = environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if prefix and importlib.util.find_spec("jupyter_server_proxy") is not None:
        return _base_url(prefix) + "proxy/%PORT%/"
    return None


def configure_tensorboard_proxy() -> str | None:
    """Route ``%tensorboard``'s frame through JupyterLab's port where that is possible.

    Sets ``TENSORBOARD_PROXY_URL`` for this process (and so for the
    ``%tensorboard`` magic) to :func:`tensorboard_proxy_url`'s answer, unless
    the variable is already set, which is respected as it is.

    Returns:
        The proxy address now in force, or ``None`` for the direct frame.
    """
    if os.environ.get(PROXY_VARIABLE):
        return os.environ[PROXY_VARIABLE]
    url = tensorboard_proxy_url()
    if url is not None:
        os.environ[PROXY_VARIABLE] = url
    return url
