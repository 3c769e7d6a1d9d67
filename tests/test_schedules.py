"""camp_utils.schedules: traced lrs equal hand-computed values, lr_find only measures, errors name the argument."""
import math
import random

import pytest
import torch
from torch import nn
from torch.optim import lr_scheduler as S
from torch.utils.data import DataLoader, TensorDataset

from camp_utils.schedules import (
    EXPLORER_SCHEDULERS,
    LRFindResult,
    Trace,
    explorer,
    lr_find,
    plot_lr_find,
    plot_trace,
    trace,
)


def close(a, b, rel=1e-12):
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-15)


# --------------------------------------------------------------------------- the six course schedulers

def test_step_lr_divides_by_ten_every_fifty_epochs():
    t = trace(lambda opt: S.StepLR(opt, step_size=50, gamma=0.1), epochs=200, lr=0.1)
    assert len(t) == 200 and t.groups == 1
    assert t.at(0) == 0.1 and t.at(49) == 0.1
    assert close(t.at(50), 0.01) and close(t.at(99), 0.01)
    assert close(t.at(100), 0.001) and close(t.at(150), 1e-4)


def test_multistep_lr_drops_at_each_milestone():
    t = trace(lambda opt: S.MultiStepLR(opt, milestones=[50, 125, 160], gamma=0.1), epochs=200, lr=0.1)
    assert t.at(49) == 0.1
    assert close(t.at(50), 0.01) and close(t.at(124), 0.01)
    assert close(t.at(125), 0.001) and close(t.at(159), 0.001)
    assert close(t.at(160), 1e-4) and close(t.at(199), 1e-4)


def test_exponential_lr_is_lr0_times_gamma_to_the_epoch():
    t = trace(lambda opt: S.ExponentialLR(opt, gamma=0.95), epochs=100, lr=0.1)
    for epoch in (0, 1, 10, 50, 99):
        assert close(t.at(epoch), 0.1 * 0.95**epoch, rel=1e-10)


def test_cosine_annealing_reaches_eta_min_at_t_max_and_climbs_back():
    t = trace(lambda opt: S.CosineAnnealingLR(opt, T_max=50, eta_min=0.001), epochs=200, lr=0.1)
    assert t.at(0) == 0.1
    assert close(t.at(25), 0.001 + (0.1 - 0.001) / 2, rel=1e-9)
    assert abs(t.at(50) - 0.001) < 1e-12
    assert abs(t.at(100) - 0.1) < 1e-12  # the cosine goes on: back up after T_max
    assert abs(t.at(150) - 0.001) < 1e-12


def test_reduce_lr_on_plateau_drops_after_patience_bad_epochs_and_respects_min_lr():
    # improves for 5 epochs, then flat: epochs 5.. are "bad"; patience=3 -> the 4th bad epoch (index 8) cuts
    metrics = [1.0, 0.9, 0.8, 0.7, 0.6] + [0.6] * 25
    t = trace(lambda opt: S.ReduceLROnPlateau(opt, factor=0.1, patience=3, min_lr=1e-4), epochs=30,
              lr=0.1, metrics=metrics)
    lrs = t.group(0)
    assert lrs[:9] == [0.1] * 9  # lr during epochs 0..8; the step after epoch 8 cuts it
    assert close(lrs[9], 0.01)
    assert close(lrs[13], 0.001)  # 4 more bad epochs: 9, 10, 11, 12
    assert close(lrs[17], 1e-4) and close(lrs[29], 1e-4)  # min_lr holds
    assert t.interval == "epoch"


