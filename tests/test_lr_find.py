"""camp_utils.schedules.lr_find, all of it: restore, growth, suggestions, errors, and beyond the libraries
(validation mode, accumulation, mixed precision, batch_fn, rules).
"""
import random
import warnings
from dataclasses import asdict

import numpy as np
import pytest
import torch
from torch import nn
from torch.optim import lr_scheduler as S
from torch.utils.data import DataLoader, Dataset, TensorDataset

from camp_utils.schedules import LRFindResult, lr_find, plot_lr_find
from camp_utils.schedules.range_test import _apply_rules, _smooth, _valley, _warn_if_rules_disagree, default_rules
from camp_utils.train import MixedPrecision, evaluate, fit


def _data(n=192, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    return x, (x[:, 0] + x[:, 1] > 0).long()


def _mlp(seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))


def _quiet(*args, **kwargs):
    """lr_find on the short sweeps of a unit test, where the rules may well disagree."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return lr_find(*args, **kwargs)


# --------------------------------------------------------------------------- validation mode

def test_validation_mode_records_the_mean_validation_loss_after_each_step_in_eval_mode():
    x, y = _data()
    # a list, not a DataLoader: iterating a DataLoader draws its base seed from torch's RNG, moving the dropout mask
    train = list(DataLoader(TensorDataset(x[:128], y[:128]), batch_size=32))
    valid = DataLoader(TensorDataset(x[128:], y[128:]), batch_size=24)  # 64 samples: batches of 24, 24, 16
    model = nn.Sequential(nn.Linear(8, 16), nn.Dropout(0.5), nn.ReLU(), nn.Linear(16, 2))
    seen = []
    model[1].register_forward_hook(lambda m, args, out: seen.append((m.training, torch.is_grad_enabled())))
    result = _quiet(model, torch.optim.SGD(model.parameters(), lr=0.1), train, val_loader=valid,
                    start_lr=0.01, end_lr=1.0, num_iter=3)

    # by hand: one plain SGD step at lr 0.01 on batch 0, then the per-sample mean loss over the validation set
    copy = nn.Sequential(nn.Linear(8, 16), nn.Dropout(0.5), nn.ReLU(), nn.Linear(16, 2))
    copy.load_state_dict(model.state_dict())
    by_hand = torch.optim.SGD(copy.parameters(), lr=0.01)
    with torch.random.fork_rng():
        torch.manual_seed(0)  # lr_find's seed: the same dropout mask
        nn.functional.cross_entropy(copy(x[:32]), y[:32]).backward()
    by_hand.step()
    copy.eval()
    with torch.no_grad():
        expected = nn.functional.cross_entropy(copy(x[128:]), y[128:]).item()
    assert result.losses[0] == pytest.approx(expected, rel=1e-6)
    # every step: one training forward (train mode, grad) then three validation batches (eval mode, no grad)
    assert seen == [(True, True), (False, False), (False, False), (False, False)] * 3
    assert model.training and model[1].training  # modes given back


def test_validation_mode_stops_at_a_blow_up_of_the_validation_loss():
    x, y = _data()
    model = _mlp()
    result = _quiet(model, torch.optim.SGD(model.parameters(), lr=0.1), DataLoader(TensorDataset(x, y), batch_size=32),
                    val_loader=DataLoader(TensorDataset(x[:64], y[:64]), batch_size=64), start_lr=1e-3, end_lr=1e6,
                    num_iter=60)
    assert result.diverged and len(result.lrs) < 60


# --------------------------------------------------------------------------- gradient accumulation

@pytest.mark.parametrize("k", [2, 3])
def test_accumulating_k_batches_of_b_is_one_batch_of_kb_for_plain_sgd(k):
    x, y = _data(n=192)
    small = DataLoader(TensorDataset(x, y), batch_size=16)
    large = DataLoader(TensorDataset(x, y), batch_size=16 * k)
    kwargs = {"start_lr": 1e-2, "end_lr": 3.0, "num_iter": 10, "smooth": 0.0}
    model = _mlp()
    accumulated = _quiet(model, torch.optim.SGD(model.parameters(), lr=0.1), small, accumulate=k, **kwargs)
    whole = _quiet(model, torch.optim.SGD(model.parameters(), lr=0.1), large, **kwargs)
    assert accumulated.lrs == whole.lrs and len(accumulated.lrs) == 10
    assert accumulated.losses == pytest.approx(whole.losses, abs=1e-6)


def test_accumulation_weights_batches_by_their_samples():
    # 40 samples in batches of 16, 16, 8: a step over all three is a step over the 40 samples, not 3 equal thirds
    x, y = _data(n=40)
    model = _mlp()
    kwargs = {"start_lr": 1e-2, "end_lr": 1.0, "num_iter": 4, "smooth": 0.0}
    accumulated = _quiet(model, torch.optim.SGD(model.parameters(), lr=0.1),
                         DataLoader(TensorDataset(x, y), batch_size=16), accumulate=3, **kwargs)
    whole = _quiet(model, torch.optim.SGD(model.parameters(), lr=0.1),
                   DataLoader(TensorDataset(x, y), batch_size=40), **kwargs)
    assert accumulated.losses == pytest.approx(whole.losses, abs=1e-6)


# --------------------------------------------------------------------------- mixed precision

def test_amp_on_cpu_runs_in_bfloat16_and_stays_close_to_full_precision():
    x, y = _data()
    loader = DataLoader(TensorDataset(x, y), batch_size=32)
    model = _mlp()
    dtypes = []
    handle = model[0].register_forward_hook(lambda m, args, out: dtypes.append(out.dtype))
    kwargs = {"start_lr": 1e-3, "end_lr": 1e-1, "num_iter": 6}
    half = _quiet(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, amp=True, **kwargs)
    assert set(dtypes) == {torch.bfloat16} and half.skipped == 0
    handle.remove()
    full = _quiet(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, **kwargs)
    assert half.lrs == full.lrs
    assert half.losses == pytest.approx(full.losses, rel=2e-2)  # bfloat16 keeps ~3 significant digits
    assert half.losses != full.losses  # it really computed in bfloat16


def test_steps_the_grad_scaler_skips_do_not_advance_the_lr(monkeypatch):
    import sys

    module = sys.modules["camp_utils.schedules.range_test"]

    # CPU stand-in for CUDA's float16 + GradScaler: a real GradScaler on the CPU, and gradients made inf on demand
    monkeypatch.setattr(module, "mixed_precision",
                        lambda device, enabled: MixedPrecision("cpu", None,
                                                               torch.amp.GradScaler("cpu", init_scale=4.0)))
    x, y = _data(n=64)
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    model = _mlp()
    attempts, poisoned = [], {2, 3, 7}
    model[2].weight.register_hook(
        lambda grad: (attempts.append(1), grad * float("inf") if len(attempts) in poisoned else grad)[1])
    lrs_seen = []
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.register_forward_pre_hook(lambda m, args: lrs_seen.append(optimizer.param_groups[0]["lr"]) and None)
    result = _quiet(model, optimizer, loader, start_lr=1e-3, end_lr=1e-1, num_iter=6, amp=True, smooth=0.0)

    assert result.skipped == 3 and len(result.lrs) == 6 and len(attempts) == 9
    planned = [1e-3 * 100 ** (i / 5) for i in range(6)]
    assert result.lrs == pytest.approx(planned)
    # attempts 2 and 3 retry step 1's lr, attempt 7 retries step 5's... the lr moved only with steps taken
    assert lrs_seen == pytest.approx([planned[i] for i in (0, 1, 1, 1, 2, 3, 4, 4, 5)])


# --------------------------------------------------------------------------- batch_fn

def test_batch_fn_reads_dicts_and_longer_tuples_like_pairs():
    x, y = _data()
    pairs = list(DataLoader(TensorDataset(x, y), batch_size=32))
    dicts = [{"image": a, "label": b, "id": torch.arange(len(b))} for a, b in pairs]
    triples = [(a, torch.zeros(len(b)), b) for a, b in pairs]
    model = _mlp()
    kwargs = {"start_lr": 1e-3, "end_lr": 1.0, "num_iter": 8}
    plain = _quiet(model, torch.optim.SGD(model.parameters(), lr=0.1), pairs, **kwargs)
    by_key = _quiet(model, torch.optim.SGD(model.parameters(), lr=0.1), dicts,
                    batch_fn=lambda b: (b["image"], b["label"]), **kwargs)
    by_place = _quiet(model, torch.optim.SGD(model.parameters(), lr=0.1), triples,
                      batch_fn=lambda b: (b[0], b[2]), val_loader=triples[:1], **kwargs)
    assert by_key.losses == plain.losses
    assert len(by_place.losses) == 8
    with pytest.raises(ValueError, match=r"loader must yield \(inputs, targets\) pairs, got a tuple of 3 "
                                         r"\(batch 0\); pass batch_fn"):
        lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), triples, num_iter=3)
    with pytest.raises(ValueError,
                       match=r"batch_fn must yield \(inputs, targets\) pairs: inputs a tensor .*got \(Tensor, str\)"):
        lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), dicts, num_iter=3,
                batch_fn=lambda b: (b["image"], "label"))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"accumulate": 0}, "accumulate must be a positive int (batches per optimizer step), got 0"),
    ({"accumulate": 2.0}, "accumulate must be a positive int"),
    ({"amp": 1}, "amp must be False or True, got 1 (int)"),
    ({"amp": "yes"}, "amp must be False or True"),
    ({"batch_fn": 3}, "batch_fn must be a function batch -> (inputs, targets), got int"),
    ({"val_loader": []}, "val_loader has no batches"),
])
def test_bad_new_lr_find_arguments_name_themselves(kwargs, message):
    import re

    x, y = _data(n=32)
    model = _mlp()
    with pytest.raises(ValueError, match=re.escape(message)):
        lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), DataLoader(TensorDataset(x, y), batch_size=8),
                **kwargs)


# --------------------------------------------------------------------------- the rules side by side

def test_valley_takes_the_middle_of_the_longest_descent():
    # longest strictly decreasing subsequence: 5, 4, 3, 2, 1 at indices 0, 1, 3, 4, 6 (the 6 and 7 are noise)
    assert _valley([5, 4, 6, 3, 2, 7, 1, 8]) == 0 + 2 + 1  # span 6: int(6/3) + int(6/6)
    # the descent starts after a rise: from index 2 (9) down to index 9 (0); span 7 -> 2 + 2 + 1
    assert _valley([1, 2, 9, 8, 7, 6, 5, 4, 3, 0]) == 5
    assert _valley([3.0]) == 0 and _valley([1.0, 2.0, 3.0]) == 0


def test_the_result_reports_every_rule_and_the_old_fields_agree_with_them():
    x, y = _data(n=256)
    model = _mlp()
    result = _quiet(model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                    DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True), start_lr=1e-3, end_lr=10, num_iter=60)
    assert list(result.rules) == ["fall", "steepest", "valley", "minimum/10"]
    assert result.rules["fall"] == result.suggestion and result.rules["steepest"] == result.steepest_lr
    assert result.rules["minimum/10"] == result.min_loss_lr / 10
    assert result.rules["valley"] in result.lrs
    lrs = [0.001, 0.01, 0.1, 1.0]
    # from 3 down to 1: two thirds of the way is 1.67, first reached at lr 0.1
    assert _apply_rules(default_rules(skip_start=0), lrs, [3.0, 2.0, 1.0, 4.0]) == {
        "fall": 0.1, "steepest": 0.001, "valley": 0.001, "minimum/10": pytest.approx(0.01)}
    assert _apply_rules(default_rules(fall=0.4, skip_start=0), lrs, [3.0, 2.0, 1.0, 4.0])["fall"] == 0.01


def test_a_rule_of_ones_own_sits_next_to_the_four_and_can_give_the_suggestion():
    x, y = _data(n=256)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    model = _mlp()

    def half_minimum(lrs, smoothed):
        return lrs[int(np.argmin(smoothed))] / 2

    result = _quiet(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, start_lr=1e-3, end_lr=10,
                    num_iter=40, repeats=2, rules={**default_rules(), "minimum/2": half_minimum}, suggest="minimum/2")
    assert list(result.rules) == ["fall", "steepest", "valley", "minimum/10", "minimum/2"]
    assert result.suggestion == result.rules["minimum/2"] == pytest.approx(result.min_loss_lr / 2)
    own = [result.lrs[int(np.argmin(_smooth(run, 0.98)))] / 2 for run in result.runs]
    assert result.suggestions == pytest.approx(own)
    other = _mlp()
    plain = _quiet(other, torch.optim.SGD(other.parameters(), lr=0.1), loader, num_iter=5)
    assert list(plain.rules) == ["fall", "steepest", "valley", "minimum/10"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"suggest": "median"}, r"suggest must name one of the rules, \['fall', 'minimum/10', 'steepest', 'valley'\]"),
    ({"rules": {}}, "rules must be a non-empty dict"),
    ({"rules": {"fall": 0.1}}, "rules must be a non-empty dict"),
    ({"rules": {"zero": lambda lrs, smoothed: 0.0}, "suggest": "zero"}, "the suggestion rule 'zero' returned 0.0"),
    ({"rules": {"broken": lambda lrs, smoothed: lrs[10**6]}, "suggest": "broken"},
     "the suggestion rule 'broken' failed on the measured curve: IndexError"),
])
def test_bad_rules_are_named(kwargs, message):
    x, y = _data(n=64)
    model = _mlp()
    with pytest.raises(ValueError, match=message):
        _quiet(model, torch.optim.SGD(model.parameters(), lr=0.1), DataLoader(TensorDataset(x, y), batch_size=16),
               num_iter=12, **kwargs)


def test_rules_more_than_a_decade_apart_warn_and_closer_ones_do_not():
    with pytest.warns(UserWarning, match=r"the suggestion rules disagree by 20x, more than a decade \(fall 0\.1, "
                                         r"steepest 0\.005, valley 0\.05, minimum/10 0\.02\)"):
        _warn_if_rules_disagree({"fall": 0.1, "steepest": 0.005, "valley": 0.05, "minimum/10": 0.02})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_if_rules_disagree({"fall": 0.1, "steepest": 0.011, "valley": 0.05, "minimum/10": 0.02})


def test_a_flat_curve_makes_lr_find_warn_at_the_callers_line():
    x, y = _data(n=64)
    model = _mlp()
    with pytest.warns(UserWarning, match="disagree") as caught:
        lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), DataLoader(TensorDataset(x, y), batch_size=32),
                start_lr=1e-7, end_lr=1e-6, num_iter=12, skip_start=2)
    assert caught[0].filename == __file__


# --------------------------------------------------------------------------- the proven restore, extended

class _Augmented(Dataset):
    """Draws from Python's random and numpy's global generator, as many augmentation pipelines do."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        noise = 0.01 * random.random() + 0.01 * float(np.random.rand())
        return self.x[i] + noise, self.y[i]


