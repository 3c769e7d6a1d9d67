"""Learning-rate schedules: trace them, plot them, explore them, and find a good lr.

* :mod:`.trace` -- :func:`trace` runs a real ``torch.optim.lr_scheduler``
  object over a throw-away optimizer and records the lr of every parameter
  group at every step (:class:`Trace`); nothing re-implements a formula.
* :mod:`.plots` -- :func:`plot_trace` (one or many traces in one chart) and
  :func:`plot_lr_find`.
* :mod:`.explorer_widget` -- :func:`explorer`, an ipywidgets explorer: pick a
  scheduler, move sliders, the curve redraws (a static figure where widgets
  are not rendered). The only module here that imports ipywidgets; it is
  loaded the first time one of its names is used.
* :mod:`.resume` -- :func:`audit_resume`: does a scheduler resume exactly, with state dicts and with
  ``last_epoch=``, after every epoch?
* :mod:`.range_test` -- :func:`lr_find`, the LR range test, which leaves the
  model, the optimizer and the caller's RNG as they were. (The module has its
  own name so that ``camp_utils.schedules.lr_find`` is always the function.)
"""
from __future__ import annotations

from typing import Any

from .plots import plot_lr_find, plot_trace
from .range_test import LRFindResult, default_rules, lr_find
from .resume import ResumeAudit, audit_resume
from .trace import Trace, trace

__all__ = [
    "Trace",
    "trace",
    "plot_trace",
    "explorer",
    "ScheduleExplorer",
    "EXPLORER_SCHEDULERS",
    "LRFindResult",
    "ResumeAudit",
    "audit_resume",
    "default_rules",
    "lr_find",
    "plot_lr_find",
]

_EXPLORER_NAMES = ("explorer", "ScheduleExplorer", "EXPLORER_SCHEDULERS")


def __getattr__(name: str) -> Any:
    """Load :mod:`.explorer_widget` (and with it ipywidgets) only when one of its names is asked for."""
    if name in _EXPLORER_NAMES:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.explorer_widget"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPLORER_NAMES))
