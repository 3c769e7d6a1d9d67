"""Class activation maps: where in the image did the network look?

* :func:`cam` -- CAM (Zhou et al., 2016) for networks that end in global
  average pooling and one linear layer: ``sum_k w[c, k] * A_k``;
* :func:`grad_cam` -- Grad-CAM (Selvaraju et al., 2017): channel weights are
  the spatial mean of the gradient of the raw class score;
* :func:`grad_cam_pp` -- Grad-CAM++ (Chattopadhay et al., 2018);
* :func:`hires_cam` -- HiResCAM (Draelos & Carin, 2020): the gradient kept per
  position, for targets that read one region of the output;
* :func:`tokens_to_grid` -- a Vision Transformer's tokens folded back into maps,
  for ``grad_cam(..., reshape=tokens_to_grid)``;
* :func:`overlay` -- a heat map blended over an image, for display;
* :func:`pointing_game`, :func:`mask_score` -- do the maps point at the object?
* :func:`faithfulness` -- does the model need what they point at? (deletion and insertion curves)

Shared conventions of the map functions:

* ``images`` is a ``(B, C, H, W)`` batch, moved to the model's device (not
  converted: images of another dtype than the model's, or too small for it,
  are refused with a ValueError that says so);
* ``classes=None`` explains each image's top class; otherwise give one class
  index per image (or one ``int`` for all);
* ``target_layer`` is a name from ``model.named_modules()`` or the module;
  its output must be a ``(B, K, h, w)`` feature map (for the gradient methods,
  or become one through ``reshape=``, e.g. a transformer's tokens);
* the result is a ``(B, H, W)`` tensor on the model's device: each map
  upsampled bilinearly to the input's size and scaled to ``[0, 1]`` by its own
  minimum and maximum (a constant map, e.g. all zeros, becomes all zeros);
* the model is left as it was found: train/eval mode (it runs in eval mode),
  ``requires_grad`` and ``.grad`` of every parameter, hooks (none are left
  behind, also after an exception), and the grad mode.

Gradients are taken with ``torch.autograd.grad`` with respect to the target
layer's output only: the forward pass below the target layer builds no
autograd graph and nothing is back-propagated to the parameters or the
input, so a Grad-CAM costs less than one training step. The target layer's
output is handed on as a copy, so an in-place operation after it (such as
``ReLU(inplace=True)``) cannot overwrite the activations being explained.
"""
from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .checks import check_choice, check_int, check_number
from .hooks import find_layer
from .state import eval_mode as _eval_mode

__all__ = ["cam", "grad_cam", "grad_cam_pp", "hires_cam", "tokens_to_grid", "overlay", "pointing_game", "mask_score",
           "Faithfulness", "faithfulness"]


# --------------------------------------------------------------------------- plumbing
class _TwiceCalled(Exception):
    """Raised inside the forward hook when the target layer runs a second time."""


class _NotAFeatureMap(Exception):
    def __init__(self, description: str, tokens: bool = False) -> None:
        super().__init__(description)
        self.description = description
        self.tokens = tokens  # a (B, N, D) output: a transformer's tokens


class _ReshapeFailed(Exception):
    """Raised inside the forward hook when ``reshape`` refuses the target layer's output."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _kind_and_shape(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"


def _model_device(model: nn.Module, fallback: torch.device) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return fallback


def _model_dtype(model: nn.Module) -> torch.dtype | None:
    """The dtype of the model's first floating-point parameter (else buffer); ``None`` if it has none."""
    for tensor in (*model.parameters(), *model.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return None


# What torch says when a layer's output would have no pixels (a pooling layer, a convolution).
_TOO_SMALL = ("Output size is too small", "Kernel size can't be greater than actual input size")


def _input_problem(model: nn.Module, images: torch.Tensor, err: RuntimeError) -> str | None:
    """What is wrong with ``images`` when ``model(images)`` raised ``err``, or ``None`` if it is not that.

    Only asked after the forward pass failed, so inputs that work (a model
    that converts its input itself) are never refused.
    """
    said = (str(err).strip().splitlines() or [""])[0][:200]
    dtype = _model_dtype(model)
    if dtype is not None and images.dtype != dtype:
        return (f"images must have the model's dtype {dtype}, got {images.dtype}: convert them with "
                f"images.to({dtype}) (the model said: {said})")
    if any(words in said for words in _TOO_SMALL):
        height, width = images.shape[-2:]
        return (f"images of size {height}x{width} (H x W) are too small for this model: a layer's output would "
                f"have no pixels left (the model said: {said}); give images of the size the model was made for")
    return None


def _check_images(images) -> None:
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"images must be a (B, C, H, W) tensor, got {type(images).__name__}")
    if images.dim() != 4:
        hint = "; add a batch dimension with images[None]" if images.dim() == 3 else ""
        raise ValueError(f"images must be a (B, C, H, W) batch, got shape {tuple(images.shape)}{hint}")
    if not images.is_floating_point():
        raise ValueError(f"images must be a floating-point tensor (normalised as for training), got {images.dtype}")
    if images.shape[0] == 0:
        raise ValueError("images is an empty batch (B = 0)")
    bad = (~torch.isfinite(images.detach())).flatten(1).any(1)
    if bad.any():
        raise ValueError(f"images: {int(bad.sum())} of {len(images)} images contain NaN or inf (first: image "
                         f"{int(bad.nonzero()[0])}); their maps would come out all zeros and look valid")