@pytest.mark.parametrize("options", [
    {},  # the classic test: BatchNorm statistics, momentum, dropout's RNG and the host RNGs come back
    {"amp": True},
    {"accumulate": 2, "val_loader": "valid"},
    {"batch_fn": "swap"},
])
def test_training_after_lr_find_is_bit_for_bit_training_without_it(options):
    def run(with_range_test):
        x, y = _data(n=128)
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2))
        loader = DataLoader(_Augmented(x, y), batch_size=32, shuffle=True)
        swapped = [(b, a) for a, b in loader]  # made in both runs, before the host generators are seeded
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        random.seed(5)
        np.random.seed(5)
        if with_range_test:
            kwargs = dict(options)
            if kwargs.get("val_loader") == "valid":
                kwargs["val_loader"] = DataLoader(_Augmented(x[:64], y[:64]), batch_size=32)
            if kwargs.get("batch_fn") == "swap":
                kwargs["batch_fn"] = lambda b: (b[1], b[0])
                loader_for_test = swapped
            else:
                loader_for_test = loader
            states = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state()
            _quiet(model, optimizer, loader_for_test, num_iter=12, end_lr=10, repeats=2, **kwargs)
            assert random.getstate() == states[0]
            assert np.array_equal(np.random.get_state()[1], states[1])
            assert torch.equal(torch.get_rng_state(), states[2])
        history = fit(model, optimizer, loader, loader, epochs=2, progress=False, device="cpu", seed=3)
        return asdict(history), {k: v.clone() for k, v in model.state_dict().items()}

    (plain, plain_state), (after, after_state) = run(False), run(True)
    assert after == plain
    assert all(torch.equal(after_state[k], v) for k, v in plain_state.items())