def test_lambda_lr_keeps_two_parameter_groups_apart():
    t = trace(lambda opt: S.LambdaLR(opt, [lambda e: 0.1 ** (e // 20), lambda e: 0.95**e]),
              epochs=60, lr=[0.1, 0.05])
    assert t.groups == 2
    assert t.at(19, group=0) == 0.1 and close(t.at(20, group=0), 0.01) and close(t.at(40, group=0), 0.001)
    for epoch in (0, 10, 59):
        assert close(t.at(epoch, group=1), 0.05 * 0.95**epoch, rel=1e-10)


def test_per_batch_stepping_gives_steps_per_epoch_rows_and_epoch_stepping_holds_them():
    per_batch = trace(lambda opt: S.StepLR(opt, 5), epochs=3, steps_per_epoch=4, lr=1.0)
    per_epoch = trace(lambda opt: S.StepLR(opt, 1), epochs=3, steps_per_epoch=4, lr=1.0, interval="epoch")
    assert len(per_batch) == len(per_epoch) == 12
    assert per_batch.group() == pytest.approx([1.0] * 5 + [0.1] * 5 + [0.01] * 2, rel=1e-12)
    assert per_epoch.group() == pytest.approx([1.0] * 4 + [0.1] * 4 + [0.01] * 4, rel=1e-12)
    assert per_epoch.epochs[:5] == [0, 0.25, 0.5, 0.75, 1.0]


def test_one_cycle_lr_peaks_at_max_lr_and_cycles_momentum_without_warnings(recwarn):
    t = trace(lambda opt: S.OneCycleLR(opt, max_lr=1.0, total_steps=100), epochs=10, steps_per_epoch=10)
    lrs = t.group()
    assert close(lrs[0], 1.0 / 25) and close(max(lrs), 1.0) and lrs.index(max(lrs)) == 29
    assert not [w for w in recwarn if "lr_scheduler" in str(w.message)]


def test_trace_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    trace(lambda opt: S.CyclicLR(opt, 0.01, 0.1, 5), epochs=4, steps_per_epoch=5)
    assert torch.equal(state, torch.get_rng_state())


# --------------------------------------------------------------------------- trace's errors

@pytest.mark.parametrize("kwargs, word", [
    ({"epochs": -1}, "epochs"),
    ({"epochs": 0}, "epochs"),
    ({"epochs": 2.5}, "epochs"),
    ({"epochs": 10, "steps_per_epoch": 0}, "steps_per_epoch"),
    ({"epochs": 10, "lr": -0.1}, "lr"),
    ({"epochs": 10, "lr": []}, "lr"),
    ({"epochs": 10, "interval": "iteration"}, "interval"),
    ({"epochs": 10, "metrics": [1.0] * 10}, "metrics"),
])
def test_bad_trace_arguments_raise_value_errors_naming_them(kwargs, word):
    with pytest.raises(ValueError, match=word):
        trace(lambda opt: S.StepLR(opt, 5), **kwargs)


@pytest.mark.parametrize("factory", [
    lambda: S.StepLR,                      # takes no optimizer
    lambda opt, step_size: None,           # wants two arguments
    S.StepLR,                              # the class: needs step_size too
    "StepLR",                              # not callable
])
def test_a_factory_that_does_not_take_an_optimizer_is_refused(factory):
    with pytest.raises(ValueError, match="make_scheduler"):
        trace(factory, 10)


def test_a_scheduler_object_instead_of_a_factory_is_refused():
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="make_scheduler"):
        trace(S.StepLR(opt, 5), 10)


def test_a_factory_that_builds_on_another_optimizer_is_refused():
    other = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="make_scheduler"):
        trace(lambda opt: S.StepLR(other, 5), 10)


def test_reduce_lr_on_plateau_needs_enough_metrics():
    with pytest.raises(ValueError, match="metrics is needed"):
        trace(lambda opt: S.ReduceLROnPlateau(opt), 10)
    with pytest.raises(ValueError, match="metrics is too short"):
        trace(lambda opt: S.ReduceLROnPlateau(opt), 10, metrics=[1.0] * 9)
    with pytest.raises(ValueError, match="interval"):
        trace(lambda opt: S.ReduceLROnPlateau(opt), 10, metrics=[1.0] * 10, interval="batch")


# --------------------------------------------------------------------------- plots and explorer

def test_plot_trace_draws_one_line_per_trace_and_group():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    two = trace(lambda opt: S.LambdaLR(opt, [lambda e: 1.0, lambda e: 0.5]), 5, lr=[0.1, 0.2])
    one = trace(lambda opt: S.StepLR(opt, 2), 5)
    ax = plot_trace({"two groups": two, "step": one}, log=True)
    assert len(ax.lines) == 3 and ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["two groups · group 0", "two groups · group 1",
                                                                   "step"]
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="traces"):
        plot_trace([])


