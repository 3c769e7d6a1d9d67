"""camp_utils.schedules: traced lrs equal hand-computed values, the explorer, errors name the argument.

lr_find has its own file, test_lr_find.py.
"""
import math

import pytest
import torch
from torch import nn
from torch.optim import lr_scheduler as S

from camp_utils.schedules import (
    EXPLORER_SCHEDULERS,
    Trace,
    explorer,
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

@pytest.mark.parametrize(("kwargs", "word"), [
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


def test_the_explorer_catalogue_is_built_once():
    from camp_utils.schedules.explorer_widget import _explorer_catalogue

    assert _explorer_catalogue() is _explorer_catalogue()


def test_explorer_controls_without_a_default_take_the_schedulers_own():
    from camp_utils.schedules.explorer_widget import _explorer_catalogue

    defaults = {label: {c.name: c.default for c in controls} for label, (controls, _) in _explorer_catalogue().items()}
    # torch 2.x's defaults, written out: StepLR(gamma=0.1), OneCycleLR(pct_start=0.3, div_factor=25.0,
    # anneal_strategy="cos"), CyclicLR(mode="triangular"), ReduceLROnPlateau(factor=0.1, patience=10, cooldown=0)
    assert defaults["StepLR"]["gamma"] == 0.1 and defaults["MultiStepLR"]["gamma"] == 0.1
    assert (defaults["OneCycleLR"]["pct_start"], defaults["OneCycleLR"]["div_factor"],
            defaults["OneCycleLR"]["anneal_strategy"]) == (0.3, 25.0, "cos")
    assert defaults["CyclicLR"]["mode"] == "triangular" and defaults["LinearLR"]["end_factor"] == 1.0
    assert defaults["ReduceLROnPlateau"] == {"factor": 0.1, "patience": 10, "cooldown": 0, "min_lr": 1e-5}
    # and the ones the explorer chooses, where torch's would draw a dull curve (CyclicLR's gamma=1.0 makes
    # exp_range flat; a cosine's eta_min=0 is outside a log slider)
    assert defaults["CyclicLR"]["gamma"] == 0.99 and defaults["CosineAnnealingLR"]["eta_min"] == 1e-4


@pytest.mark.parametrize(("entry", "message"), [
    (("StepLR", "StepLR", ("step_size", "int", 3, 1, 9, 1), ("gama", "float", 0.1, 0.05, 1.0, 0.05)),
     "StepLR has controls that are not parameters of StepLR: gama"),
    (("StepLR", "StepLR", ("step_size", "int", None, 1, 9, 1),),
     "TORCH_DEFAULT needs a parameter 'step_size' with a default in StepLR's signature"),
    (("CyclicLR", "CyclicLR", ("base_lr", "log", 0.01, 1e-3, 1.0), ("max_lr", "log", 0.1, 1e-3, 1.0),
      ("step_size_up", "int", None, 1, 100, 1)),
     r"default 2000 is not a number in \[1, 100\]"),
    (("Nadir", "NoSuchLR", ("x", "float", 0.1, 0.0, 1.0),), "names 'NoSuchLR', which is not a scheduler class"),
])
def test_a_catalogue_entry_that_does_not_fit_its_schedulers_signature_fails_when_the_catalogue_is_built(
        monkeypatch, entry, message):
    from camp_utils.schedules import explorer_widget as ew

    label, scheduler, *controls = entry
    made = [ew.Slider(*c[:2], ew.TORCH_DEFAULT if c[2] is None else c[2], *c[3:]) for c in controls]
    monkeypatch.setattr(ew, "_ENTRIES", (ew._Entry(label, scheduler, tuple(made)),))
    ew._explorer_catalogue.cache_clear()
    try:
        with pytest.raises(ValueError, match=message):
            ew._explorer_catalogue()
    finally:
        ew._explorer_catalogue.cache_clear()


def test_a_control_with_an_unknown_unit_fails_when_it_is_made():
    from camp_utils.schedules.explorer_widget import Slider

    with pytest.raises(ValueError, match="unit must be one of '', 'epochs', 'epoch factor', 'epoch list', got 'epoch'"):
        Slider("T_max", "int", 50, 1, 200, 1, unit="epoch")


@pytest.mark.parametrize(("kwargs", "word"), [({"epochs": 1000},
                                           "epochs must be an int from 1 to 400 .the explorer.s slider range"),
                                          ({"steps_per_epoch": 50}, "steps_per_epoch must be an int from 1 to 20"),
                                          ({"lr": 50.0}, r"lr must be a finite number in \[1e-05, 10\]")])
def test_the_explorer_refuses_values_its_sliders_would_clamp(kwargs, word):
    with pytest.raises(ValueError, match=word):
        explorer("StepLR", **kwargs)


# fit after lr_find == fit alone, bit for bit: tests/test_lr_find.py (every option, host RNGs too)


@pytest.mark.parametrize(("text", "found"), [("abc", "'abc' is not one"), ("50, -5", "'-5' is not one"),
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
@pytest.mark.parametrize(("kwargs", "message"), [
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
    assert list(catalogue) == list(EXPLORER_SCHEDULERS)  # the menu is the catalogue, in its order
    for name, (sliders, _) in catalogue.items():
        assert {s.kind for s in sliders} <= set(SLIDER_KINDS)
        assert len(_explore_trace(name, {}, epochs=20, steps_per_epoch=2, lr=0.1)) == 40, name
