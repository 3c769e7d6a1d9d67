"""Hyper-parameters and their results in TensorBoard's HPARAMS tab, written into the run they describe.

``SummaryWriter.add_hparams`` writes into a *new* sub-folder of the run (named
by a time stamp unless ``run_name=`` is given) with its own copy of the
metrics, so TensorBoard lists one extra run per call, and the HPARAMS tab pairs
the hyper-parameters with those copies instead of with the curves the run
logged (pytorch/pytorch#32651). :func:`log_hparams` writes the same three
summaries the HPARAMS plugin reads (the experiment, the session start with
the values, the session end) into the writer's **own** run folder, next to
the run's curves, and the metrics as ordinary scalars there: one run, one
row in the tab, its metric columns filled.

:func:`read_hparams` asks a running TensorBoard (:class:`TensorBoardServer`)
for the tab's table, through the plugin's HTTP API, so a test or a notebook
can check what a learner will see.
"""
from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from typing import Any

__all__ = ["log_hparams", "read_hparams"]

_VALUE_TYPES = (bool, str, numbers.Real)


def _check_hparams(hparams: Any) -> dict[str, bool | str | float]:
    if not isinstance(hparams, Mapping) or not hparams:
        raise ValueError(f"hparams must be a non-empty dict name -> value, got {hparams!r}")
    checked = {}
    for name, value in hparams.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"hparams: every name must be a non-empty str, got {name!r}")
        if not isinstance(value, _VALUE_TYPES):
            raise ValueError(f"hparams[{name!r}] must be a bool, str, int or float (what the HPARAMS tab can show), "
                             f"got {type(value).__name__}; write str(value) for other kinds")
        checked[name] = value if isinstance(value, (bool, str)) else float(value)
    return checked


def _check_metrics(metrics: Any) -> dict[str, float]:
    if not isinstance(metrics, Mapping) or not metrics:
        raise ValueError(f"metrics must be a non-empty dict tag -> number, got {metrics!r}")
    checked = {}
    for tag, value in metrics.items():
        if not isinstance(tag, str) or not tag:
            raise ValueError(f"metrics: every tag must be a non-empty str, got {tag!r}")
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
            raise ValueError(f"metrics[{tag!r}] must be a finite number, got {value!r}")
        checked[tag] = float(value)
    return checked


def log_hparams(writer, hparams: Mapping[str, Any], metrics: Mapping[str, float], *, step: int = 0) -> None:
    """Write ``hparams`` and their result ``metrics`` into ``writer``'s own run, for the HPARAMS tab.

    Each metric is also written as a scalar with its tag at ``step`` (use tags
    that the run does not log otherwise, e.g. ``"hparams/valid_loss"``: the tab
    shows a tag's *last* value). Call it once per run, when the run is done.

    Args:
        writer: a ``SummaryWriter`` (e.g. from :func:`run_writer`); a
            :class:`NullWriter` (torchrun ranks > 0) writes nothing.
        hparams: name -> ``bool``, ``str``, ``int`` or ``float``.
        metrics: tag -> finite number.
        step: the step of the metric scalars.
    """
    hparams, metrics = _check_hparams(hparams), _check_metrics(metrics)
    if not hasattr(writer, "_get_file_writer"):  # NullWriter: nothing to write on this rank
        return
    from torch.utils.tensorboard.summary import hparams as hparams_summaries

    experiment, session_start, session_end = hparams_summaries(hparams, metrics)
    file_writer = writer._get_file_writer()
    for summary in (experiment, session_start, session_end):
        file_writer.add_summary(summary, step)
    for tag, value in metrics.items():
        writer.add_scalar(tag, value, step)
    writer.flush()


def read_hparams(server) -> list[dict[str, Any]]:
    """The HPARAMS tab's table as a running TensorBoard serves it: one dict per row (session group).

    Each row: ``{"run": name, "hparams": {name: value}, "metrics": {tag: value}}``,
    sorted by run name; a metric the tab has no value for is missing from ``metrics``.

    Args:
        server: a started :class:`~camp_utils.tb.TensorBoardServer`.
    """
    if not hasattr(server, "get_json"):
        raise ValueError(f"server must be a started camp_utils.tb.TensorBoardServer, got {type(server).__name__}")
    experiment = server.get_json("data/plugin/hparams/experiment", request=json.dumps({"experimentName": ""}))
    metric_tags = [m["name"]["tag"] for m in experiment.get("metricInfos", [])]
    request = {"experimentName": "", "startIndex": 0, "sliceSize": 10_000,
               "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
               "colParams": [{"hparam": h["name"]} for h in experiment.get("hparamInfos", [])]
               + [{"metric": {"tag": tag, "group": ""}} for tag in metric_tags]}
    groups = server.get_json("data/plugin/hparams/session_groups", request=json.dumps(request))
    rows = []
    for group in groups.get("sessionGroups", []):
        metrics = {m["name"]["tag"]: m["value"] for m in group.get("metricValues", []) if "value" in m}
        rows.append({"run": group["name"], "hparams": dict(group.get("hparams", {})), "metrics": metrics})
    return sorted(rows, key=lambda row: row["run"])