@contextmanager
def _forward_hooks(hooks: Iterable[tuple[nn.Module, Callable]]) -> Iterator[None]:
    """Register ``(module, hook)`` forward hooks for the body of a ``with`` block only.

    Every hook registered is removed on exit, also when the body raises or
    when registering fails half-way.
    """
    handles = []
    try:
        for module, hook in hooks:
            handles.append(module.register_forward_hook(hook))
        yield
    finally:
        for handle in handles:
            handle.remove()


# What a forward pass raises on an input it cannot take (shape, dtype or index errors in torch and in
# the model's own code). The listing below is only a hint inside another error message, so such a
# failure is not worth a second error; anything else (a bug, KeyboardInterrupt) propagates.
_FORWARD_ERRORS = (RuntimeError, ValueError, TypeError, IndexError)


def _layers_with_maps(model: nn.Module, images: torch.Tensor) -> list[str]:
    """Names of the layers whose output is a 4-D tensor (one cheap forward pass of one image).

    If that pass fails, the layers that ran before the failure are listed.
    """
    found: list[str] = []

    def recorder(name: str) -> Callable:
        def record(module, inputs, output) -> None:
            if isinstance(output, torch.Tensor) and output.dim() == 4 and name not in found:
                found.append(name)
        return record

    probes = ((module, recorder(name)) for name, module in model.named_modules() if name)
    try:
        with _forward_hooks(probes), torch.no_grad():
            model(images[:1])
    except _FORWARD_ERRORS:
        pass
    return found


def _forward(model: nn.Module, images: torch.Tensor, target_layer, *, grad: bool, any_output: bool = False,
             reshape: Callable[[torch.Tensor], torch.Tensor] | None = None):
    """Run the model once and capture the target layer's output ``A``.

    Returns ``(name, A, logits, images_on_device)``, ``name`` being the
    target layer's name in ``model.named_modules()``; ``A`` is the output as
    the layer gave it (``reshape(A)`` must be ``(B, K, h, w)`` maps). With ``grad=True`` the forward
    pass runs without autograd up to the target layer; there ``A`` becomes a
    fresh leaf that requires grad and autograd records the rest, so
    ``torch.autograd.grad(score, A)`` touches nothing below the target layer.
    The network continues with a copy of ``A``, so in-place operations after
    the target layer leave ``A`` intact.
    """
    name, module = find_layer(model, target_layer, argument="target_layer")
    _check_images(images)
    if grad and torch.is_inference_mode_enabled():
        raise RuntimeError("Grad-CAM needs gradients, and torch.inference_mode() forbids them (unlike "
                           "torch.no_grad(), which grad_cam handles): call it outside the inference_mode block")
    images = images.to(_model_device(model, images.device))
    captured: dict[str, torch.Tensor] = {}

    def hook(mod, inputs, output):
        if "A" in captured:
            raise _TwiceCalled()
        if reshape is not None and isinstance(output, torch.Tensor):
            try:
                maps = reshape(output.detach())
            except Exception as error:  # the caller's function: said with the layer's name below
                raise _ReshapeFailed(error) from error
            if not isinstance(maps, torch.Tensor) or maps.dim() != 4 or maps.shape[0] != output.shape[0]:
                raise _NotAFeatureMap(f"{_kind_and_shape(output)}, which reshape turns into "
                                      f"{_kind_and_shape(maps)}")
        elif not isinstance(output, torch.Tensor) or output.dim() != 4:
            raise _NotAFeatureMap(_kind_and_shape(output),
                                  tokens=isinstance(output, torch.Tensor) and output.dim() == 3)
        if grad:
            torch.set_grad_enabled(True)  # the no_grad block below restores the caller's mode
        a = output.detach()
        if grad:
            a.requires_grad_(True)
        captured["A"] = a
        return a.clone()

    wrong_output, tokens = None, False
    try:
        with _forward_hooks([(module, hook)]), _eval_mode(model), torch.no_grad():
            logits = model(images)
    except _NotAFeatureMap as err:
        wrong_output, tokens = err.description, err.tokens
    except _ReshapeFailed as err:
        raise ValueError(f"reshape could not turn the output of target_layer {name!r} into maps: "
                         f"{type(err.error).__name__}: {err.error}") from err.error
    except _TwiceCalled:
        raise ValueError(f"target_layer {name!r} runs more than once in model.forward (a module used twice); "
                         "its maps are ambiguous: pick a layer that runs once, e.g. a separate module for each use"
                         ) from None
    except RuntimeError as err:  # torch's own error for a dtype or a size the model cannot take: say which
        problem = _input_problem(model, images, err)
        if problem is None:
            raise
        raise ValueError(problem) from err
    if wrong_output is not None:
        with _eval_mode(model):
            maps = _layers_with_maps(model, images)
        hint = ("; a transformer block's (B, tokens, channels) output can be explained by grad_cam, "
                "grad_cam_pp and hires_cam with reshape=tokens_to_grid" if tokens else "")
        raise ValueError(
            f"target_layer {name!r} outputs {wrong_output}; CAM methods need a (B, K, h, w) "
            f"feature map{hint}. Layers with 4-D outputs: {', '.join(maps) if maps else 'none found'}"
        )
    if "A" not in captured:
        raise ValueError(f"target_layer {name!r} did not run during the forward pass; "
                         "pick a layer that model.forward calls")
    if any_output:  # a target function reads the output, whatever its shape
        return name, captured["A"], logits, images
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2 or logits.shape[0] != images.shape[0]:
        raise ValueError(f"the model must return class scores of shape (B, classes) = ({images.shape[0]}, ...), "
                         f"got {_kind_and_shape(logits)}; for another output pass classes=a function of it "
                         "(grad_cam, grad_cam_pp)")
    return name, captured["A"], logits, images