def test_the_range_test_is_reproducible_with_python_and_numpy_augmentation():
    x, y = _data(n=128)
    loader = DataLoader(_Augmented(x, y), batch_size=32, shuffle=True)
    model = _mlp()
    first = _quiet(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, num_iter=8, end_lr=1.0)
    random.random()
    np.random.rand()  # the caller's host generators moved on: the test seeds its own
    second = _quiet(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, num_iter=8, end_lr=1.0)
    assert first.losses == second.losses


# --------------------------------------------------------------------------- evaluate's new options

def test_evaluate_reads_dict_batches_and_skips_accuracy_for_a_regression_loss():
    x, y = _data(n=64)
    model = nn.Linear(8, 1)
    batches = [{"x": x[i:i + 16], "y": y[i:i + 16].float()[:, None]} for i in range(0, 64, 16)]
    loss, acc = evaluate(model, batches, nn.MSELoss(), batch_fn=lambda b: (b["x"], b["y"]), accuracy=False)
    with torch.no_grad():
        assert loss == pytest.approx(nn.functional.mse_loss(model(x), y.float()[:, None]).item(), rel=1e-6)
    assert acc != acc  # nan: not measured
    low, _ = evaluate(model, batches, nn.MSELoss(), batch_fn=lambda b: (b["x"], b["y"]), accuracy=False, amp=True)
    assert low == pytest.approx(loss, rel=2e-2)


