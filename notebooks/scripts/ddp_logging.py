"""Lesson 21, "Going further": logging from several processes.

    torchrun --standalone --nproc_per_node=2 scripts/ddp_logging.py      # from notebooks/ (or my_notebooks/)

Every process computes the same global number (an all-reduced mean) and its
own local one (the mean of its own batch). Three ways to log them, each in
its own run under runs/21/ddp/:

* ``everyone``: every process opens a SummaryWriter on the same folder -- the
  mistake: two event files, and TensorBoard draws the curve twice;
* ``rank0``: camp_utils.tb.run_writer, which writes on rank 0 only (the other
  ranks get a NullWriter) -- the global curve once;
* ``per_rank/rank<r>``: each process its own sub-run, on purpose, for
  per-process diagnostics (here: the local mean of each process's data).
"""
from __future__ import annotations

import torch
from torch.utils.tensorboard import SummaryWriter

from camp_utils.distributed import shutdown
from camp_utils.paths import runs_dir
from camp_utils.tb import run_writer

STEPS = 10


def main() -> None:
    torch.distributed.init_process_group("gloo")
    rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    root = runs_dir() / "21" / "ddp"
    wrong = SummaryWriter(log_dir=str(root / "everyone"))          # every rank: the mistake
    right = run_writer(21, "ddp/rank0")                            # rank 0 only
    mine = SummaryWriter(log_dir=str(root / "per_rank" / f"rank{rank}"))  # one sub-run per rank, on purpose
    for step in range(STEPS):
        local = torch.tensor(float(step + 10 * rank))               # this process's own number
        total = local.clone()
        torch.distributed.all_reduce(total)                         # the global one: the same on every rank
        mean = total.item() / world
        wrong.add_scalar("mean", mean, step)
        right.add_scalar("mean", mean, step)
        mine.add_scalar("local", local.item(), step)
    for writer in (wrong, right, mine):
        writer.close()
    shutdown()  # wait for every process, then leave the group (camp_utils.distributed)


if __name__ == "__main__":
    main()
