"""camp_utils.cam: golden values, identities, model state, errors, scores."""
import functools
import gc

import numpy as np
import pytest
import torch
from torch import nn

from camp_utils import weights
from camp_utils.cam import (
    cam,
    grad_cam,
    grad_cam_pp,
    hires_cam,
    mask_score,
    overlay,
    pointing_game,
    tokens_to_grid,
)
from camp_utils.models import GapNet, TinyViT

# Two 2x2 feature maps used as the target layer's output (the input passes an Identity).
A0 = [[1.0, 0.0], [0.0, 2.0]]
A1 = [[0.0, 3.0], [1.0, 0.0]]
MAPS = torch.tensor([A0, A1]).unsqueeze(0)  # (1, 2, 2, 2)


def gap_net():
    """Identity 'features' -> global average pooling -> linear with fixed weights."""
    fc = nn.Linear(2, 2)
    with torch.no_grad():
        fc.weight.copy_(torch.tensor([[2.0, -1.0], [0.5, 1.0]]))
        fc.bias.copy_(torch.tensor([0.3, -7.0]))
    return nn.Sequential(nn.Identity(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), fc)


def flat_net():
    """Identity 'features' -> flatten -> linear: no GAP, so every pixel has its own weight."""
    fc = nn.Linear(8, 2, bias=False)
    with torch.no_grad():
        fc.weight.copy_(torch.tensor([[1.0, 1, 1, 1, 1, 0, 0, 1],      # mean weights 1, 0.5
                                      [-1.0, -1, -1, -1, 0, 0, 0, 0]]))  # mean weights -1, 0
    return nn.Sequential(nn.Identity(), nn.Flatten(), fc)


def close(a, b):
    return torch.allclose(a, torch.as_tensor(b, dtype=a.dtype), atol=1e-6)


# --------------------------------------------------------------------------- golden values
def test_cam_by_hand_on_a_gap_network():
    # logits: 2*0.75 - 1*1 + 0.3 = 0.8 and 0.375 + 1 - 7 = -5.625, so class 0 is explained;
    # CAM_0 = 2*A0 - A1 = [[2, -3], [-1, 4]] -> (x + 3) / 7.
    assert close(cam(gap_net(), MAPS, "0")[0], [[5 / 7, 0], [2 / 7, 1]])
    # with ReLU: [[2, 0], [0, 4]] / 4
    assert close(cam(gap_net(), MAPS, "0", relu=True)[0], [[0.5, 0], [0, 1]])
    # class 1: 0.5*A0 + A1 = [[0.5, 3], [1, 1]] -> (x - 0.5) / 2.5
    assert close(cam(gap_net(), MAPS, "0", classes=[1])[0], [[0, 1], [0.2, 0.2]])


def test_grad_cam_by_hand_on_a_network_without_gap():
    # class 0: alpha = (mean of [1,1,1,1], mean of [1,0,0,1]) = (1, 0.5);
    # A0 + 0.5*A1 = [[1, 1.5], [0.5, 2]] -> (x - 0.5) / 1.5
    images = torch.cat([MAPS, MAPS])
    maps = grad_cam(flat_net(), images, "0", classes=[0, 1])
    assert close(maps[0], [[1 / 3, 2 / 3], [0, 1]])
    # class 1: alpha = (-1, 0) -> ReLU(-A0) is zero everywhere, and stays zero (no NaN)
    assert torch.equal(maps[1], torch.zeros(2, 2))


def test_grad_cam_pp_by_hand_on_a_gap_network():
    # g = w/(h*w) = (0.5, -0.25); sums of A = (3, 4);
    # a_0 = 1 / (2 + 3*0.5) = 2/7, weight_0 = 4 * 2/7 * 0.5; weight_1 = 0 (ReLU(g) = 0)
    # map = ReLU(4/7 * A0) -> A0 / 2
    assert close(grad_cam_pp(gap_net(), MAPS, "0")[0], [[0.5, 0], [0, 1]])


def test_grad_cam_equals_relu_cam_for_gap_then_linear():
    torch.manual_seed(0)
    model = GapNet(4, width=4)
    for p in model.parameters():  # non-trivial batch-norm statistics and weights
        nn.init.normal_(p, std=0.5)
    images = torch.randn(3, 3, 16, 20)
    gc_maps = grad_cam(model, images, "features")
    cam_maps = cam(model, images, "features", relu=True)
    assert gc_maps.shape == (3, 16, 20)
    assert torch.allclose(gc_maps, cam_maps, atol=1e-5)
    assert not torch.allclose(cam(model, images, "features"), cam_maps, atol=1e-3)  # ReLU matters


# Two images for flat_net: MAPS (logits 3 and -3: class 0 on top) and -MAPS (logits -3 and 3: class 1 on top).
# Their Grad-CAMs by hand (see test_grad_cam_by_hand_on_a_network_without_gap): MAPS, class 0 ->
# [[1/3, 2/3], [0, 1]]; MAPS, class 1 -> zeros; -MAPS, class 1: alpha = (-1, 0), ReLU(A0) = [[1, 0], [0, 2]] / 2.
OPPOSITES = torch.cat([MAPS, -MAPS])
MAP_CLASS_0, ZEROS, MAP_CLASS_1 = [[1 / 3, 2 / 3], [0, 1]], [[0, 0], [0, 0]], [[0.5, 0], [0, 1]]


def test_top_class_is_the_default():
    maps = grad_cam(flat_net(), OPPOSITES, "0")  # each image explained for its own top class: 0, then 1
    assert close(maps[0], MAP_CLASS_0) and close(maps[1], MAP_CLASS_1)


