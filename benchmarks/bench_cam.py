"""cam: the cost of :mod:`camp_utils.cam` against the model's own passes and against pytorch-grad-cam.

Per model (the course's GapNet, and torchvision's ResNet-18 at 224 x 224;
random weights -- the cost does not depend on them), batch 8, eval mode,
the same explicit classes on every side:

* ``forward`` -- ``model(x)`` under ``torch.no_grad()`` (a prediction);
* ``forward + backward`` -- ``model(x)``, then ``backward`` of the chosen
  class scores into every parameter (a training step without the update);
* ``cam`` -- :func:`camp_utils.cam.cam` (compared with ``forward``);
* ``grad_cam`` / ``grad_cam_pp`` -- camp_utils, compared with
  ``forward + backward`` and with pytorch-grad-cam's ``GradCAM`` /
  ``GradCAMPlusPlus`` on the same layer (the object is built inside the timed
  call, as our functions set up their hook per call; both give ``(B, H, W)``
  maps scaled to [0, 1]). The largest absolute difference between the two
  libraries' maps is printed beside the times.

pytorch-grad-cam (PyPI ``grad-cam``) comes from ``benchmarks/requirements-bench.txt``;
without it those columns are skipped with a note.
"""
from __future__ import annotations

import torch

from ._common import Result, Skip, Target, calibrate, median, median_ratio, side_by_side

NAME = "cam"
TITLE = "CAM / Grad-CAM cost (batch 8, eval mode, random weights)"


def _models(device):
    from camp_utils.data import ShapesDataset
    from camp_utils.models import GapNet

    torch.manual_seed(0)
    gap = GapNet(len(ShapesDataset.classes)).to(device).eval()
    yield "GapNet", gap, "features", torch.randn(8, 3, 32, 32, device=device), "32x32"
    try:
        import torchvision
    except ImportError:
        return
    torch.manual_seed(0)
    resnet = torchvision.models.resnet18(weights=None).to(device).eval()
    yield "ResNet-18", resnet, "layer4", torch.randn(8, 3, 224, 224, device=device), "224x224"


def _exact_pp():
    """pytorch-grad-cam's GradCAMPlusPlus with the ``eps`` of its denominator set to 0 (else unchanged)."""
    import numpy as np
    from pytorch_grad_cam import GradCAMPlusPlus

    class ExactGradCAMPlusPlus(GradCAMPlusPlus):
        def get_cam_weights(self, input_tensor, target_layers, target_category, activations, grads):
            g2 = grads ** 2
            denominator = 2 * g2 + activations.sum(axis=(2, 3), keepdims=True) * g2 * grads
            with np.errstate(divide="ignore", invalid="ignore"):
                aij = np.where((grads != 0) & (denominator != 0), g2 / denominator, 0)
            return (np.maximum(grads, 0) * aij).sum(axis=(2, 3))

    return ExactGradCAMPlusPlus


