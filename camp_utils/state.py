"""Take a piece of state, give it back exactly as it was: modes, random state, weights, kernels.

* :func:`eval_mode` / :func:`train_mode` -- every module's own train/eval flag;
* :func:`seeded` -- the torch random state (CPU and the CUDA device in use),
  and with ``host=True`` Python's ``random`` and numpy's global generator too;
* :func:`deterministic_kernels` -- cuDNN's deterministic switches;
* :func:`preserved` -- a model's parameters, buffers (also non-persistent
  ones), gradients and modes, and an optimizer's state and lrs;
* :func:`model_device` -- where a model lives, also without parameters.

Modes first:

``model.train(was_training)`` is the usual way to restore a mode, and it is
wrong for a model whose modules are not all in the same mode: it sets *every*
submodule. A learner who froze a BatchNorm (``model.train(); model.bn.eval()``)
or keeps a Dropout active for MC-dropout (``model.eval(); model.drop.train()``)
would get a different model back. These context managers record each
module's own flag and restore it, whatever happens inside the block.
"""
from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn
from torch.optim import Optimizer

from .checks import check_int

__all__ = ["module_modes", "restore_modes", "eval_mode", "train_mode", "seeded", "deterministic_kernels",
           "preserved", "model_device"]


def module_modes(model: nn.Module) -> list[tuple[nn.Module, bool]]:
    """Every module of ``model`` (itself included) with its own ``training`` flag."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return [(module, module.training) for module in model.modules()]


def restore_modes(modes: list[tuple[nn.Module, bool]]) -> None:
    """Give each module the flag recorded by :func:`module_modes`."""
    for module, flag in modes:
        module.training = flag


@contextmanager
def _mode(model: nn.Module, training: bool) -> Iterator[nn.Module]:
    modes = module_modes(model)
    model.train(training)
    try:
        yield model
    finally:
        restore_modes(modes)


def eval_mode(model: nn.Module):
    """``with eval_mode(model):`` runs the block in eval mode, then restores every module's own mode."""
    return _mode(model, False)


def train_mode(model: nn.Module):
    """``with train_mode(model):`` runs the block in train mode, then restores every module's own mode."""
    return _mode(model, True)


@contextmanager
def seeded(seed: int, device: str | torch.device | None = None, *, host: bool = False) -> Iterator[None]:
    """``with seeded(0):`` runs the block from ``torch.manual_seed(seed)`` and gives the caller's random state back.

    The CPU generator is always forked; the CUDA generator of ``device`` too
    when it is a CUDA device (``fork_rng`` would otherwise fork every GPU,
    and warn). With ``host=True`` Python's ``random`` and numpy's global
    generator (which data pipelines and augmentations may draw from) are
    seeded too (numpy with ``seed mod 2**32``) and given back. Code after the
    block draws the numbers it would have drawn without it.
    """
    seed = check_int(seed, "seed")
    device = torch.device(device) if device is not None else torch.device("cpu")
    devices = [device.index or 0] if device.type == "cuda" else []
    saved = (random.getstate(), np.random.get_state()) if host else None
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        if saved is not None:
            random.seed(seed)
            np.random.seed(seed % 2**32)
        try:
            yield
        finally:
            if saved is not None:
                random.setstate(saved[0])
                np.random.set_state(saved[1])


@contextmanager
def deterministic_kernels(enabled: bool = True) -> Iterator[None]:
    """Turn on cuDNN's deterministic kernels inside the block (when ``enabled``); the caller's settings after.

    ``torch.use_deterministic_algorithms`` is not used: it raises for ops
    without a deterministic kernel and needs ``CUBLAS_WORKSPACE_CONFIG`` set
    before CUDA starts. The cuDNN switches are what the course's models need.
    """
    cudnn = torch.backends.cudnn
    saved = cudnn.deterministic, cudnn.benchmark
    if enabled:
        cudnn.deterministic, cudnn.benchmark = True, False
    try:
        yield
    finally:
        cudnn.deterministic, cudnn.benchmark = saved


@contextmanager
def preserved(model: nn.Module, optimizer: Optimizer | None = None) -> Iterator[None]:
    """Whatever the block does to ``model`` (and ``optimizer``), they come out exactly as they went in.

    Restored: every parameter's value and ``.grad``, every buffer (also those
    registered with ``persistent=False``, which ``state_dict()`` leaves out),
    every module's train/eval flag, and the optimizer's state (momentum, Adam
    moments) and hyper-parameters (lrs included). Everything is restored in
    place, so references the caller holds stay valid: the tensors, the list
    ``optimizer.param_groups`` and each of its group dicts (``group =
    optimizer.param_groups[0]`` taken before the block shows the old lr after it).
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    params = [(p, p.detach().clone(), None if p.grad is None else p.grad.detach().clone()) for p in model.parameters()]
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    modes = module_modes(model)
    saved_optimizer = copy.deepcopy(optimizer.state_dict()) if optimizer is not None else None
    # a tensor lr (``SGD(params, lr=torch.tensor(0.1))``) is one object the caller may hold: restore it in place
    tensor_lrs = [(i, g["lr"], g["lr"].detach().clone()) for i, g in enumerate(optimizer.param_groups)
                  if isinstance(g["lr"], torch.Tensor)] if optimizer is not None else []
    # load_state_dict makes a new list of new group dicts: the caller's references would keep the block's lrs
    group_list = optimizer.param_groups if optimizer is not None else None
    groups = list(group_list) if group_list is not None else []
    try:
        yield
    finally:
        with torch.no_grad():
            for p, value, grad in params:
                p.copy_(value)
                p.grad = grad
            for b, value in buffers:
                if b.shape == value.shape:
                    b.copy_(value)
        restore_modes(modes)
        if optimizer is not None:
            optimizer.load_state_dict(saved_optimizer)
            if len(optimizer.param_groups) == len(groups):  # the block added no group: the old objects come back
                for group, loaded in zip(groups, optimizer.param_groups):
                    if group is not loaded:
                        group.clear()
                        group.update(loaded)
                group_list[:] = groups
                optimizer.param_groups = group_list
            with torch.no_grad():
                for i, tensor, value in tensor_lrs:
                    tensor.copy_(value)
                    optimizer.param_groups[i]["lr"] = tensor


def model_device(model: nn.Module) -> torch.device:
    """Where ``model`` lives: the device of its first parameter, else of its first buffer, else the CPU.

    A model without parameters (a fixed feature extractor, ``nn.Identity()``)
    is a valid model; ``next(model.parameters())`` would raise a bare
    ``StopIteration`` for it, which inside ``map()`` or a generator silently
    ends the iteration instead of failing.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")