def test_one_class_given_as_an_int_explains_every_image_for_it():
    maps = grad_cam(flat_net(), OPPOSITES, "0", classes=1)
    assert close(maps[0], ZEROS) and close(maps[1], MAP_CLASS_1)


# --------------------------------------------------------------------------- conventions
@pytest.mark.parametrize("method", [cam, grad_cam, grad_cam_pp, hires_cam])
def test_maps_are_batch_by_input_size_in_zero_one(method):
    model = GapNet(4, width=4)
    maps = method(model, torch.randn(5, 3, 24, 32), "features")
    assert maps.shape == (5, 24, 32) and maps.dtype == torch.float32
    assert not torch.isnan(maps).any() and maps.min() >= 0 and maps.max() <= 1
    assert all(float(m.max()) in (0.0, 1.0) for m in maps)


def test_target_layer_given_as_module_or_name():
    net = gap_net()  # Grad-CAM of a GAP network is its CAM with ReLU: [[0.5, 0], [0, 1]] (by hand, above)
    assert close(grad_cam(net, MAPS, net[0])[0], [[0.5, 0], [0, 1]])
    assert close(grad_cam(net, MAPS, "0")[0], [[0.5, 0], [0, 1]])


def test_inplace_relu_after_the_target_layer_does_not_change_its_activations():
    # features.9 is a BatchNorm followed by ReLU(inplace=True): the explained maps must be the
    # BatchNorm's output (negative values included), not what the ReLU turned them into.
    torch.manual_seed(1)
    model = GapNet(4, width=4).eval()
    images = torch.randn(2, 3, 16, 16)
    expected = model.features[:10](images)  # BatchNorm output, computed separately
    maps = cam_from_activations(model, images, expected, "features.9")
    assert torch.allclose(grad_cam(model, images, "features.9"), maps, atol=1e-5)


def cam_from_activations(model, images, a, layer):
    """Reference Grad-CAM computed with a plain backward pass through a hand-split network."""
    a = a.detach().requires_grad_(True)
    rest = model.features[10:]
    logits = model.fc(model.pool(rest(a.clone())).flatten(1))
    logits.gather(1, logits.argmax(1, keepdim=True)).sum().backward()
    raw = (a.grad.mean((2, 3), keepdim=True) * a).sum(1).clamp_min(0).detach()
    raw = nn.functional.interpolate(raw[:, None], size=images.shape[-2:], mode="bilinear")[:, 0]
    low, high = raw.amin((1, 2), keepdim=True), raw.amax((1, 2), keepdim=True)
    return (raw - low) / (high - low)


# --------------------------------------------------------------------------- model state
def hook_count(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               for m in model.modules())


@pytest.mark.parametrize("method", [cam, grad_cam, grad_cam_pp, hires_cam])
def test_model_is_left_as_it_was_found(method):
    model = GapNet(4, width=4).train()
    model.features[0].weight.requires_grad_(False)
    model.fc.weight.grad = torch.full_like(model.fc.weight, 7.0)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    method(model, torch.randn(2, 3, 16, 16), "features")
    assert model.training and all(m.training for m in model.modules())
    assert not model.features[0].weight.requires_grad and model.fc.weight.requires_grad
    assert torch.equal(model.fc.weight.grad, torch.full_like(model.fc.weight, 7.0))
    assert all(p.grad is None for n, p in model.named_parameters() if n != "fc.weight")
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())  # BN statistics too
    assert hook_count(model) == 0 and torch.is_grad_enabled()


def test_works_for_a_frozen_model_and_under_no_grad():
    model = GapNet(4, width=4).eval().requires_grad_(False)
    images = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        maps = grad_cam(model, images, "features")
        assert not torch.is_grad_enabled()
    assert torch.allclose(maps, cam(model, images, "features", relu=True), atol=1e-5)


def test_mixed_train_eval_flags_are_restored_module_by_module():
    model = GapNet(4, width=4).train()
    model.features[1].eval()
    grad_cam(model, torch.randn(1, 3, 16, 16), "features")
    assert not model.features[1].training and model.features[5].training


def test_no_hooks_left_after_an_exception_in_forward():
    model = GapNet(4, width=4)

    def explode(module, inputs, output):
        raise RuntimeError("boom")

    handle = model.fc.register_forward_hook(explode)
    for method in (cam, grad_cam, grad_cam_pp):
        with pytest.raises(RuntimeError, match="boom"):
            method(model, torch.randn(1, 3, 16, 16), "features")
    handle.remove()
    assert hook_count(model) == 0 and model.training and torch.is_grad_enabled()


def test_no_tensors_pile_up_over_a_thousand_calls():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(4, 2))
    images = torch.randn(2, 3, 8, 8)

    def live_tensors():
        gc.collect()
        return sum(issubclass(type(o), torch.Tensor) for o in gc.get_objects())

    for _ in range(10):
        grad_cam(model, images, "1")
    before = live_tensors()
    for _ in range(1000):
        grad_cam(model, images, "1")
    assert live_tensors() <= before
    assert hook_count(model) == 0


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("method", [cam, grad_cam, grad_cam_pp, hires_cam])
def test_images_must_be_a_float_batch(method):
    model = GapNet(4, width=4)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\) batch, got shape \(3, 16, 16\); add a batch"):
        method(model, torch.randn(3, 16, 16), "features")
    with pytest.raises(ValueError, match="floating-point"):
        method(model, torch.zeros(1, 3, 16, 16, dtype=torch.uint8), "features")