def test_explorer_redraws_when_a_slider_moves_and_shows_stable_text():
    box = explorer("StepLR", epochs=100)
    controls = box.controls
    assert {"scheduler", "epochs", "steps_per_epoch", "lr", "log_y", "step_size", "gamma"} <= set(controls)
    before_png, before_text = box.image.value, box._repr_mimebundle_()[0]["text/plain"]
    controls["step_size"].value = 20
    after = box._repr_mimebundle_()[0]
    assert box.image.value != before_png and after["text/plain"] != before_text
    assert after["text/plain"].startswith("LR schedule explorer: StepLR(step_size=20, gamma=0.1)")
    assert "image/png" in after and "model_id" not in after["text/plain"]
    box.scheduler.value = "CosineAnnealingLR"
    assert "T_max" in box.controls and "step_size" not in box.controls


def test_every_explorer_scheduler_draws_with_its_defaults():
    box = explorer()
    for name in EXPLORER_SCHEDULERS:
        box.scheduler.value = name
        assert box._plain.startswith(f"LR schedule explorer: {name}("), box._plain


def test_explorer_rejects_an_unknown_scheduler():
    with pytest.raises(ValueError, match="scheduler"):
        explorer("NoSuchLR")


# --------------------------------------------------------------------------- lr_find

def _problem(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2))
    return model, DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)


def test_lr_find_restores_weights_buffers_grads_mode_optimizer_state_and_rng():
    model, loader = _problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = S.StepLR(optimizer, 3)  # adds initial_lr to the param groups
    # give the optimizer some momentum state and the parameters a gradient first
    nn.functional.cross_entropy(model(next(iter(loader))[0]), torch.zeros(32, dtype=torch.long)).backward()
    optimizer.step()
    scheduler.step()
    model.eval()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    grads = [p.grad.clone() for p in model.parameters()]
    opt_state = optimizer.state_dict()
    saved_state = {k: {n: t.clone() for n, t in v.items()} for k, v in opt_state["state"].items()}
    saved_groups = [dict(g) for g in opt_state["param_groups"]]
    random.seed(1)
    torch.manual_seed(123)
    rng = torch.get_rng_state()

    result = lr_find(model, optimizer, loader, start_lr=1e-4, end_lr=10, num_iter=30)

    assert torch.equal(rng, torch.get_rng_state())
    assert not model.training
    assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items())
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads))
    after = optimizer.state_dict()
    assert after["param_groups"] == saved_groups
    assert all(torch.equal(t, saved_state[k][n]) for k, v in after["state"].items() for n, t in v.items())
    assert optimizer.param_groups[0]["lr"] == 0.05 and scheduler.get_last_lr() == [0.05]
    assert len(result.lrs) >= 2


def test_lr_find_grows_the_lr_exponentially_and_suggests_a_tried_lr():
    model, loader = _problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    result = lr_find(model, optimizer, loader, start_lr=1e-3, end_lr=1e3, num_iter=40)
    assert isinstance(result, LRFindResult)
    assert result.lrs[0] == pytest.approx(1e-3)
    ratios = [b / a for a, b in zip(result.lrs, result.lrs[1:])]
    assert max(ratios) == pytest.approx(min(ratios)) and ratios[0] == pytest.approx(1e6 ** (1 / 39))
    assert result.suggestion in result.lrs and result.min_loss_lr in result.lrs
    assert result.lrs[0] <= result.suggestion <= result.lrs[-1]
    assert result.suggestion <= result.min_loss_lr
    assert result.diverged and len(result.lrs) < 40  # lr up to 1000 blows the loss up
    assert len(result.losses) == len(result.smoothed) == len(result.lrs)


def test_lr_find_is_reproducible_for_a_seed():
    model, loader = _problem()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    first = lr_find(model, optimizer, loader, num_iter=20, end_lr=1.0)
    second = lr_find(model, optimizer, loader, num_iter=20, end_lr=1.0)
    assert first.losses == second.losses


def test_lr_find_cycles_a_short_loader_and_plots():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model, loader = _problem(n=64)  # 2 batches
    result = lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, start_lr=1e-4, end_lr=1e-2,
                     num_iter=10)
    assert len(result.lrs) == 10 and not result.diverged
    ax = plot_lr_find(result)
    assert ax.get_xscale() == "log" and len(ax.lines) == 4
    plt.close(ax.figure)