def _pick_classes(classes, logits: torch.Tensor) -> torch.Tensor:
    batch, count = logits.shape
    if classes is None:
        return logits.detach().argmax(1)
    if isinstance(classes, bool):
        raise ValueError(f"classes must be None, an int or one class index per image, got {classes!r}")
    if isinstance(classes, numbers.Integral):
        picked = torch.full((batch,), int(classes), dtype=torch.long)
    else:
        try:
            picked = torch.as_tensor(classes)
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(f"classes must be None, an int or one class index per image, got {classes!r}") from None
        if picked.dim() != 1 or picked.dtype.is_floating_point or picked.dtype == torch.bool or picked.is_complex():
            raise ValueError(f"classes must be a 1-D sequence of int class indices, got {classes!r}")
        if len(picked) != batch:
            raise ValueError(f"classes has {len(picked)} entries but images has {batch}; give one class per image "
                             "(or None for each image's top class)")
    if picked.numel() and (picked.min() < 0 or picked.max() >= count):
        raise ValueError(f"classes must lie in 0..{count - 1} (the model has {count} classes), got {classes!r}")
    return picked.to(device=logits.device, dtype=torch.long)


def _is_target_function(classes: Any) -> bool:
    """Whether ``classes`` is a target function ``outputs -> (B,) scores`` rather than class indices."""
    return callable(classes) and not isinstance(classes, torch.Tensor)


def _target_scores(target: Callable, outputs: Any, batch: int) -> torch.Tensor:
    """``target(outputs)`` checked: one differentiable, finite score per image, shape ``(B,)``."""
    try:
        scores = target(outputs)
    except Exception as error:  # the caller's function: say that it was the target that failed
        raise ValueError(f"classes (a target function) raised {type(error).__name__}: {error}") from error
    if not isinstance(scores, torch.Tensor) or not scores.is_floating_point() or \
            tuple(scores.shape) not in ((batch,), (batch, 1)):
        raise ValueError(f"classes (a target function) must return one float score per image, a ({batch},) "
                         f"tensor computed from the model's output, got {_kind_and_shape(scores)}")
    if not bool(torch.isfinite(scores).all()):
        raise ValueError("classes (a target function) returned a score that is NaN or infinite")
    return scores.reshape(batch)


def _gradient(name_of: str, logits: Any, a: torch.Tensor, classes: torch.Tensor | Callable) -> torch.Tensor:
    """d(sum of the chosen scores)/dA: raw class scores, or a target function's; images do not interact."""
    with torch.enable_grad():  # the caller may be inside torch.no_grad()
        if _is_target_function(classes):
            score = _target_scores(classes, logits, a.shape[0])
        else:
            score = logits.gather(1, classes[:, None])
        if not score.requires_grad:
            raise ValueError(f"the scores do not depend on the output of target_layer {name_of!r} through "
                             "autograd (is part of model.forward run under torch.no_grad()?)")
        (grad,) = torch.autograd.grad(score.sum(), a, allow_unused=True)
    if grad is None:
        raise ValueError(f"the class scores do not depend on the output of target_layer {name_of!r}")
    return grad