@pytest.mark.parametrize("method", [cam, grad_cam, grad_cam_pp, hires_cam])
def test_unknown_target_layer_suggests_close_names(method):
    with pytest.raises(ValueError, match=r"target_layer 'feature' is not a layer of GapNet; did you mean 'features'"):
        method(GapNet(4, width=4), torch.randn(1, 3, 16, 16), "feature")


def test_target_layer_without_feature_maps_lists_layers_that_have_them():
    with pytest.raises(ValueError, match=r"target_layer 'fc' outputs a tensor of shape \(1, 4\).*"
                                         r"4-D outputs: features\.0, features\.1, "):
        grad_cam(GapNet(4, width=4), torch.randn(1, 3, 16, 16), "fc")


@pytest.mark.parametrize(("classes", "message"), [
    ([0, 1, 2], "classes has 3 entries but images has 2"),
    ([0, 4], r"classes must lie in 0\.\.3"),
    (-1, r"classes must lie in 0\.\.3"),
    ([0.5, 1.0], "int class indices"),
    (True, "classes must be None, an int"),
])
def test_wrong_classes_are_explained(classes, message):
    with pytest.raises(ValueError, match=message):
        grad_cam(GapNet(4, width=4), torch.randn(2, 3, 16, 16), "features", classes=classes)


def test_cam_on_a_model_without_gap_suggests_grad_cam():
    with pytest.raises(ValueError, match=r"global average pooling.*use grad_cam"):
        cam(flat_net(), MAPS, "0")
    relu_after_fc = nn.Sequential(*gap_net(), nn.ReLU())
    with pytest.raises(ValueError, match=r"is not '3' applied to the global average.*use grad_cam"):
        cam(relu_after_fc, MAPS, "0")


def test_scores_that_ignore_the_target_layer_are_explained():
    class Detached(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 2, 1)
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            self.conv(x)
            return self.fc(x.mean((2, 3)))

    with pytest.raises(ValueError, match="do not depend on the output of target_layer 'conv'"):
        grad_cam(Detached(), torch.randn(1, 3, 4, 4), "conv")


# --------------------------------------------------------------------------- overlay and scores
# --------------------------------------------------------------------------- target functions
def test_a_target_function_of_one_class_score_equals_that_class():
    images = torch.cat([MAPS, MAPS.flip(-1)])
    for method in (grad_cam, grad_cam_pp):
        assert torch.equal(method(flat_net(), images, "0", classes=lambda y: y[:, 1]),
                           method(flat_net(), images, "0", classes=1))


def test_a_contrast_target_explains_the_difference_of_two_classes():
    # flat_net's alphas: class 0 (1, 0.5), class 1 (-1, 0); the contrast y0 - y1 has alpha (2, 0.5):
    # 2*A0 + 0.5*A1 = [[2, 1.5], [0.5, 4]] -> (x - 0.5) / 3.5
    maps = grad_cam(flat_net(), MAPS, "0", classes=lambda y: y[:, 0] - y[:, 1])
    assert close(maps[0], [[3 / 7, 2 / 7], [0, 1]])


def test_a_one_logit_binary_head_needs_the_negated_logit_for_its_class_0():
    # one logit z = y0 of flat_net: its class 1 (z > 0) is z, its class 0 is -z; "classes=0" would explain z
    # for both, the same map twice
    head = nn.Sequential(flat_net(), nn.Linear(2, 1, bias=False))
    with torch.no_grad():
        head[1].weight.copy_(torch.tensor([[1.0, 0.0]]))
    positive = grad_cam(head, MAPS, "0.0", classes=lambda z: z[:, 0])
    negative = grad_cam(head, MAPS, "0.0", classes=lambda z: -z[:, 0])
    assert torch.equal(grad_cam(head, MAPS, "0.0", classes=0), positive)
    assert close(positive[0], [[1 / 3, 2 / 3], [0, 1]])  # as class 0 of flat_net
    assert torch.equal(negative[0], torch.zeros(2, 2))  # alpha (-1, -0.5): no positive evidence for "not z"


def test_target_functions_reach_outputs_that_are_not_class_scores():
    regression = nn.Sequential(flat_net(), nn.Linear(2, 1), nn.Flatten(0))  # (B,) outputs
    with pytest.raises(ValueError, match=r"class scores of shape .*pass classes=a function of it"):
        grad_cam(regression, MAPS, "0.0")
    assert grad_cam(regression, MAPS, "0.0", classes=lambda y: y).shape == (1, 2, 2)
    segmenter = nn.Conv2d(2, 3, 1)  # (B, 3, 2, 2) per-pixel class scores; explain class 1 inside a mask
    region = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    maps = grad_cam_pp(segmenter, MAPS, segmenter, classes=lambda y: (y[:, 1] * region).sum((1, 2)))
    assert maps.shape == (1, 2, 2) and bool(torch.isfinite(maps).all())


@pytest.mark.parametrize(("target", "message"), [
    (lambda y: 1.0, "one float score per image, a \\(1,\\) tensor .*got a float"),
    (lambda y: y, "one float score per image, a \\(1,\\) tensor .*got a tensor of shape \\(1, 2\\)"),
    (lambda y: y[:, 0].long(), "one float score per image"),
    (lambda y: y[:, 5], "classes \\(a target function\\) raised IndexError"),
    (lambda y: y[:, 0] * float("nan"), "NaN or infinite"),
    (lambda y: torch.ones(1), "do not depend on the output of target_layer"),
])
def test_bad_target_functions_are_explained(target, message):
    with pytest.raises(ValueError, match=message):
        grad_cam(flat_net(), MAPS, "0", classes=target)


