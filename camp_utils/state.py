"""Borrow a model's train/eval mode and give it back exactly as it was.

``model.train(was_training)`` is the usual way to restore a mode, and it is
wrong for a model whose modules are not all in the same mode: it sets *every*
submodule. A learner who froze a BatchNorm (``model.train(); model.bn.eval()``)
or keeps a Dropout active for MC-dropout (``model.eval(); model.drop.train()``)
would get a different model back. These context managers record each
module's own flag and restore it, whatever happens inside the block.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

__all__ = ["module_modes", "restore_modes", "eval_mode", "train_mode", "model_device"]


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
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``with eval_mode(model):`` runs the block in eval mode, then restores every module's own mode."""
    modes = module_modes(model)
    model.eval()
    try:
        yield model
    finally:
        restore_modes(modes)


@contextmanager
def train_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``with train_mode(model):`` runs the block in train mode, then restores every module's own mode."""
    modes = module_modes(model)
    model.train()
    try:
        yield model
    finally:
        restore_modes(modes)


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
