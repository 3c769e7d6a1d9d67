"""The course's tools under ``torchrun``: one process per device, PyTorch's own engine (DDP).

``torchrun --nproc_per_node=N script.py`` starts N copies of a script and
tells each, through environment variables (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``), who it is.
:func:`camp_utils.train.fit` and :func:`camp_utils.schedules.lr_find` use this
module to behave there as PyTorch's DDP tutorial says one should:

* the model is wrapped in ``DistributedDataParallel`` (gradients averaged
  across processes in ``backward()``);
* the train loader must use a ``DistributedSampler`` (each process a disjoint
  share of every epoch), whose ``set_epoch`` is called every epoch;
* losses and accuracies are summed over all processes, so every process's
  :class:`~camp_utils.train.History` holds the global figures;
* only rank 0 writes TensorBoard files (:func:`camp_utils.tb.run_writer`
  returns a writer that writes nothing on the other ranks).

Nothing here runs or changes anything in a single process: ``world_size()``
is 1 and every helper is the identity.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["world_size", "rank", "is_main_process", "ensure_process_group", "shutdown", "all_reduce_sum",
           "wrap_model", "check_distributed_loader"]


def _env_world_size() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def _initialized() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def world_size() -> int:
    """Number of processes: the process group's size, else ``$WORLD_SIZE`` (torchrun), else 1."""
    return torch.distributed.get_world_size() if _initialized() else _env_world_size()


def rank() -> int:
    """This process's rank (0 in a single process)."""
    if _initialized():
        return torch.distributed.get_rank()
    try:
        return int(os.environ.get("RANK", "0")) if _env_world_size() > 1 else 0
    except ValueError:
        return 0


def is_main_process() -> bool:
    """True on rank 0 (and in a single process): the one that writes files and prints."""
    return rank() == 0


def ensure_process_group(device: torch.device) -> int:
    """Join the process group torchrun describes (``gloo`` on CPU, ``nccl`` on CUDA); return the world size.

    Does nothing when a group is already initialised or when there is only
    one process.
    """
    if _initialized():
        return torch.distributed.get_world_size()
    if _env_world_size() <= 1:
        return 1
    if not torch.distributed.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this PyTorch has no torch.distributed support")
    backend = "nccl" if device.type == "cuda" else "gloo"
    torch.distributed.init_process_group(backend=backend)
    return torch.distributed.get_world_size()


def shutdown() -> None:
    """Leave the process group at the end of a ``torchrun`` script: wait for every process, then destroy it.

    The barrier first means no process exits while another still talks to it:
    measured here (2 CPU processes, gloo, ``notebooks/scripts/ddp_fit.py``),
    without it about one launch in ten ended with rank 0 aborting after the
    script's last line ("terminate called without an active exception"), which
    fails the whole ``torchrun``. Does nothing when no group is initialised
    (a single process), so a script may call it unconditionally.
    """
    if not _initialized():
        return
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


def all_reduce_sum(values: Sequence[float], device: torch.device) -> list[float]:
    """The sums of ``values`` over all processes (the values themselves in a single process).

    float64 on the wire, so that sums of many per-batch losses keep their digits.
    """
    if world_size() <= 1 or not _initialized():
        return [float(v) for v in values]
    backend_device = device if torch.distributed.get_backend() == "nccl" else torch.device("cpu")
    tensor = torch.tensor([float(v) for v in values], dtype=torch.float64, device=backend_device)
    torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
    return tensor.tolist()


def _model_device(model: nn.Module) -> torch.device | None:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return None


def wrap_model(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` in ``DistributedDataParallel`` (or as it is when already wrapped, or in a single process).

    Raises:
        ValueError: the model lives on another device than this process trains on.
    """
    from torch.nn.parallel import DistributedDataParallel

    inner = model.module if isinstance(model, DistributedDataParallel) else model
    where = _model_device(inner)
    if where is not None and where != device:
        hint = " -- each process should use its own GPU: cuda:LOCAL_RANK" if device.type == "cuda" else ""
        raise ValueError(f"the model is on {where}, but this process (rank {rank()}) trains on {device}; "
                         f"move it first (model.to({str(device)!r})) or pass device={str(where)!r}" + hint)
    if world_size() <= 1 or isinstance(model, DistributedDataParallel):
        return model
    if device.type == "cuda":
        return DistributedDataParallel(model, device_ids=[device.index or 0])
    return DistributedDataParallel(model)


def check_distributed_loader(loader, name: str) -> None:
    """Under several processes, ``loader`` must give each a disjoint share: a ``DistributedSampler``.

    Raises:
        ValueError: another sampler (every process would see every sample, and
            the epoch would count each one world-size times), or a dataset whose
            size the world size does not divide while the sampler pads (it would
            repeat the first samples to even the shares out, counting them twice).
    """
    from torch.utils.data.distributed import DistributedSampler

    world = world_size()
    if world <= 1:
        return
    sampler = getattr(loader, "sampler", None)
    if not isinstance(sampler, DistributedSampler):
        raise ValueError(
            f"{name} has a {type(sampler).__name__}, but under {world} processes every process would then see "
            "every sample: build it with DataLoader(dataset, batch_size=..., "
            "sampler=DistributedSampler(dataset)) (no shuffle=True: the sampler shuffles)")
    size = len(sampler.dataset)
    if size % world and not sampler.drop_last:
        extra = world - size % world
        raise ValueError(
            f"{name}: {size} samples do not split evenly into {world} processes; DistributedSampler(drop_last=False) "
            f"would repeat {extra} sample(s) to even the shares out, so they would count twice in the loss and "
            f"accuracy. Use a dataset size divisible by {world}, or DistributedSampler(dataset, drop_last=True), "
            f"which leaves out {size % world} sample(s) each epoch")