def test_cam_refuses_a_target_function_and_names_grad_cam():
    with pytest.raises(ValueError, match=r"class indices; for a target function .* use grad_cam"):
        cam(gap_net(), MAPS, "0", classes=lambda y: y[:, 0])


def test_overlay_blends_a_colormap_over_the_image():
    image = torch.zeros(3, 4, 4)
    heat = torch.ones(2, 2)
    out = overlay(image, heat, alpha=0.5, cmap="gray")
    assert out.shape == (4, 4, 3) and out.dtype == np.float32
    assert np.allclose(out, 0.5)  # half of black + half of white
    pil_like = (np.ones((4, 4, 3)) * 255).astype(np.uint8)
    assert np.allclose(overlay(pil_like, torch.zeros(4, 4), alpha=0.0), 1.0)


def test_overlay_rejects_bad_arguments():
    with pytest.raises(ValueError, match="alpha must be a number in"):
        overlay(torch.zeros(3, 4, 4), torch.zeros(4, 4), alpha=2)
    with pytest.raises(ValueError, match="cmap must be a matplotlib colormap"):
        overlay(torch.zeros(3, 4, 4), torch.zeros(4, 4), cmap="no-such-map")
    with pytest.raises(ValueError, match=r"heatmap must be \(H, W\)"):
        overlay(torch.zeros(3, 4, 4), torch.zeros(1, 4, 4))


def test_pointing_game_counts_peaks_inside_boxes():
    maps = torch.zeros(3, 4, 4)
    maps[0, 1, 2] = 1  # x=2, y=1: inside (1, 0, 3, 2)
    maps[1, 3, 3] = 1  # x=3, y=3: outside (0, 0, 3, 3), x1/y1 are exclusive
    boxes = torch.tensor([[1, 0, 3, 2], [0, 0, 3, 3], [0, 0, 4, 4]])
    # the third map is all zero: it points nowhere, a miss even though its box is the image
    assert pointing_game(maps, boxes) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match=r"boxes must be a \(3, 4\) tensor"):
        pointing_game(maps, boxes[:2])