def run(args) -> Result:
    """Time the course's CAM methods against the model's own passes and pytorch-grad-cam, on the same batch."""
    try:
        from camp_utils import cam as campcam
    except ImportError as err:
        raise Skip(f"camp_utils.cam is not there yet (lesson 23 has not landed): {err}") from None
    try:
        from pytorch_grad_cam import GradCAM, GradCAMPlusPlus
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    except ImportError:
        GradCAM = None
    from camp_utils.train import pick_device

    device = pick_device()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    repeats = max(5, args.repeats * 2 + 1)
    result = Result(TITLE, ["model", "input", "side", "ms / call", "x forward", "x fwd+bwd", "x pytorch-grad-cam",
                            "max |diff| of maps"])
    for model_name, model, layer_name, x, size in _models(device):
        layer = dict(model.named_modules())[layer_name]
        with torch.no_grad():
            classes = model(x).argmax(1)
        targets = [int(c) for c in classes]

        # This iteration's model and inputs are bound as default arguments (the sides are timed within it).
        def forward(model=model, x=x):
            with torch.no_grad():
                model(x)
            sync()

        def forward_backward(model=model, x=x, classes=classes):
            model.zero_grad(set_to_none=True)
            model(x).gather(1, classes[:, None]).sum().backward()
            sync()

        def ours(fn, model=model, x=x, layer_name=layer_name, classes=classes):
            def call():
                fn(model, x, layer_name, classes)
                sync()
            return call

        def theirs(cls, model=model, layer=layer, x=x, targets=targets):
            def call():
                with cls(model=model, target_layers=[layer]) as method:
                    method(input_tensor=x, targets=[ClassifierOutputTarget(c) for c in targets])
                sync()
            return call

        sides = {"forward": forward, "forward + backward": forward_backward, "cam": ours(campcam.cam),
                 "grad_cam": ours(campcam.grad_cam), "grad_cam_pp": ours(campcam.grad_cam_pp)}
        pairs = {"grad_cam": "pytorch-grad-cam GradCAM", "grad_cam_pp": "pytorch-grad-cam GradCAMPlusPlus"}
        if GradCAM is not None:
            sides["pytorch-grad-cam GradCAM"] = theirs(GradCAM)
            sides["pytorch-grad-cam GradCAMPlusPlus"] = theirs(GradCAMPlusPlus)
        calls = {name: calibrate(fn, seconds=0.15) for name, fn in sides.items()}
        times = side_by_side(sides, repeats=repeats, calls=calls, warmup=False)
        model.zero_grad(set_to_none=True)

        diffs = {}
        if GradCAM is not None:
            checks = (("grad_cam", GradCAM), ("grad_cam_pp", GradCAMPlusPlus), ("grad_cam_pp, eps 0", _exact_pp()))
            for key, cls in checks:
                mine = getattr(campcam, key.split(",")[0])(model, x, layer_name, classes).cpu().numpy()
                with cls(model=model, target_layers=[layer]) as method:
                    ref = method(input_tensor=x, targets=[ClassifierOutputTarget(c) for c in targets])
                diffs[key] = float(abs(mine - ref).max())
            model.zero_grad(set_to_none=True)

        for name in sides:
            row = [model_name, size, name, median(times[name]) * 1e3,
                   f"{median_ratio(times, name, 'forward'):.2f}",
                   f"{median_ratio(times, name, 'forward + backward'):.2f}"]
            if name in pairs and pairs[name] in times:
                diff = f"{diffs[name]:.1e}"
                if name == "grad_cam_pp":
                    diff += f" (their eps 0: {diffs['grad_cam_pp, eps 0']:.1e})"
                row += [f"{median_ratio(times, name, pairs[name]):.2f}", diff]
            else:
                row += ["", ""]
            result.rows.append(row)

        result.targets.append(Target(f"{model_name}: cam / forward", median_ratio(times, "cam", "forward"), 1.05, "x"))
        result.targets.append(Target(f"{model_name}: grad_cam / (forward + backward)",
                                     median_ratio(times, "grad_cam", "forward + backward"), 0.999, "x"))
        if GradCAM is not None:
            result.targets.append(Target(f"{model_name}: grad_cam / pytorch-grad-cam",
                                         median_ratio(times, "grad_cam", pairs["grad_cam"]), 0.8, "x"))
            result.targets.append(Target(f"{model_name}: max |grad_cam - pytorch-grad-cam|", diffs["grad_cam"], 1e-3))
            result.targets.append(Target(f"{model_name}: max |grad_cam_pp - pytorch-grad-cam++ without its eps|",
                                         diffs["grad_cam_pp, eps 0"], 1e-3))
            result.notes.append(f"{model_name}: max |grad_cam_pp - pytorch-grad-cam++| is "
                                f"{diffs['grad_cam_pp']:.1e} with pytorch-grad-cam's eps = 1e-6 in the denominator "
                                f"2 g^2 + sum(A) g^3 + eps, {diffs['grad_cam_pp, eps 0']:.1e} with eps = 0: the gap "
                                "is the eps, which is not small against 2 g^2 when the gradients g are ~1e-3.")
        fixed = (median(times["cam"]) - median(times["forward"])) * 1e3
        result.notes.append(f"{model_name}: cam costs {fixed:.2f} ms more than the forward pass it contains "
                            f"({median(times['forward']) * 1e3:.1f} ms): a fixed cost per call (hook, checks, "
                            "upsampling and scaling: a few dozen small tensor operations) that only a small model "
                            "notices.")
        result.notes.append(f"{model_name}: {repeats} repeats, order rotated; calls per timed block: "
                            + ", ".join(f"{k} {v}" for k, v in calls.items()))
    if GradCAM is None:
        result.notes.append("pytorch-grad-cam is not installed: `pip install -r benchmarks/requirements-bench.txt` "
                            "for the comparison columns.")
    return result
