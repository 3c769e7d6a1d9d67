"""camp_utils.parallel.map_runs: runs side by side in worker processes, results in order, clear errors."""
import os
import re
import textwrap

import pytest
import torch
from joblib import cpu_count

from camp_utils.parallel import map_runs

# A run as a notebook defines it: a function of __main__ (sent by value, as from a kernel) that uses `torch`
# and a global named `classes` -- the pair that made cloudpickle try to send `torch.classes` and fail with
# "cannot pickle '_Classes' object" before map_runs sent that module by name.
NOTEBOOK_CODE = textwrap.dedent("""
    import os
    import torch

    classes = ("circle", "square", "triangle", "cross")

    def run(name, seed):
        torch.manual_seed(seed)
        draw = torch.randn(5)
        return (name, seed, len(classes), draw, os.getpid(), torch.get_num_threads(),
                os.environ.get("CAMP_PROGRESS"))

    def fails(seed):
        return 1 / seed
""")


@pytest.fixture(scope="module")
def notebook():
    namespace = {"__name__": "__main__"}
    exec(compile(NOTEBOOK_CODE, "<notebook cell>", "exec"), namespace)
    return namespace


def test_runs_in_worker_processes_in_the_jobs_order_with_the_same_results_as_here(notebook):
    jobs = [("constant", 0), ("cosine", 1), ("step", 2), ("onecycle", 3)]
    side_by_side = map_runs(notebook["run"], jobs, workers=2, progress=False)
    here = map_runs(notebook["run"], jobs, workers=1, progress=False)
    assert [r[:3] for r in side_by_side] == [(name, seed, 4) for name, seed in jobs]
    for a, b in zip(side_by_side, here):
        assert torch.equal(a[3], b[3])  # each run seeds itself: same numbers wherever it ran
    worker_pids = {r[4] for r in side_by_side}
    assert os.getpid() not in worker_pids and {r[4] for r in here} == {os.getpid()}
    assert {r[5] for r in side_by_side} == {max(1, cpu_count() // 2)}  # the cores shared out, not oversubscribed
    assert {r[6] for r in side_by_side} == {"0"}  # no progress bars from inside the workers


def test_a_run_that_fails_raises_its_own_error_here(notebook):
    with pytest.raises(ZeroDivisionError):
        map_runs(notebook["fails"], [(1,), (0,), (2,)], workers=2, progress=False)


def test_one_job_or_one_worker_runs_here():
    assert map_runs(lambda x: (x, os.getpid()), [(7,)], progress=False) == [(7, os.getpid())]
    assert map_runs(lambda x, y: x * y, [(2, 3), (4, 5)], workers=1, progress=False) == [6, 20]
    assert map_runs(len, [], progress=False) == []


@pytest.mark.parametrize(("kwargs", "names"), [
    ({"fn": 3, "jobs": [(1,)]}, "fn must be a function"),
    ({"fn": len, "jobs": [(1,), 2]}, "jobs[1] is 2 (int)"),
    ({"fn": len, "jobs": [(1,)], "workers": 0}, "workers"),
    ({"fn": len, "jobs": [(1,)], "workers": 1.5}, "workers"),
])
def test_bad_arguments_are_refused_with_a_message_that_names_them(kwargs, names):
    fn, jobs = kwargs.pop("fn"), kwargs.pop("jobs")
    with pytest.raises(ValueError, match=re.escape(names)):
        map_runs(fn, jobs, **kwargs)