def test_mask_score_is_the_share_of_mass_on_the_object():
    maps = torch.tensor([[[1.0, 1.0], [2.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    masks = torch.tensor([[[True, False], [True, False]], [[True, True], [True, True]]])
    assert mask_score(maps, masks) == pytest.approx((3 / 4 + 0) / 2)  # a zero map scores 0
    uniform = torch.ones(1, 4, 4)
    half = torch.zeros(1, 4, 4, dtype=torch.bool)
    half[:, :2] = True
    assert mask_score(uniform, half) == pytest.approx(0.5)  # uniform map = object's share
    with pytest.raises(ValueError, match="non-negative"):
        mask_score(-uniform, half)


@pytest.mark.parametrize("score", [pointing_game, mask_score])
def test_scores_refuse_nan_or_inf_maps_and_an_empty_batch(score):
    maps = torch.rand(3, 4, 4)
    other = torch.tensor([[0, 0, 4, 4]] * 3) if score is pointing_game else torch.ones(3, 4, 4, dtype=torch.bool)
    for bad in (float("nan"), float("inf")):
        broken = maps.clone()
        broken[1, 2, 2] = bad
        with pytest.raises(ValueError, match=r"1 of 3 maps contain NaN or inf \(first: map 1\)"):
            score(broken, other)
    with pytest.raises(ValueError, match="no maps"):
        score(maps[:0], other[:0])


def test_pointing_game_refuses_fraction_boxes_and_boxes_off_the_map():
    maps = torch.zeros(2, 8, 8)
    maps[:, 4, 4] = 1
    with pytest.raises(ValueError, match=r"integer pixel coordinates.*fractions of the image"):
        pointing_game(maps, torch.tensor([[0.25, 0.25, 0.75, 0.75]] * 2))
    with pytest.raises(ValueError, match=r"box 1 is \[5, 0, 3, 8\]: expected 0 <= x0 < x1 <= 8"):
        pointing_game(maps, torch.tensor([[0, 0, 8, 8], [5, 0, 3, 8]]))  # swapped corners
    with pytest.raises(ValueError, match=r"box 0 is \[0, 0, 9, 8\]"):
        pointing_game(maps, torch.tensor([[0, 0, 9, 8], [0, 0, 8, 8]]))  # outside the map
    assert pointing_game(maps, torch.tensor([[4, 4, 5, 5], [0, 0, 4, 4]])) == 0.5


def test_mask_score_refuses_0_255_masks_and_masks_without_an_object():
    maps = torch.ones(2, 4, 4)
    png = torch.zeros(2, 4, 4, dtype=torch.uint8)
    png[:, :2] = 255
    with pytest.raises(ValueError, match="values 0, 255; a mask loaded from a PNG is 0/255: pass masks > 0"):
        mask_score(maps, png)
    assert mask_score(maps, png > 0) == pytest.approx(0.5)
    assert mask_score(maps, (png > 0).long()) == pytest.approx(0.5)  # 0/1 integers are fine
    with pytest.raises(ValueError, match="values 0, 2"):
        mask_score(maps, (png > 0).long() * 2)
    empty = png > 0
    empty[1] = False
    with pytest.raises(ValueError, match=r"1 masks have no object pixel \(first: mask 1\)"):
        mask_score(maps, empty)


def test_a_numpy_integer_class_is_one_class_for_every_image():
    maps = grad_cam(flat_net(), OPPOSITES, "0", classes=np.int64(1))
    assert close(maps[0], ZEROS) and close(maps[1], MAP_CLASS_1)


@pytest.mark.parametrize("method", [cam, grad_cam, grad_cam_pp, hires_cam])
def test_an_image_with_a_nan_pixel_is_refused_not_explained_by_zeros(method):
    torch.manual_seed(0)
    model = GapNet(4, width=4)
    images = torch.randn(3, 3, 16, 16)
    images[2, 1, 5, 5] = float("nan")
    with pytest.raises(ValueError, match=r"1 of 3 images contain NaN or inf \(first: image 2\)"):
        method(model, images, "features")


def test_a_target_layer_that_runs_twice_is_refused():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = nn.Conv2d(3, 3, 3, padding=1)
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            x = self.block(torch.relu(self.block(x)))  # the same module, used twice
            return self.fc(x.mean((2, 3)))

    with pytest.raises(ValueError, match="target_layer 'block' runs more than once"):
        grad_cam(Twice(), torch.randn(2, 3, 8, 8), "block")


def test_overlay_refuses_images_and_maps_it_would_draw_wrongly():
    import numpy as np

    heat = torch.rand(4, 4)
    photo = np.random.default_rng(0).integers(0, 256, (4, 4, 3))
    assert overlay(photo.astype(np.uint8), heat).shape == (4, 4, 3)  # uint8 0..255 is fine
    with pytest.raises(ValueError, match=r"looks like 0..255: pass image / 255"):
        overlay(photo.astype(np.float64), heat)
    with pytest.raises(ValueError, match=r"looks like 0..255"):
        overlay(photo.astype(np.int64), heat)
    with pytest.raises(ValueError, match=r"looks normalised .*denormalize"):
        overlay(torch.randn(3, 4, 4), heat)
    nan_heat = heat.clone()
    nan_heat[0, 0] = float("nan")
    with pytest.raises(ValueError, match="heatmap contains NaN"):
        overlay(torch.rand(3, 4, 4), nan_heat)
    with pytest.raises(ValueError, match=r"heatmap values must lie in \[0, 1\]"):
        overlay(torch.rand(3, 4, 4), heat * 5)
    assert overlay(torch.rand(3, 4, 4) + 1e-5, heat).max() <= 1  # float error from denormalising is clipped


def test_grad_cam_under_inference_mode_says_why_it_cannot_work():
    torch.manual_seed(0)
    model = GapNet(4, width=4)
    images = torch.randn(2, 3, 16, 16)
    with torch.no_grad():  # fine: grad_cam turns gradients on where it needs them
        assert grad_cam(model, images, "features").shape == (2, 16, 16)
    with torch.inference_mode():
        with pytest.raises(RuntimeError, match=r"torch.inference_mode\(\) forbids them"):
            grad_cam(model, images, "features")
        assert cam(model, images, "features").shape == (2, 16, 16)  # CAM needs no gradient


# --------------------------------------------------------------------------- one pipeline
@pytest.mark.parametrize("method", [cam, grad_cam, grad_cam_pp, hires_cam])
def test_the_target_layer_is_looked_up_once_per_call(method, monkeypatch):
    import camp_utils.cam as cam_module

    real, looked_up = cam_module.find_layer, []

    def counting(model, layer, **kwargs):
        looked_up.append(layer)
        return real(model, layer, **kwargs)

    monkeypatch.setattr(cam_module, "find_layer", counting)
    method(GapNet(4, width=4), torch.randn(2, 3, 16, 16), "features")
    assert looked_up == ["features"]


def test_a_layer_listing_that_fails_still_explains_the_target_layer_and_leaves_no_hook():
    class OneImageFails(nn.Module):
        """A (B, 4, 4, 4) map, then a layer whose output is 2-D, and code that breaks for a batch of one."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.flat = nn.Flatten()

        def forward(self, x):
            y = self.flat(self.pool(self.conv(x)))
            if len(x) == 1:  # as BatchNorm1d in training mode: "Expected more than 1 value per channel"
                raise ValueError("this model needs a batch of more than one image")
            return y

    model = OneImageFails()
    with pytest.raises(ValueError, match=r"target_layer 'flat' outputs a tensor of shape \(2, 4\).*"
                                         r"4-D outputs: conv, pool$"):
        grad_cam(model, torch.randn(2, 3, 4, 4), "flat")
    assert all(not m._forward_hooks for m in model.modules())


def test_an_unexpected_error_while_listing_layers_is_not_swallowed():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.flat = nn.Flatten()
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            if self.calls > 1:  # the listing's pass: a bug in the model, not a bad input
                raise KeyError("bug")
            return self.flat(self.conv(x))

    model = Broken()
    with pytest.raises(KeyError, match="bug"):
        grad_cam(model, torch.randn(1, 3, 4, 4), "flat")
    assert all(not m._forward_hooks for m in model.modules())


# ---- faithfulness: deletion and insertion curves -------------------------------------------------------------

class _TopLeft(torch.nn.Module):
    """Class 0's logit is 4x the mean of the top-left quarter of channel 0; class 1's is 0."""

    def forward(self, x):
        evidence = 4 * x[:, 0, :4, :4].mean((1, 2))
        return torch.stack([evidence, torch.zeros_like(evidence)], 1)


def _bright_top_left(n=6):
    images = torch.zeros(n, 1, 8, 8)
    images[:, :, :4, :4] = 1.0
    return images


def test_a_map_on_the_evidence_deletes_and_inserts_faster_than_one_elsewhere():
    from camp_utils.cam import faithfulness
    images, classes = _bright_top_left(), torch.zeros(6, dtype=torch.long)
    on = torch.zeros(6, 8, 8)
    on[:, :4, :4] = 1.0
    elsewhere = torch.zeros(6, 8, 8)
    elsewhere[:, 4:, 4:] = 1.0
    good = faithfulness(_TopLeft(), images, on, classes, steps=4, baseline="zeros")
    bad = faithfulness(_TopLeft(), images, elsewhere, classes, steps=4, baseline="zeros")
    assert good.fractions == [0, 0.25, 0.5, 0.75, 1.0]
    assert good.deletion[0] == bad.deletion[0] == pytest.approx(torch.tensor([4.0, 0.0]).softmax(0)[0].item())
    assert good.deletion[1] == pytest.approx(0.5)   # the whole quarter replaced by 0: both logits 0
    assert good.deletion_auc < bad.deletion_auc and good.insertion_auc > bad.insertion_auc
    assert good.empty_maps == 0


def test_maps_that_rank_nothing_are_left_out_and_counted():
    from camp_utils.cam import faithfulness
    images, classes = _bright_top_left(), torch.zeros(6, dtype=torch.long)
    maps = torch.zeros(6, 8, 8)
    maps[:4, :4, :4] = 1.0   # two maps all zeros
    assert faithfulness(_TopLeft(), images, maps, classes, steps=2, baseline="zeros").empty_maps == 2
    with pytest.raises(ValueError, match="no map ranks any pixel"):
        faithfulness(_TopLeft(), images, torch.zeros(6, 8, 8), classes)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"heatmaps": torch.rand(5, 8, 8)}, "heatmaps holds 5 maps for 6 images"),
    ({"classes": torch.zeros(6)}, r"classes must be a \(6,\) tensor of class indices"),
    ({"classes": torch.full((6,), 2)}, r"classes must lie in 0\.\.1"),
    ({"steps": 1}, "steps"),
    ({"baseline": "grey"}, "baseline"),
])
def test_bad_faithfulness_arguments_are_named(kwargs, message):
    from camp_utils.cam import faithfulness
    args = {"heatmaps": torch.rand(6, 8, 8), "classes": torch.zeros(6, dtype=torch.long)} | kwargs
    rest = {k: v for k, v in args.items() if k in ("steps", "baseline")}
    with pytest.raises(ValueError, match=message):
        faithfulness(_TopLeft(), _bright_top_left(), args["heatmaps"], args["classes"], **rest)


def test_maps_of_another_size_are_resized_to_the_images():
    from camp_utils.cam import faithfulness
    small = torch.zeros(6, 2, 2)
    small[:, 0, 0] = 1.0   # the top-left quarter, at a quarter of the resolution
    result = faithfulness(_TopLeft(), _bright_top_left(), small, torch.zeros(6, dtype=torch.long), steps=4,
                          baseline="zeros")
    assert result.deletion[1] == pytest.approx(0.5)


# =========================================================================== Grad-CAM on a Vision Transformer's tokens
# tokens_to_grid, reshape= and TinyViT (issue 30, #2).


class ToTokens(nn.Module):
    """(B, D, h, w) maps -> (B, 1 + h*w, D) tokens, a zero class token in front (row-major patches)."""

    def forward(self, x):
        patches = x.flatten(2).transpose(1, 2)
        return torch.cat([torch.zeros_like(patches[:, :1]), patches], 1)


class MeanOfPatches(nn.Module):
    """The patch tokens' mean (the class token left out): a transformer's 'global average pooling'."""

    def forward(self, tokens):
        return tokens[:, 1:].mean(1)


class ClassTokenOnly(nn.Module):
    """Reads the class token only, as a ViT's head does after its last block."""

    def forward(self, tokens):
        return tokens[:, 0] + tokens[:, 0].square()


def token_net(reader):
    fc = gap_net()[3]  # the same linear layer as test_cam's GAP network
    return nn.Sequential(ToTokens(), nn.Identity(), reader, fc)


# --------------------------------------------------------------------------- tokens_to_grid
def test_tokens_to_grid_drops_the_class_token_and_folds_the_patches_row_by_row():
    tokens = torch.arange(1, 11.0).reshape(1, 5, 2)  # class token (1, 2), then patches (3, 4) ... (9, 10)
    grid = tokens_to_grid(tokens)
    assert grid.shape == (1, 2, 2, 2)
    assert torch.equal(grid[0, 0], torch.tensor([[3.0, 5], [7, 9]]))
    assert torch.equal(grid[0, 1], torch.tensor([[4.0, 6], [8, 10]]))
    assert torch.equal(tokens_to_grid(tokens[:, 1:], class_tokens=0), grid)
    # DeiT: class and distillation tokens in front
    assert torch.equal(tokens_to_grid(torch.cat([tokens[:, :1], tokens], 1), class_tokens=2), grid)
    # a non-square image: 2 x 3 patches, row-major
    wide = torch.arange(7.0).reshape(1, 7, 1)
    assert torch.equal(tokens_to_grid(wide, grid=(2, 3))[0, 0], torch.tensor([[1.0, 2, 3], [4, 5, 6]]))


def test_the_side_is_inferred_not_hard_coded():
    for side in (7, 8, 14):  # 224 px with 32 px or 16 px patches; our 32 px images with a 4x stem
        assert tokens_to_grid(torch.zeros(2, 1 + side * side, 3)).shape == (2, 3, side, side)


@pytest.mark.parametrize(("tokens", "kwargs", "message"), [
    (torch.zeros(2, 64, 8), {}, r"tokens of shape \(2, 64, 8\): after 1 class token\(s\), 63 patch tokens do not "
                                r"form a square grid; pass grid=\(h, w\).*class_tokens="),
    (torch.zeros(2, 65, 8), {"class_tokens": 0}, r"65 patch tokens do not form a square grid"),
    (torch.zeros(2, 8, 4, 4), {}, r"tokens must be a \(B, N, D\) tensor .*got a tensor of shape \(2, 8, 4, 4\) "
                                  r"\(already maps: no reshape needed\)"),
    (torch.zeros(2, 65), {}, r"tokens must be a \(B, N, D\) tensor .*shape \(2, 65\)"),
    ([[1.0]], {}, r"tokens must be a \(B, N, D\) tensor .*got a list"),
    (torch.zeros(2, 1, 8), {}, r"no patch tokens after 1 class token"),
    (torch.zeros(2, 7, 8), {"grid": (2, 2)}, r"6 patch tokens do not fill grid=2x2 \(4 patches\)"),
    (torch.zeros(2, 7, 8), {"grid": (2, 3.0)}, r"grid must be \(h, w\), two positive ints, got \(2, 3.0\)"),
    (torch.zeros(2, 7, 8), {"grid": 6}, r"grid must be \(h, w\)"),
    (torch.zeros(2, 7, 8), {"class_tokens": -1}, r"class_tokens must be"),
])
def test_tokens_that_do_not_form_the_grid_are_named(tokens, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tokens_to_grid(tokens, **kwargs)


# --------------------------------------------------------------------------- grad_cam(..., reshape=)
@pytest.mark.parametrize("method", [grad_cam, grad_cam_pp])
def test_grad_cam_of_tokens_equals_grad_cam_of_the_same_maps(method):
    # The same numbers as test_cam's GAP network, carried as tokens: the maps must be identical.
    expected = method(gap_net(), torch.cat([MAPS, 2 * MAPS.flip(-1)]), "0", classes=[0, 1])
    maps = method(token_net(MeanOfPatches()), torch.cat([MAPS, 2 * MAPS.flip(-1)]), "1", classes=[0, 1],
                  reshape=tokens_to_grid)
    assert close(maps, expected) and maps.abs().sum() > 0


def test_grad_cam_of_tokens_by_hand():
    # class 0: d y0 / d token = w0 / 4 for every patch -> alpha = (2, -1) / 4; 2*A0 - A1 = [[2, -3], [-1, 4]],
    # ReLU -> [[2, 0], [0, 4]] / 4
    maps = grad_cam(token_net(MeanOfPatches()), MAPS, "1", reshape=tokens_to_grid)
    assert close(maps[0], [[0.5, 0], [0, 1]])


def test_tokens_that_reach_the_score_through_nothing_give_all_zero_maps():
    # The head reads the class token only: every patch token's gradient is exactly zero, so the map is
    # zero everywhere -- the pitfall of explaining a ViT's last block.
    maps = grad_cam(token_net(ClassTokenOnly()), torch.randn(3, 2, 2, 2), "1", reshape=tokens_to_grid)
    assert torch.equal(maps, torch.zeros(3, 2, 2))


def test_a_token_layer_without_reshape_points_to_tokens_to_grid():
    with pytest.raises(ValueError, match=r"target_layer '1' outputs a tensor of shape \(1, 5, 2\); CAM methods "
                                         r"need a \(B, K, h, w\) feature map; .*reshape=tokens_to_grid"):
        grad_cam(token_net(MeanOfPatches()), MAPS, "1")


def test_a_reshape_that_fails_is_named_with_the_layer():
    with pytest.raises(ValueError, match=r"reshape could not turn the output of target_layer '1' into maps: "
                                         r"ValueError: tokens of shape \(1, 5, 2\): after 2 class token"):
        grad_cam(token_net(MeanOfPatches()), MAPS, "1", reshape=functools.partial(tokens_to_grid, class_tokens=2))
    with pytest.raises(ValueError, match=r"outputs a tensor of shape \(1, 5, 2\), which reshape turns into a "
                                         r"tensor of shape \(1, 10\)"):
        grad_cam(token_net(MeanOfPatches()), MAPS, "1", reshape=lambda t: t.flatten(1))
    with pytest.raises(ValueError, match="reshape must be a function"):
        grad_cam(token_net(MeanOfPatches()), MAPS, "1", reshape="tokens_to_grid")


# --------------------------------------------------------------------------- TinyViT
def test_tiny_vit_shapes_and_its_layers_for_grad_cam():
    torch.manual_seed(0)
    model = TinyViT(4, 16).eval()
    images = torch.randn(3, 3, 16, 16)
    assert model(images).shape == (3, 4)
    assert model.tokens(images).shape == (3, 1 + 16, 32)  # a 4x4 grid of patches and the class token
    for method in (grad_cam, grad_cam_pp):
        maps = method(model, images, "blocks.2.norm1", reshape=tokens_to_grid)
        assert maps.shape == (3, 16, 16) and maps.min() >= 0 and maps.max() <= 1
        assert maps.amax() == 1  # random weights: some maps are all zeros (ReLU of negative evidence), not all
        # the last block's patch tokens do not reach the head: nothing to explain there
        assert torch.equal(method(model, images, "blocks.2", reshape=tokens_to_grid), torch.zeros(3, 16, 16))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"image_size": 30}, "image_size must be a multiple of 4"),
    ({"dim": 30, "heads": 4}, r"dim must be a multiple of heads .*dim=30, heads=4"),
    ({"depth": 0}, "depth must be"),
    ({"classes": 1}, "classes must be an int >= 2"),
])
def test_tiny_vit_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TinyViT(**{"classes": 4, **kwargs})


def test_tiny_vit_names_the_input_it_expects():
    with pytest.raises(ValueError, match=r"TinyViT\(image_size=32\) expects inputs of shape \(B, 3, 32, 32\), "
                                         r"got \(1, 3, 64, 64\)"):
        TinyViT(4)(torch.zeros(1, 3, 64, 64))


# --------------------------------------------------------------------------- trained_vit's cache
@pytest.fixture
def tiny_vit_recipe(monkeypatch):
    dataset = dict(weights.VIT_RECIPE["dataset"], train=128, valid=64, test=64)
    monkeypatch.setitem(weights.VIT_RECIPE, "dataset", dataset)
    monkeypatch.setitem(weights.VIT_RECIPE, "epochs", 1)


def test_trained_vit_trains_once_then_loads_its_own_cache(tmp_path, tiny_vit_recipe, monkeypatch):
    first, info = weights.trained_vit(cache_dir=tmp_path)
    assert info["source"] == "trained" and (tmp_path / "vit_shapes.pt").is_file()
    second, info2 = weights.trained_vit(cache_dir=tmp_path)
    assert info2["source"] == "cache" and isinstance(second, TinyViT) and not second.training
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
    # a GapNet cache in the same folder is another file; a ViT recipe change retrains the ViT only
    monkeypatch.setitem(weights.VIT_RECIPE, "batch_size", 32)
    with pytest.warns(UserWarning, match=r"vit_shapes.pt': it was made by another recipe"):
        assert weights.trained_vit(cache_dir=tmp_path)[1]["source"] == "trained"


def test_a_gapnet_file_in_the_vit_cache_is_named(tmp_path, tiny_vit_recipe):
    weights.trained_vit(cache_dir=tmp_path)
    saved = torch.load(tmp_path / "vit_shapes.pt", weights_only=True)
    saved["state_dict"].pop("head.bias")
    torch.save(saved, tmp_path / "vit_shapes.pt")
    with pytest.warns(UserWarning, match="its tensors do not fit TinyViT"):
        assert weights.trained_vit(cache_dir=tmp_path)[1]["source"] == "trained"
    (tmp_path / "vit_shapes.pt").write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="vit_shapes.pt': it cannot be read"):
        weights.trained_vit(cache_dir=tmp_path)