def _finish(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Upsample (B, h, w) maps to ``size`` and scale each to [0, 1]; constant maps become 0."""
    maps = maps.detach().float()
    if tuple(maps.shape[-2:]) != tuple(size):
        maps = F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
    low = maps.amin((1, 2), keepdim=True)
    span = maps.amax((1, 2), keepdim=True) - low
    scaled = (maps - low) / torch.where(span > 0, span, torch.ones_like(span))
    return torch.where(span > 0, scaled, torch.zeros_like(scaled))


def _gradient_map(
    model: nn.Module,
    images: torch.Tensor,
    target_layer: str | nn.Module,
    classes: int | Sequence[int] | torch.Tensor | Callable | None,
    weigh: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    reshape: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """The pipeline of every gradient CAM: ``ReLU(sum_k weigh(A, g)_k * A_k)``, upsampled and scaled.

    ``weigh(A, g)`` gets the target layer's ``(B, K, h, w)`` maps and the
    gradient ``g = d y_c / d A`` of the chosen raw class scores, and returns
    ``(B, K, 1, 1)`` channel weights, or ``(B, K, h, w)`` weights per position
    (HiResCAM): the one thing in which the methods differ.
    With ``reshape``, the gradient is taken with respect to the layer's own
    output and then reshaped like it: for a rearrangement such as
    :func:`tokens_to_grid` that is exactly the gradient with respect to the maps.
    """
    if reshape is not None and not callable(reshape):
        raise ValueError(f"reshape must be a function from the target layer's output to (B, K, h, w) maps, "
                         f"e.g. tokens_to_grid, got {reshape!r}")
    target = _is_target_function(classes)
    name, a, logits, images = _forward(model, images, target_layer, grad=True, any_output=target, reshape=reshape)
    grad = _gradient(name, logits, a, classes if target else _pick_classes(classes, logits))
    if reshape is not None:
        a, grad = reshape(a.detach()), reshape(grad)
    with torch.no_grad():
        maps = (weigh(a, grad) * a).sum(1).clamp_min(0)
    return _finish(maps, images.shape[-2:])


def _grad_cam_weights(a: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """Grad-CAM: ``alpha_k = mean_ij g_kij``."""
    return grad.mean((2, 3), keepdim=True)


def _hires_cam_weights(a: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """HiResCAM: the gradient itself, ``(B, K, h, w)``: no average over the positions."""
    return grad


def _grad_cam_pp_weights(a: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """Grad-CAM++: ``w_k = sum_ij a_kij * ReLU(g_kij)``, ``a_kij = g^2 / (2 g^2 + sum_ab A_k[a, b] * g^3)``."""
    g2 = grad * grad
    denominator = 2 * g2 + a.sum((2, 3), keepdim=True) * g2 * grad
    nonzero = denominator != 0
    alpha = torch.where(nonzero, g2 / torch.where(nonzero, denominator, torch.ones_like(denominator)), 0.0)
    return (alpha * grad.clamp_min(0)).sum((2, 3), keepdim=True)


# --------------------------------------------------------------------------- the maps
def cam(
    model: nn.Module,
    images: torch.Tensor,
    target_layer: str | nn.Module,
    classes: int | Sequence[int] | torch.Tensor | None = None,
    *,
    relu: bool = False,
    fc_layer: str | nn.Module | None = None,
) -> torch.Tensor:
    """Class Activation Maps (Zhou et al., 2016) of a GAP -> linear network.

    For a network whose class scores are ``y_c = sum_k w[c, k] * mean(A_k) + b_c``
    (global average pooling of the target layer's maps ``A_k``, then one
    linear layer), the map of class ``c`` is

        ``CAM_c = sum_k w[c, k] * A_k``,

    computed from one forward pass without gradients. The model is checked
    to really have that shape: its output must equal the linear layer
    applied to the spatial mean of ``A``.

    Args:
        model: the classifier; returns ``(B, classes)`` scores.
        images: ``(B, C, H, W)`` batch, prepared as for the model.
        target_layer: the layer whose output is pooled (name or module).
        classes: ``None`` (each image's top class), one ``int`` for all, or one index per image.
        relu: keep only the positive evidence (``max(CAM, 0)``) before scaling,
            as Grad-CAM does; the original CAM keeps negative values.
        fc_layer: the final linear layer; default: the last ``nn.Linear`` of
            the model whose ``in_features`` equals the number of maps ``K``.

    Returns:
        ``(B, H, W)`` maps in ``[0, 1]`` on the model's device.

    Raises:
        ValueError: bad ``images``/``classes``/``target_layer``, or a model
            that does not end in global average pooling + one linear layer
            (use :func:`grad_cam` for those).
    """
    if _is_target_function(classes):
        raise ValueError("cam explains a class through the last linear layer's weights, so classes must be class "
                         "indices; for a target function (a logit difference, a sigmoid output, a region) use "
                         "grad_cam or grad_cam_pp")
    name, a, logits, images = _forward(model, images, target_layer, grad=False)
    picked = _pick_classes(classes, logits)
    k = a.shape[1]
    advice = "CAM needs a model that ends in global average pooling + one linear layer; use grad_cam for this model"
    if fc_layer is not None:
        fc_name, fc = find_layer(model, fc_layer, argument="fc_layer")
        if not isinstance(fc, nn.Linear) or fc.in_features != k:
            raise ValueError(f"fc_layer {fc_name!r} must be an nn.Linear with in_features={k} "
                             f"(the channels of target_layer {name!r}), got {fc!r}")
    else:
        linears = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear) and m.in_features == k]
        if not linears:
            raise ValueError(f"no nn.Linear with in_features={k} (the channels of target_layer {name!r}) "
                             f"found; {advice}")
        fc_name, fc = linears[-1]
    with torch.no_grad():
        weight = fc.weight.detach().to(a.dtype)
        bias = fc.bias.detach().to(a.dtype) if fc.bias is not None else 0.0
        expected = a.mean((2, 3)) @ weight.T + bias
        scale = 1.0 + float(logits.abs().max())
        if expected.shape != logits.shape or not torch.allclose(expected, logits, rtol=1e-3, atol=1e-4 * scale):
            raise ValueError(f"the model's output is not {fc_name!r} applied to the global average of "
                             f"target_layer {name!r}; {advice}")
        maps = torch.einsum("bk,bkhw->bhw", weight[picked], a)
        if relu:
            maps = maps.clamp_min(0)
    return _finish(maps, images.shape[-2:])


def grad_cam(
    model: nn.Module,
    images: torch.Tensor,
    target_layer: str | nn.Module,
    classes: int | Sequence[int] | torch.Tensor | Callable | None = None,
    *,
    reshape: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al., 2017) for any differentiable classifier.

    With ``A`` the target layer's ``(K, h, w)`` maps and ``y_c`` the **raw**
    (pre-softmax) score of class ``c``:

        ``alpha_k = mean_ij  d y_c / d A_k[i, j]``,
        ``map = ReLU(sum_k alpha_k * A_k)``.

    For a GAP -> linear network ``alpha_k = w[c, k] / (h * w)``, so Grad-CAM is
    CAM with ReLU, up to scale (``cam(..., relu=True)``).

    Args:
        model: the classifier; returns ``(B, classes)`` raw scores (any output
            when ``classes`` is a target function).
        images: ``(B, C, H, W)`` batch, prepared as for the model.
        target_layer: name or module whose output is the ``(B, K, h, w)`` maps.
        classes: ``None`` (each image's top class), one ``int`` for all, one
            index per image, or a **target function** ``outputs -> (B,)
            scores`` for anything that is not one raw class score: a contrast
            ``lambda y: y[:, 0] - y[:, 1]`` ("circle rather than square"), the
            negated logit of a one-logit binary head (its class 0), one output
            of a multi-label or regression head, the summed logits of a mask
            region of a segmentation output. Its scores must be computed from
            the model's output (differentiably) and be finite.
        reshape: a function that turns the target layer's output into
            ``(B, K, h, w)`` maps by rearranging it, for layers whose output
            is not a feature map: :func:`tokens_to_grid` for a Vision
            Transformer's ``(B, 1 + h*w, K)`` tokens (give it ``grid=`` or
            ``class_tokens=`` through ``functools.partial`` when needed).

    Returns:
        ``(B, H, W)`` maps in ``[0, 1]`` on the model's device.

    Raises:
        ValueError: bad ``images``/``classes``/``target_layer``, or scores
            that do not depend on the target layer.
    """
    return _gradient_map(model, images, target_layer, classes, _grad_cam_weights, reshape)


def grad_cam_pp(
    model: nn.Module,
    images: torch.Tensor,
    target_layer: str | nn.Module,
    classes: int | Sequence[int] | torch.Tensor | Callable | None = None,
    *,
    reshape: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Grad-CAM++ (Chattopadhay et al., 2018): pixel-wise weighted gradients.

    With ``g = d y_c / d A`` (raw score; the paper's exponential of the score
    turns the second and third derivatives into powers of ``g``):

        ``a_kij = g^2 / (2 g^2 + sum_ab A_k[a, b] * g^3)``  (0 where the denominator is 0),
        ``w_k = sum_ij a_kij * ReLU(g_kij)``,
        ``map = ReLU(sum_k w_k * A_k)``.

    Arguments, result and errors as :func:`grad_cam`.
    """
    return _gradient_map(model, images, target_layer, classes, _grad_cam_pp_weights, reshape)


def hires_cam(
    model: nn.Module,
    images: torch.Tensor,
    target_layer: str | nn.Module,
    classes: int | Sequence[int] | torch.Tensor | Callable | None = None,
    *,
    reshape: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """HiResCAM (Draelos & Carin, 2020): Grad-CAM without the average of the gradient over positions.

    With ``A`` the target layer's ``(K, h, w)`` maps and ``g = d y / d A`` the
    gradient of the explained score:

        ``map = ReLU(sum_k g_k * A_k)``  (element-wise, position by position).

    Grad-CAM weighs each channel by its gradient averaged over all positions,
    so a score that reads one *region* of the output (a mask region of a
    segmentation map) gets the same map as any other region whose evidence
    uses the same channels. HiResCAM keeps the gradient where it is, so the
    map stays with the positions that the score depends on. At the layer that
    a global average pooling reads (followed by one linear layer) the gradient
    is the same at every position, and HiResCAM equals Grad-CAM there.

    Arguments, result and errors as :func:`grad_cam`.
    """
    return _gradient_map(model, images, target_layer, classes, _hires_cam_weights, reshape)


def tokens_to_grid(tokens: torch.Tensor, *, class_tokens: int = 1, grid: tuple[int, int] | None = None
                   ) -> torch.Tensor:
    """Fold a Vision Transformer's tokens back into maps: ``(B, class_tokens + h*w, D)`` -> ``(B, D, h, w)``.

    A ViT cuts the image into an ``h x w`` grid of patches, row by row, and
    puts ``class_tokens`` extra tokens in front (1 for ViT's class token, 2
    for DeiT's class and distillation tokens, 0 for a model that averages
    its patch tokens). This drops those, infers the grid's side from the
    number of patch tokens (``h = w = sqrt(N)``; pass ``grid=(h, w)`` for
    non-square images) and moves the channels first, so that Grad-CAM treats
    the ``D`` token channels as ``D`` maps. Nothing is hard-coded: a 224-pixel
    image with 16-pixel patches gives 14 x 14, with 32-pixel patches 7 x 7.

    Args:
        tokens: ``(B, N, D)`` tokens, batch first.
        class_tokens: how many tokens precede the patch tokens.
        grid: ``(h, w)`` of the patch grid; default the square one.

    Returns:
        ``(B, D, h, w)``: the same values, rearranged.

    Raises:
        ValueError: ``tokens`` is not ``(B, N, D)``, or its patch tokens do not
            form the grid (the message names the shape and the count).
    """
    if not isinstance(tokens, torch.Tensor) or tokens.dim() != 3:
        hint = " (already maps: no reshape needed)" if isinstance(tokens, torch.Tensor) and tokens.dim() == 4 else ""
        raise ValueError(f"tokens must be a (B, N, D) tensor (batch, tokens, channels), got "
                         f"{_kind_and_shape(tokens)}{hint}")
    class_tokens = check_int(class_tokens, "class_tokens", minimum=0, what="tokens in front of the patch tokens")
    batch, count, channels = tokens.shape
    patches = count - class_tokens
    if patches < 1:
        raise ValueError(f"tokens of shape {tuple(tokens.shape)} have no patch tokens after {class_tokens} class "
                         "token(s)")
    if grid is None:
        side = math.isqrt(patches)
        if side * side != patches:
            raise ValueError(
                f"tokens of shape {tuple(tokens.shape)}: after {class_tokens} class token(s), {patches} patch "
                f"tokens do not form a square grid; pass grid=(h, w) for a non-square image, or class_tokens= the "
                f"number of tokens in front of the patches (0 if the model has none, 2 for DeiT)")
        height = width = side
    else:
        if (not isinstance(grid, (tuple, list)) or len(grid) != 2
                or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0 for n in grid)):
            raise ValueError(f"grid must be (h, w), two positive ints, got {grid!r}")
        height, width = int(grid[0]), int(grid[1])
        if height * width != patches:
            raise ValueError(f"tokens of shape {tuple(tokens.shape)}: after {class_tokens} class token(s), "
                             f"{patches} patch tokens do not fill grid={height}x{width} ({height * width} patches)")
    return tokens[:, class_tokens:].transpose(1, 2).reshape(batch, channels, height, width)


# --------------------------------------------------------------------------- display and scores
def _as_hwc(image) -> np.ndarray:
    """An image as a float (H, W, 3) array in [0, 1]."""
    if isinstance(image, torch.Tensor):
        array = image.detach().cpu()
        if array.dim() == 3 and array.shape[0] in (1, 3) and array.shape[-1] not in (1, 3):
            array = array.permute(1, 2, 0)
        array = array.numpy()
    else:
        array = np.asarray(image)  # PIL images and numpy arrays
    if array.ndim == 3 and array.shape[-1] == 4:
        array = array[..., :3]  # drop alpha
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError("image must be (3, H, W) or (H, W) tensor, (H, W, 3) or (H, W) array, or a PIL image; "
                         f"got shape {array.shape}")
    if array.dtype == np.uint8:
        return (array / 255.0).astype(np.float32)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"image must hold numbers (uint8 0..255, or floats in [0, 1]), got dtype {array.dtype}")
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise ValueError("image contains NaN or inf")
    low, high = float(array.min()), float(array.max())
    if low < -1e-3 or high > 1 + 1e-3:  # a little float error from denormalising is fine
        if low >= 0 and high > 1.5:
            hint = "it looks like 0..255: pass image / 255, or a uint8 array"
        elif low < 0:
            hint = "it looks normalised (negative values): denormalise it first (camp_utils.data.denormalize)"
        else:
            hint = "scale it to [0, 1]"
        raise ValueError(f"image values must lie in [0, 1] (or be uint8), got {low:.3g}..{high:.3g}: {hint}")
    return np.clip(array, 0.0, 1.0)


def overlay(image, heatmap, alpha: float = 0.5, cmap: str = "jet") -> np.ndarray:
    """Blend a heat map over an image: ``(1 - alpha) * image + alpha * cmap(heatmap)``.

    Args:
        image: ``(3, H, W)`` / ``(H, W)`` tensor in ``[0, 1]`` (e.g. from
            :func:`camp_utils.data.denormalize`), an ``(H, W, 3)`` array
            (float in ``[0, 1]`` or ``uint8``), or a PIL image.
        heatmap: ``(h, w)`` tensor or array in ``[0, 1]``; resized bilinearly
            to the image's size when it differs.
        alpha: weight of the heat map, in ``[0, 1]``.
        cmap: a matplotlib colormap name.

    Returns:
        A float32 ``(H, W, 3)`` array in ``[0, 1]`` for ``plt.imshow``.

    Raises:
        ValueError: bad shapes, an empty heat map, ``alpha`` outside ``[0, 1]``
            or an unknown ``cmap``; an image outside ``[0, 1]`` that is not ``uint8`` (0..255
            floats or ints, or a normalised image: the message says which);
            NaN/inf in the image or the heat map; a heat map outside ``[0, 1]``.
    """
    import matplotlib

    try:  # any real number, numpy's scalars included; a float, so the result stays float32
        alpha = check_number(alpha, "alpha", low=0, high=1)
    except ValueError:
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r} ({type(alpha).__name__})") from None
    try:
        colormap = matplotlib.colormaps[cmap]
    except (KeyError, TypeError):
        raise ValueError(f"cmap must be a matplotlib colormap name such as 'jet' or 'viridis', got {cmap!r}") from None
    base = _as_hwc(image)
    heat = torch.as_tensor(np.asarray(heatmap.detach().cpu() if isinstance(heatmap, torch.Tensor) else heatmap),
                           dtype=torch.float32)
    if heat.dim() != 2:
        raise ValueError(f"heatmap must be (H, W), got shape {tuple(heat.shape)}")
    if heat.numel() == 0:
        raise ValueError(f"heatmap is an empty map of size {heat.shape[0]}x{heat.shape[1]} (H x W): "
                         "there is nothing to draw")
    if not torch.isfinite(heat).all():
        raise ValueError("heatmap contains NaN or inf; a NaN map would be drawn as grey patches")
    if heat.numel() and (float(heat.min()) < -1e-3 or float(heat.max()) > 1 + 1e-3):
        raise ValueError(f"heatmap values must lie in [0, 1] (as cam, grad_cam and grad_cam_pp return them), got "
                         f"{float(heat.min()):.3g}..{float(heat.max()):.3g}; "
                         "scale it: (h - h.min()) / (h.max() - h.min())")
    if tuple(heat.shape) != base.shape[:2]:
        heat = F.interpolate(heat[None, None], size=base.shape[:2], mode="bilinear", align_corners=False)[0, 0]
    colours = colormap(heat.clamp(0, 1).numpy())[..., :3].astype(np.float32)
    return ((1 - alpha) * base + alpha * colours).clip(0, 1)


def _check_maps(heatmaps, name: str) -> torch.Tensor:
    """``(B, H, W)`` float maps on the CPU; refuses an empty batch and NaN/inf pixels (they decide no score)."""
    if not isinstance(heatmaps, torch.Tensor) or heatmaps.dim() != 3:
        raise ValueError(f"{name} must be a (B, H, W) tensor, got {_kind_and_shape(heatmaps)}")
    if heatmaps.shape[0] == 0:
        raise ValueError(f"{name} holds no maps (batch of 0): a score of nothing is undefined")
    if heatmaps.shape[1] == 0 or heatmaps.shape[2] == 0:
        raise ValueError(f"{name} holds empty maps of size {heatmaps.shape[1]}x{heatmaps.shape[2]} (H x W): "
                         "a map without pixels points nowhere and has no mass")
    maps = heatmaps.detach().float().cpu()
    bad = (~torch.isfinite(maps)).flatten(1).any(1)
    if bad.any():
        raise ValueError(f"{name}: {int(bad.sum())} of {len(maps)} maps contain NaN or inf (first: map "
                         f"{int(bad.nonzero()[0])}); a NaN pixel would win or lose the argmax at random. "
                         "Check the images and the model's outputs for them")
    return maps


def _check_boxes(boxes, batch: int, height: int, width: int) -> torch.Tensor:
    """Integer pixel boxes ``(x0, y0, x1, y1)``, ``x0 < x1 <= width``, ``y0 < y1 <= height``, one per map."""
    if not isinstance(boxes, torch.Tensor) or boxes.shape != (batch, 4):
        raise ValueError(f"boxes must be a ({batch}, 4) tensor of (x0, y0, x1, y1), one per map, "
                         f"got {_kind_and_shape(boxes)}")
    if boxes.is_floating_point() or boxes.is_complex() or boxes.dtype == torch.bool:
        hint = (" they look like fractions of the image: multiply by the map's width and height"
                if boxes.numel() and boxes.is_floating_point() and float(boxes.abs().max()) <= 1 else "")
        raise ValueError(f"boxes must hold integer pixel coordinates, got dtype {boxes.dtype};"
                         f"{hint or ' round them first'}")
    b = boxes.cpu().long()
    x0, y0, x1, y1 = b.unbind(1)
    wrong = (x0 < 0) | (y0 < 0) | (x1 > width) | (y1 > height) | (x1 <= x0) | (y1 <= y0)
    if wrong.any():
        i = int(wrong.nonzero()[0])
        raise ValueError(f"box {i} is {b[i].tolist()}: expected 0 <= x0 < x1 <= {width} and 0 <= y0 < y1 <= {height} "
                         "(x1, y1 exclusive) on these maps")
    return b


def pointing_game(heatmaps: torch.Tensor, boxes: torch.Tensor) -> float:
    """Fraction of maps whose maximum lies inside the object's box (Zhang et al., 2016).

    A map's maximum is its first highest pixel in row-major order. A constant
    map (e.g. all zeros) points nowhere and counts as a miss.

    Args:
        heatmaps: ``(B, H, W)`` maps.
        boxes: ``(B, 4)`` integer boxes ``(x0, y0, x1, y1)`` with ``x1``/``y1``
            exclusive, as :attr:`camp_utils.data.ShapesDataset.boxes`.

    Returns:
        the share of hits, in ``[0, 1]``.

    Raises:
        ValueError: wrong shapes or a different number of maps and boxes; no
            maps, or maps without pixels (0 x 0); NaN/inf in a map; boxes that are not integer pixel
            coordinates inside the maps with ``x0 < x1``, ``y0 < y1``.
    """
    maps = _check_maps(heatmaps, "heatmaps")
    batch, height, width = maps.shape
    x0, y0, x1, y1 = _check_boxes(boxes, batch, height, width).unbind(1)
    flat = maps.reshape(batch, -1)
    index = flat.argmax(1)
    y, x = index // width, index % width
    inside = (x0 <= x) & (x < x1) & (y0 <= y) & (y < y1)
    pointed = flat.amax(1) > flat.amin(1)
    return float((inside & pointed).float().mean())


def mask_score(heatmaps: torch.Tensor, masks: torch.Tensor) -> float:
    """Mean share of each map's mass that falls on the object's pixels.

    Stricter than the pointing game: the whole map counts, not only its
    peak. A uniform map scores the object's share of the image; a perfect
    one scores 1. A map with no mass (all zeros) scores 0.

    Args:
        heatmaps: ``(B, H, W)`` non-negative maps (e.g. from :func:`grad_cam`).
        masks: ``(B, H, W)`` boolean (or 0/1) object masks (:attr:`camp_utils.data.ShapesDataset.masks`).

    Returns:
        the mean over the maps, in ``[0, 1]``.

    Raises:
        ValueError: shapes differ; no maps, or maps without pixels; a map has negative values or
            NaN/inf; masks that are not boolean or 0/1 (e.g. 0/255 from a
            PNG); a mask without any object pixel.
    """
    maps = _check_maps(heatmaps, "heatmaps")
    if not isinstance(masks, torch.Tensor) or masks.shape != maps.shape:
        raise ValueError(f"masks must be a tensor of the maps' shape {tuple(maps.shape)}, got {_kind_and_shape(masks)}")
    if masks.dtype != torch.bool:
        values = torch.unique(masks.detach().cpu())
        if not bool(((values == 0) | (values == 1)).all()):
            shown = ", ".join(f"{v:g}" for v in values[:5].tolist())
            raise ValueError(f"masks must be boolean (or 0/1), got dtype {masks.dtype} with values {shown}"
                             f"{', ...' if len(values) > 5 else ''}; a mask loaded from a PNG is 0/255: pass masks > 0")
    empty = ~masks.detach().cpu().bool().flatten(1).any(1)
    if empty.any():
        raise ValueError(f"masks: {int(empty.sum())} masks have no object pixel "
                         f"(first: mask {int(empty.nonzero()[0])});"
                         " a share of mass on no object is undefined")
    if (maps < 0).any():
        raise ValueError("heatmaps must be non-negative (a share of mass needs non-negative maps)")
    total = maps.sum((1, 2))
    on_object = (maps * masks.cpu().float()).sum((1, 2))
    share = torch.where(total > 0, on_object / torch.where(total > 0, total, torch.ones_like(total)), 0.0)
    return float(share.mean())


@dataclass(frozen=True)
class Faithfulness:
    """Deletion and insertion curves of a batch of maps (Petsiuk et al., 2018, RISE), averaged over the images.

    Attributes:
        fractions: the share of pixels replaced at each step, from 0 to 1.
        deletion: the mean probability of the explained class as the pixels the
            maps rank highest are replaced by the baseline first.
        insertion: the same, starting from the baseline and putting the highest-ranked pixels back first.
        deletion_auc: area under ``deletion`` (lower: the maps found what the decision rests on).
        insertion_auc: area under ``insertion`` (higher is better).
        empty_maps: maps that rank nothing (every pixel equal, e.g. all zeros): left out of the means.
    """

    fractions: list[float]
    deletion: list[float]
    insertion: list[float]
    deletion_auc: float
    insertion_auc: float
    empty_maps: int


def _input_baseline(images: torch.Tensor, baseline: str) -> torch.Tensor:
    if baseline == "mean":  # each image's own mean colour
        return images.mean((2, 3), keepdim=True).expand_as(images)
    if baseline == "zeros":
        return torch.zeros_like(images)
    return torch.nn.functional.avg_pool2d(images, 11, stride=1, padding=5, count_include_pad=False)


@torch.no_grad()
def faithfulness(model: nn.Module, images: torch.Tensor, heatmaps: torch.Tensor, classes: torch.Tensor, *,
                 steps: int = 16, baseline: str = "mean") -> Faithfulness:
    """How much the model's decision rests on the pixels a map ranks highest: deletion and insertion curves.

    For each image, its pixels are ranked by the map (highest first). Deletion
    replaces the top ``k/steps`` of them by ``baseline`` and records the
    softmax probability of the explained class, for ``k = 0 .. steps``;
    insertion starts from the baseline image and puts the top pixels back. A
    faithful map makes the probability fall fast under deletion and rise fast
    under insertion. Localisation scores (:func:`pointing_game`, :func:`mask_score`)
    ask whether a map sits on the object; these ask whether the *model* needs
    what the map shows -- compare both with a random and a centred map.

    Args:
        model: the classifier; run in eval mode (every module's own flag given back).
        images: ``(B, C, H, W)`` inputs as the model takes them (normalised).
        heatmaps: ``(B, h, w)`` maps; resized (bilinear) to ``H x W`` if they differ.
        classes: ``(B,)`` the explained class of each image.
        steps: number of steps from nothing to everything replaced (>= 2).
        baseline: what replaces a pixel: ``"mean"`` (the image's own mean colour),
            ``"blur"`` (an 11 x 11 box blur of the image) or ``"zeros"`` (0 in the
            model's input space: the dataset's mean colour after normalisation).

    Raises:
        ValueError: shapes that do not match, a class out of range, bad ``steps``
            or ``baseline``, NaN/inf in a map, or no map that ranks anything.
    """
    _check_images(images)
    maps = _check_maps(heatmaps, "heatmaps")
    steps = check_int(steps, "steps", minimum=2, what="steps from nothing to everything replaced")
    baseline = check_choice(baseline, "baseline", {"mean": "the image's mean colour", "blur": "a blurred image",
                                                   "zeros": "0 in input space"})
    batch, _, height, width = images.shape
    if len(maps) != batch:
        raise ValueError(f"heatmaps holds {len(maps)} maps for {batch} images")
    if not isinstance(classes, torch.Tensor) or classes.shape != (batch,) or classes.is_floating_point():
        raise ValueError(f"classes must be a ({batch},) tensor of class indices, got {_kind_and_shape(classes)}")
    if maps.shape[1:] != (height, width):
        maps = torch.nn.functional.interpolate(maps[:, None], size=(height, width), mode="bilinear",
                                               align_corners=False)[:, 0]
    flat = maps.reshape(batch, -1)
    ranked = flat.amax(1) > flat.amin(1)
    if not ranked.any():
        raise ValueError("no map ranks any pixel above another (all maps are constant, e.g. all zeros): "
                         "there is nothing to delete first")
    device = _model_device(model, images.device)
    x = images[ranked].to(device)
    order = flat[ranked].argsort(dim=1, descending=True, stable=True).to(device)
    explained = classes[ranked].to(device)
    base = _input_baseline(x, baseline)
    n, pixels = len(x), height * width
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(pixels, device=device).expand(n, -1))  # rank[i, p]: place of pixel p
    fractions = [k / steps for k in range(steps + 1)]
    curves = {"deletion": [], "insertion": []}
    with _eval_mode(model):
        logits = model(x)
        classes_count = logits.shape[1]
        if bool(((explained < 0) | (explained >= classes_count)).any()):
            raise ValueError(f"classes must lie in 0..{classes_count - 1} for this model")
        for fraction in fractions:
            top = (rank < round(fraction * pixels)).reshape(n, 1, height, width)
            for kind, changed in (("deletion", torch.where(top, base, x)), ("insertion", torch.where(top, x, base))):
                probs = model(changed).softmax(1).gather(1, explained[:, None])[:, 0]
                curves[kind].append(float(probs.mean()))

    def area(values: list[float]) -> float:
        return float(sum((a + b) / 2 for a, b in itertools.pairwise(values)) / steps)

    return Faithfulness(fractions, curves["deletion"], curves["insertion"], area(curves["deletion"]),
                        area(curves["insertion"]), int((~ranked).sum()))