@pytest.mark.parametrize("kwargs, word", [
    ({"start_lr": 0}, "start_lr"),
    ({"start_lr": 1.0, "end_lr": 0.5}, "end_lr"),
    ({"num_iter": 1}, "num_iter"),
    ({"smooth": 1.0}, "smooth"),
    ({"diverge": 1.0}, "diverge"),
    ({"skip_start": -1}, "skip_start"),
    ({"fall": 0}, "fall"),
    ({"fall": 1.5}, "fall"),
    ({"repeats": 0}, "repeats"),
    ({"repeats": 2.0}, "repeats"),
])
def test_bad_lr_find_arguments_raise_value_errors_naming_them(kwargs, word):
    model, loader = _problem(n=32)
    with pytest.raises(ValueError, match=word):
        lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, **kwargs)


def test_lr_find_refuses_an_empty_loader_and_leaves_the_model_alone():
    model, _ = _problem()
    empty = DataLoader(TensorDataset(torch.zeros(0, 8), torch.zeros(0, dtype=torch.long)), batch_size=4)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="loader"):
        lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), empty)
    with pytest.raises(ValueError, match="loader"):
        lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), iter([]))
    assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items())


def test_trace_is_plain_data():
    t = trace(lambda opt: S.ConstantLR(opt, 0.5, 2), 4)
    assert isinstance(t, Trace) and t.name == "ConstantLR"
    assert t.lrs == [[0.05], [0.05], [0.1], [0.1]]


def test_numpy_integers_are_counts_but_bools_are_not():
    import numpy as np

    t = trace(lambda opt: S.StepLR(opt, 2, 0.5), np.int64(4), steps_per_epoch=np.int32(1))
    assert len(t.lrs) == 4
    with pytest.raises(ValueError, match="epochs must be a positive int, got True"):
        trace(lambda opt: S.StepLR(opt, 2, 0.5), True)


def test_lr_find_suggests_where_two_thirds_of_the_fall_are_done():
    from camp_utils.schedules.lr_find import _fallen

    # start level 3 (mean of the first 2 points), lowest 0 at index 6: two thirds of the way is 1.0
    curve = [3.0, 3.0, 2.5, 1.5, 1.0, 0.5, 0.0, 2.0]
    assert _fallen(curve, 2 / 3, skip_start=2) == 4
    assert _fallen(curve, 0.5, skip_start=2) == 3   # 1.5
    assert _fallen(curve, 1.0, skip_start=2) == 6   # the minimum itself
    assert _fallen([1.0, 2.0, 3.0], 2 / 3, skip_start=2) == 0  # never falls: the first point


def test_lr_find_repeats_average_the_sweeps_and_report_each_suggestion():
    model, loader = _problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    one = lr_find(model, optimizer, loader, start_lr=1e-3, end_lr=10, num_iter=40)
    three = lr_find(model, optimizer, loader, start_lr=1e-3, end_lr=10, num_iter=40, repeats=3)
    assert len(one.runs) == 1 and one.losses == one.runs[0] and one.suggestions == [one.suggestion]
    assert len(three.runs) == 3 and len(three.suggestions) == 3
    assert three.runs[0] == one.runs[0]  # repeat 0 uses the seed itself, from the same start
    assert three.runs[1] != three.runs[0]  # other seeds: other batch orders
    steps = len(three.lrs)
    assert steps == min(len(r) for r in three.runs)
    for i in (0, steps // 2, steps - 1):
        assert three.losses[i] == pytest.approx(sum(r[i] for r in three.runs) / 3)
    assert all(s in three.lrs for s in three.suggestions) and three.steepest_lr in three.lrs
    again = lr_find(model, optimizer, loader, start_lr=1e-3, end_lr=10, num_iter=40, repeats=3)
    assert again.losses == three.losses and again.suggestion == three.suggestion


def test_lr_find_keeps_a_frozen_batchnorm_frozen_during_and_after_the_test():
    model, loader = _problem()
    model.train()
    model[1].eval()  # the learner froze the BatchNorm
    seen = []
    model[1].register_forward_hook(lambda m, args, out: seen.append(m.training))
    lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, num_iter=5, end_lr=1.0)
    assert seen and not any(seen)
    assert model.training and not model[1].training and model[3].training


def test_lr_find_puts_a_model_in_eval_mode_into_train_mode_and_back():
    model, loader = _problem()
    model.eval()
    seen = []
    model[3].register_forward_hook(lambda m, args, out: seen.append(m.training))
    lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, num_iter=5, end_lr=1.0)
    assert seen and all(seen)
    assert not any(m.training for m in model.modules())