def test_real_trained_vit_reaches_90_percent():
    """The ViT lesson 23 explains, from the cache it uses (trained there on a clean clone, half a minute)."""
    model, info = weights.trained_vit()
    assert info["test_accuracy"] >= 0.9
    assert isinstance(model, TinyViT) and not model.training


# =========================================================================== HiResCAM (issue 30, #1: a mask region)
class PerPosition(nn.Module):
    """The linear layer of test_cam's GAP network applied at every position: (B, 2, h, w) class maps."""

    def __init__(self):
        super().__init__()
        self.fc = gap_net()[3]

    def forward(self, x):
        return torch.einsum("bkhw,ck->bchw", x, self.fc.weight) + self.fc.bias[:, None, None]


def test_hires_cam_by_hand_on_a_network_without_gap():
    # class 0 of flat_net: g = the weights at each position, [[1, 1], [1, 1]] on A0 and [[1, 0], [0, 1]] on A1;
    # sum g * A = A0 + [[1, 0], [0, 1]] * A1 = [[1, 0], [0, 2]] -> [[0.5, 0], [0, 1]]
    maps = hires_cam(flat_net(), MAPS, "0", classes=[0])
    assert close(maps[0], [[0.5, 0], [0, 1]])


@pytest.mark.parametrize("classes", [None, [1]])
def test_hires_cam_equals_grad_cam_on_a_gap_network(classes):
    images = torch.cat([MAPS, MAPS.flip(-1) * 2])
    assert close(hires_cam(gap_net(), images, "0", classes=classes * 2 if classes else None),
                 grad_cam(gap_net(), images, "0", classes=classes * 2 if classes else None))


def test_a_region_target_keeps_its_region_with_hires_cam_and_loses_it_with_grad_cam():
    # Two identical halves: the score of class 0 summed over the right column only. Grad-CAM averages the
    # gradient over the positions, so the right column's target gives the left column's map; HiResCAM does not.
    images = torch.cat([MAPS, MAPS], 3)   # (1, 2, 2, 4): the same 2x2 maps twice
    right = torch.zeros(2, 4)
    right[:, 2:] = 1

    def right_half(y):
        return (y[:, 0] * right).sum((1, 2))

    def left_half(y):
        return (y[:, 0] * (1 - right)).sum((1, 2))

    net = nn.Sequential(nn.Identity(), PerPosition())   # the identity is the target layer: its output is the maps
    assert torch.equal(grad_cam(net, images, "0", classes=right_half), grad_cam(net, images, "0", classes=left_half))
    hires = hires_cam(net, images, "0", classes=right_half)
    assert torch.equal(hires[0, :, :2], torch.zeros(2, 2)) and hires[0, :, 2:].max() == 1
    # per position: 2*A0 - A1 = [[2, -3], [-1, 4]] on the right half, ReLU, scaled by 4
    assert close(hires[0, :, 2:], [[0.5, 0], [0, 1]])
