"""Independent runs side by side: one worker process per CPU core, one thread each.

A sweep over seeds or hyperparameters is many small trainings that do not
depend on each other. On a small network PyTorch's threads help little inside
one process (each step is many small operations, each too short to split), so
the cores are better used by training different runs at once.
:func:`map_runs` does that with joblib's process pool, which also runs
functions defined in a notebook (it pickles them with cloudpickle) on Linux,
macOS and Windows alike, and gives each worker ``cores // workers`` threads.

Each run should seed itself (``torch.manual_seed(seed)``, ``fit(..., seed=)``):
then its result does not depend on which worker ran it or in which order.
"""
from __future__ import annotations

import copyreg
import importlib
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

from joblib import Parallel, cpu_count, delayed  # cpu_count: the cores this process may use (affinity, cgroups)
from tqdm.auto import tqdm

from .checks import check_int

__all__ = ["map_runs"]


def _pickle_torch_classes_by_name() -> None:
    """Let cloudpickle send a notebook function that uses ``torch`` and a name ``classes``.

    cloudpickle sends, with such a function, the submodules of the modules it
    uses whose names appear in its code: ``torch`` and ``classes`` (a variable
    as common as ``len(classes)``) bring ``torch.classes``. That one is an
    instance of a ``ModuleType`` subclass, which cloudpickle's module reducer
    (looked up by exact type) misses, so pickling fails with "cannot pickle
    '_Classes' object". Sent by name, it is the same object in the worker.
    """
    torch = sys.modules.get("torch")
    classes = getattr(torch, "classes", None)
    if classes is not None and type(classes) not in copyreg.dispatch_table:
        copyreg.pickle(type(classes), lambda module: (importlib.import_module, (module.__name__,)))


def _run_quietly(fn: Callable[..., Any], args: tuple) -> Any:
    """Call ``fn(*args)`` in a worker with progress bars off (a worker's bars would go to the server's terminal)."""
    os.environ["CAMP_PROGRESS"] = "0"
    return fn(*args)


def map_runs(
    fn: Callable[..., Any],
    jobs: Iterable[tuple],
    *,
    workers: int | None = None,
    progress: bool | None = None,
    desc: str = "runs",
) -> list[Any]:
    """Return ``[fn(*job) for job in jobs]``, computed in worker processes side by side.

    Args:
        fn: the function of one run, e.g. ``train(name, seed) -> History``. It
            may be defined in a notebook; what it returns must be picklable
            (a ``History``, numbers, lists, tensors).
        jobs: one tuple of arguments per run, e.g. ``[("cosine", 0), ...]``.
        workers: processes to use; default: one per CPU core (joblib's
            ``cpu_count()``), at most one per job. ``1`` runs every job
            here, one after the other, with this process's threads (handy
            under a debugger).
        progress: a progress bar over the finished runs; default from
            ``$CAMP_PROGRESS`` (see :func:`camp_utils.train.progress_enabled`).
            Inside the workers bars are always off.
        desc: the progress bar's label.

    Returns:
        The results, in the order of ``jobs``.

    Raises:
        ValueError: ``fn`` is not callable, a job is not a tuple, or ``workers``
            is not a positive int.
        Exception: whatever ``fn`` raised for the first job that failed (joblib
            re-raises it here, with the worker's traceback).
    """
    from .train import progress_enabled  # here, not at the top: it imports torch, which this module does not need

    if not callable(fn):
        raise ValueError(f"fn must be a function of one run, e.g. train(name, seed); got {type(fn).__name__}")
    jobs = list(jobs)
    for index, job in enumerate(jobs):
        if not isinstance(job, tuple):
            raise ValueError(f"jobs must hold one tuple of arguments per run, e.g. ('cosine', 0); "
                             f"jobs[{index}] is {job!r} ({type(job).__name__})")
    cores = cpu_count() if workers is None else check_int(workers, "workers", minimum=1, what="processes")
    n_jobs = min(cores, len(jobs))
    bar = {"total": len(jobs), "desc": desc, "disable": not progress_enabled(progress)}
    if n_jobs <= 1:
        return [fn(*job) for job in tqdm(jobs, **bar)]
    _pickle_torch_classes_by_name()
    results = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(_run_quietly)(fn, job) for job in jobs)
    return list(tqdm(results, **bar))