# ---- moved from test_schedules.py: restore, growth, reproducibility, errors, suggestions, odd models

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


@pytest.mark.parametrize(("kwargs", "word"), [
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


def test_lr_find_suggests_where_two_thirds_of_the_fall_are_done():
    from camp_utils.schedules.range_test import _fallen

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
    # every rule's answer per repeat: repeat 0 is `one`'s only sweep, whose mean curve is that sweep itself
    assert one.run_rules == [one.rules] and three.run_rules[0] == one.rules
    assert [r["fall"] for r in three.run_rules] == three.suggestions
    assert all(set(r) == {"fall", "steepest", "valley", "minimum/10"} for r in three.run_rules)
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
    with pytest.raises(FloatingPointError, match=r"batch 5 .*inputs of that batch contain NaN or inf"):
        lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, num_iter=20, end_lr=1.0)
    assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items())


def test_lr_find_refuses_a_loss_that_is_nan_from_the_first_batch():
    model, loader = _problem()
    with pytest.raises(FloatingPointError, match=r"batch 0 .*smallest lr already"):
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


def test_lr_find_explains_an_empty_batch():
    model, _ = _problem()
    batches = [(torch.randn(0, 8), torch.zeros(0, dtype=torch.long))] * 3
    with pytest.raises(ValueError, match="empty batch"):
        lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), batches, num_iter=3)


def test_lr_find_can_sweep_linearly_as_smith_did():
    model, loader = _problem()
    result = lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, start_lr=0.01, end_lr=1.0,
                     num_iter=12, sweep="linear")
    steps = [b - a for a, b in zip(result.lrs, result.lrs[1:])]
    assert result.lrs[0] == pytest.approx(0.01) and max(steps) == pytest.approx(min(steps)) == pytest.approx(0.09)
    with pytest.raises(ValueError, match="sweep must be 'exponential'"):
        lr_find(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, sweep="log")
