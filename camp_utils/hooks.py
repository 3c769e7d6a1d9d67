"""Hooks made safe: find a layer by name, record what layers output.

* :func:`find_layer` -- a layer of a model by its ``named_modules()`` name (or
  the module itself), with an error that lists close matches for a typo;
* :class:`FeatureExtractor` -- a context manager that records the outputs of
  named layers during forward passes and always removes its hooks.

Lesson 23 calls ``register_forward_hook`` and friends by hand to show how
hooks work; these helpers are for the code that uses hooks afterwards.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["find_layer", "FeatureExtractor"]


def _layer_names(model: nn.Module) -> list[str]:
    return [name for name, _ in model.named_modules() if name]


def find_layer(model: nn.Module, layer: str | nn.Module, *, argument: str = "layer") -> tuple[str, nn.Module]:
    """Return ``(name, module)`` for a layer given by name or as a module of ``model``.

    Args:
        model: the network.
        layer: a name as in ``model.named_modules()`` (e.g. ``"features.0"``;
            ``""`` is the model itself), also the second name of a module
            registered twice (``self.b = self.a``: ``"b"``, which
            ``named_modules()`` leaves out), or a module inside ``model``.
        argument: the argument's name, used in error messages.

    Raises:
        ValueError: ``layer`` is not a layer of ``model``; for a name, the
            message lists the closest names (``difflib``) or, failing that, the first few.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(layer, nn.Module):
        for name, module in model.named_modules():
            if module is layer:
                return name, module
        raise ValueError(f"{argument} is a {type(layer).__name__} module that is not part of the model; "
                         "pass one of model's own modules or its name")
    if not isinstance(layer, str):
        raise ValueError(f"{argument} must be a layer name (str) or an nn.Module, got {type(layer).__name__}")
    modules = dict(model.named_modules(remove_duplicate=False))  # every name, also an alias (self.b = self.a)
    if layer in modules:
        return layer, modules[layer]
    names = _layer_names(model)
    close = difflib.get_close_matches(layer, names, n=5, cutoff=0.5)
    if close:
        hint = "did you mean " + ", ".join(repr(n) for n in close) + "?"
    else:
        shown = ", ".join(repr(n) for n in names[:12]) + (", ..." if len(names) > 12 else "")
        hint = f"the model's layers are {shown}" if names else "the model has no sub-layers"
    raise ValueError(f"{argument} {layer!r} is not a layer of {type(model).__name__}; {hint}")


def _copy(value: Any) -> Any:
    """Detached copies of the tensors in ``value`` (a tensor, or a tuple/list/dict of them)."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # namedtuples, PackedSequence: positional fields
        return type(value)(*(_copy(v) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(_copy(v) for v in value)
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


class FeatureExtractor:
    """Record the outputs of named layers while a model runs.

    Use it as a context manager; the hooks exist only inside the ``with``
    block and are removed on exit, also when the block raises::

        with FeatureExtractor(model, ["features.0", "features.3"]) as fx:
            model(images)
        fx.features["features.0"]  # (B, 64, 55, 55) for AlexNet

    By default each output is stored as a detached **copy**, made the moment
    the layer returns: a later in-place operation (``ReLU(inplace=True)``
    right after a convolution) cannot change what was recorded, and no
    autograd graph is kept alive. ``copy=False`` stores the layer's output
    tensor itself -- the same object the rest of the network goes on using
    and may overwrite; useful to show that pitfall, or to keep the graph.

    If a layer runs several times in one forward pass, the last output wins.
    :attr:`features` keeps the records after the block ends.

    Args:
        model: the network.
        layers: one name or a sequence of names as in ``model.named_modules()``.
        copy: store detached copies (default) or the raw output objects.

    Attributes:
        features: ``dict`` name -> recorded output of the latest forward
            pass, in the order the layers ran.

    Raises:
        ValueError: ``layers`` is not a name or a list of names (``None``, a
            nested list), an unknown layer name (the message lists close
            matches), no names, or a repeated name.
    """

    def __init__(self, model: nn.Module, layers: str | Sequence[str], *, copy: bool = True) -> None:
        if isinstance(layers, str):
            names = [layers]
        elif isinstance(layers, Iterable) and not isinstance(layers, bytes):
            names = list(layers)
        else:
            raise ValueError(f"layers must be a layer name (str) or a list of them, e.g. ['features.0'], "
                             f"got {layers!r} ({type(layers).__name__})")
        if not names:
            raise ValueError("layers is empty; give at least one layer name, e.g. 'features.0'")
        for i, name in enumerate(names):  # before the repeat check: a list inside the list has no hash
            if not isinstance(name, str):
                nested = "; give one flat list of names" if isinstance(name, (list, tuple)) else ""
                raise ValueError(f"layers must hold layer names (str), got {name!r} ({type(name).__name__}) "
                                 f"at position {i}{nested}")
        if len(set(names)) != len(names):
            raise ValueError(f"layers has repeated names: {names}")
        self.model = model
        self.layers = names
        self.copy = bool(copy)
        self._modules = [find_layer(model, name, argument="layer")[1] for name in names]
        self.features: dict[str, Any] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def _hook_for(self, name: str):
        def hook(module: nn.Module, inputs: tuple, output: Any) -> None:
            self.features[name] = _copy(output) if self.copy else output

        return hook

    def __enter__(self) -> FeatureExtractor:
        if self._handles:
            raise RuntimeError("this FeatureExtractor is already active; leave its with-block first")
        self.features = {}
        try:
            for name, module in zip(self.layers, self._modules):
                self._handles.append(module.register_forward_hook(self._hook_for(name)))
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()

    def remove(self) -> None:
        """Remove the hooks now (``__exit__`` does this for you)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __repr__(self) -> str:
        state = "active" if self._handles else "inactive"
        return f"FeatureExtractor(layers={self.layers}, copy={self.copy}, {state}, recorded={list(self.features)})"