def test_lr_find_refuses_an_optimizer_of_another_model():
    model, loader = _problem()
    other, _ = _problem(seed=1)
    optimizer = torch.optim.SGD(other.parameters(), lr=0.1)
    other_grads = [p.grad for p in other.parameters()]
    with pytest.raises(ValueError, match="optimizer holds none of model's parameters"):
        lr_find(model, optimizer, loader, num_iter=5)
    assert [p.grad for p in other.parameters()] == other_grads


def test_lr_find_blames_nan_data_instead_of_calling_it_a_blow_up():
    model, _ = _problem()
    x, y = torch.randn(256, 8), torch.randint(0, 2, (256,))
    x[5 * 32 + 3, 2] = float("nan")  # one pixel of batch 5
    loader = DataLoader(TensorDataset(x, y), batch_size=32)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(FloatingPointError, match="batch 5 .*inputs of that batch contain NaN or inf"):
        lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, num_iter=20, end_lr=1.0)
    assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items())


def test_lr_find_refuses_a_loss_that_is_nan_from_the_first_batch():
    model, loader = _problem()
    with pytest.raises(FloatingPointError, match="batch 0 .*smallest lr already"):
        lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, num_iter=10,
                loss_fn=lambda out, target: out.sum() * float("nan"))


def test_lr_find_restores_non_persistent_buffers_too():
    model, loader = _problem()
    model.register_buffer("calls", torch.zeros(()), persistent=False)
    model.register_forward_pre_hook(lambda m, args: m.calls.add_(1) and None)  # counts forward calls
    lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, num_iter=5, end_lr=1.0)
    assert model.calls.item() == 0


def test_lr_find_needs_a_positive_lr_in_the_first_of_several_groups():
    model, loader = _problem()
    optimizer = torch.optim.SGD([{"params": model[0].parameters(), "lr": 0.0},
                                 {"params": model[4].parameters(), "lr": 0.1}], lr=0.1)
    with pytest.raises(ValueError, match="first parameter group has lr 0"):
        lr_find(model, optimizer, loader, num_iter=5)


def test_lr_find_explains_a_loader_of_dicts():
    model, _ = _problem()
    batches = [{"image": torch.randn(8, 8), "label": torch.zeros(8, dtype=torch.long)}] * 3
    expected = r"loader must yield \(inputs, targets\) pairs, got a dict with keys \['image', 'label'\]"
    with pytest.raises(ValueError, match=expected):
        lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), batches, num_iter=3)


def test_trace_takes_numpy_and_tensor_lrs_and_refuses_strings():
    import numpy as np

    for lr in (np.float32(0.1), torch.tensor(0.1), [np.float32(0.1)]):
        assert trace(lambda opt: S.StepLR(opt, 2), 4, lr=lr).at(0) == pytest.approx(0.1)
    with pytest.raises(ValueError, match=r"lr must be a positive number or a sequence of them .*'0.1' \(str\)"):
        trace(lambda opt: S.StepLR(opt, 2), 4, lr="0.1")


def test_trace_refuses_nan_metrics_for_reduce_on_plateau():
    with pytest.raises(ValueError, match="metrics"):
        trace(lambda opt: S.ReduceLROnPlateau(opt), 3, metrics=[1.0, float("nan"), 0.5])


def test_trace_group_refuses_a_bool():
    t = trace(lambda opt: S.StepLR(opt, 2), 4, lr=[0.1, 0.2])
    assert t.group(1)[0] == pytest.approx(0.2)
    with pytest.raises(ValueError, match="g must be a parameter group index"):
        t.group(True)


