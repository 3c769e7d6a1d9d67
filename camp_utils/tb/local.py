"""HTTP requests to servers on this machine, never through a proxy.

Behind a company or campus proxy ``http_proxy`` is often set without a
``no_proxy`` that covers ``localhost`` and ``127.0.0.1``. ``urllib`` then sends
a request for ``http://localhost:6006/`` to the proxy, which cannot reach the
learner's machine: a live TensorBoard looks dead (its record would be
deleted), and a freshly started one never seems to answer. Every request of
``camp_utils.tb`` goes to a server on this machine (TensorBoard, the local
Jupyter server), so all of them go through one opener without proxies.
"""
from __future__ import annotations

import urllib.request
from typing import Any

__all__ = ["open_local"]

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def open_local(url: str | urllib.request.Request, timeout: float) -> Any:
    """``urllib.request.urlopen(url, timeout=timeout)``, ignoring ``http_proxy``/``https_proxy``."""
    return _DIRECT.open(url, timeout=timeout)