def test_tracing_and_the_range_test_do_not_import_ipywidgets():
    import subprocess
    import sys

    code = ("import sys; from camp_utils.schedules import trace, lr_find, plot_trace; "
            "print('ipywidgets' in sys.modules); from camp_utils.schedules import explorer; "
            "print('ipywidgets' in sys.modules, callable(explorer))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "True"]


def test_the_explorer_catalogue_is_built_once_and_matches_the_menu():
    from camp_utils.schedules.explorer_widget import _explorer_catalogue

    assert _explorer_catalogue() is _explorer_catalogue()
    assert list(_explorer_catalogue()) == sorted(_explorer_catalogue(), key=EXPLORER_SCHEDULERS.index)
    assert set(_explorer_catalogue()) == set(EXPLORER_SCHEDULERS)


@pytest.mark.parametrize("kwargs, word", [({"epochs": 1000},
                                           "epochs must be an int from 1 to 400 .the explorer.s slider range"),
                                          ({"steps_per_epoch": 50}, "steps_per_epoch must be an int from 1 to 20"),
                                          ({"lr": 50.0}, r"lr must be a finite number in \[1e-05, 10\]")])
def test_the_explorer_refuses_values_its_sliders_would_clamp(kwargs, word):
    with pytest.raises(ValueError, match=word):
        explorer("StepLR", **kwargs)


def test_lr_find_explains_an_empty_batch():
    model, _ = _problem()
    batches = [(torch.randn(0, 8), torch.zeros(0, dtype=torch.long))] * 3
    with pytest.raises(ValueError, match="empty batch"):
        lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), batches, num_iter=3)


# fit after lr_find == fit alone, bit for bit: tests/test_lr_find.py (every option, host RNGs too)


def test_lr_find_can_sweep_linearly_as_smith_did():
    model, loader = _problem()
    result = lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, start_lr=0.01, end_lr=1.0,
                     num_iter=12, sweep="linear")
    steps = [b - a for a, b in zip(result.lrs, result.lrs[1:])]
    assert result.lrs[0] == pytest.approx(0.01) and max(steps) == pytest.approx(min(steps)) == pytest.approx(0.09)
    with pytest.raises(ValueError, match="sweep must be 'exponential'"):
        lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, sweep="log")


@pytest.mark.parametrize("text, found", [("abc", "'abc' is not one"), ("50, -5", "'-5' is not one"),
                                         ("5.5", "'5.5' is not one"), ("0, 10", "'0' is not one"),
                                         (" , ", "the text is empty")])
def test_the_explorer_says_which_milestone_text_it_cannot_read(text, found):
    box = explorer("MultiStepLR")
    box.controls["milestones"].value = text
    assert "Not a valid setting:" in box.text.value and found.replace("'", "&#x27;") in box.text.value


def test_the_explorer_reads_milestones_in_any_order_and_with_semicolons():
    box = explorer("MultiStepLR", epochs=100)
    box.controls["milestones"].value = "60; 20, 20"
    assert "lr from 0.001 to 0.1" in box.text.value  # two cuts by 0.1: both milestones were read


# ---- the explorer's catalogue: every control checked when it is made
@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "slider", "default": 1}, "kind must be one of int, float, log, choice, text"),
    ({"kind": "int", "default": 5, "low": 10, "high": 1}, "needs low < high"),
    ({"kind": "float", "default": 2.0, "low": 0.0, "high": 1.0}, r"default 2\.0 is not a number in \[0\.0, 1\.0\]"),
    ({"kind": "log", "default": 0.1, "low": 0.0, "high": 1.0}, "a log slider needs low > 0"),
    ({"kind": "int", "default": 2.5, "low": 1, "high": 5}, "an int slider needs whole numbers"),
    ({"kind": "choice", "default": "cos", "options": ("linear",)}, "is not one of the options"),
    ({"kind": "text", "default": 50}, "a text box needs a str default"),
    ({"kind": "float", "default": True, "low": 0.0, "high": 1.0}, "is not a number"),
])
def test_a_bad_explorer_control_fails_when_it_is_made(kwargs, message):
    from camp_utils.schedules.explorer_widget import Slider
    with pytest.raises(ValueError, match=message):
        Slider("x", **kwargs)


def test_every_catalogue_entry_builds_its_scheduler_from_its_defaults():
    from camp_utils.schedules.explorer_widget import (
        EXPLORER_SCHEDULERS,
        SLIDER_KINDS,
        _explore_trace,
        _explorer_catalogue,
    )
    catalogue = _explorer_catalogue()
    assert list(catalogue) == list(EXPLORER_SCHEDULERS)
    for name, (sliders, _) in catalogue.items():
        assert {s.kind for s in sliders} <= set(SLIDER_KINDS)
        assert len(_explore_trace(name, {}, epochs=20, steps_per_epoch=2, lr=0.1)) == 40, name
