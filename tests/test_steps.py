"""camp_utils.steps: the one optimizer step that fit and lr_find share -- accumulation, mixed precision,
batch_fn, nested inputs, no_sync -- and fit's new options that come with it.
"""
from collections import namedtuple
from contextlib import contextmanager

import pytest
import torch
from torch import nn
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, Dataset, TensorDataset

from camp_utils.steps import optimizer_step, to_device, unpack_batch
from camp_utils.train import fit


def _data(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, generator=g), torch.randint(0, 3, (n,), generator=g)


def _mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))


def test_accumulating_two_batches_is_one_step_over_a_batch_twice_as_large():
    x, y = _data()
    small, large = _mlp(), _mlp()
    h_small = fit(small, torch.optim.SGD(small.parameters(), lr=0.1), DataLoader(TensorDataset(x, y), batch_size=8),
                  epochs=2, accumulate=2, log_histograms=False, progress=False, device="cpu")
    h_large = fit(large, torch.optim.SGD(large.parameters(), lr=0.1), DataLoader(TensorDataset(x, y), batch_size=16),
                  epochs=2, log_histograms=False, progress=False, device="cpu")
    for a, b in zip(small.parameters(), large.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert h_small.train_loss == pytest.approx(h_large.train_loss, rel=1e-5)
    assert h_small.step == h_large.step == [3, 6]   # optimizer steps: 48 samples / 16 per step


def test_accumulate_counts_optimizer_steps_for_schedulers_and_callbacks():
    x, y = _data(n=40)
    model = _mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.5)
    seen = []
    history = fit(model, optimizer, DataLoader(TensorDataset(x, y), batch_size=8), epochs=1, accumulate=2,
                  scheduler=scheduler, scheduler_interval="batch", log_histograms=False, progress=False,
                  device="cpu", on_batch_end=lambda b: seen.append((b.step, b.batch, b.batches, len(b.targets))))
    # 5 batches of 8 in steps of 2: two full steps and a last one of a single batch
    assert seen == [(0, 0, 3, 16), (1, 1, 3, 16), (2, 2, 3, 8)]
    assert scheduler.last_epoch == 3 and history.step == [3]


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2"])
def test_accumulate_must_be_a_positive_int(bad):
    x, y = _data()
    model = _mlp()
    with pytest.raises(ValueError, match="accumulate"):
        fit(model, torch.optim.SGD(model.parameters(), lr=0.1), DataLoader(TensorDataset(x, y), batch_size=8),
            epochs=1, accumulate=bad, progress=False)


def test_amp_runs_the_forward_pass_under_bfloat16_autocast_on_the_cpu():
    x, y = _data()
    model = _mlp()
    dtypes = set()
    model[0].register_forward_hook(lambda module, args, out: dtypes.add(out.dtype))
    history = fit(model, torch.optim.SGD(model.parameters(), lr=0.1), DataLoader(TensorDataset(x, y), batch_size=8),
                  DataLoader(TensorDataset(x, y), batch_size=48), epochs=1, amp=True, log_histograms=False,
                  progress=False, device="cpu")
    assert dtypes == {torch.bfloat16}   # training and validation batches alike
    assert all(p.dtype == torch.float32 for p in model.parameters())   # the weights stay float32
    assert history.train_loss[0] == history.train_loss[0] and history.valid_loss[0] < 2


class _Dicts(Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return {"features": self.x[i], "label": self.y[i], "id": i}


def test_fit_reads_a_loader_of_dicts_through_batch_fn_for_training_and_validation():
    x, y = _data()
    by_dict, by_pair = _mlp(), _mlp()
    pick = lambda b: (b["features"], b["label"])   # noqa: E731
    h_dict = fit(by_dict, torch.optim.SGD(by_dict.parameters(), lr=0.1), DataLoader(_Dicts(x, y), batch_size=8),
                 DataLoader(_Dicts(x, y), batch_size=16), epochs=1, batch_fn=pick, log_histograms=False,
                 progress=False, device="cpu")
    h_pair = fit(by_pair, torch.optim.SGD(by_pair.parameters(), lr=0.1), DataLoader(TensorDataset(x, y), batch_size=8),
                 DataLoader(TensorDataset(x, y), batch_size=16), epochs=1, log_histograms=False, progress=False,
                 device="cpu")
    assert h_dict.as_dict() == h_pair.as_dict()
    with pytest.raises(ValueError, match=r"loader must yield \(inputs, targets\) pairs, got a dict"):
        fit(by_pair, torch.optim.SGD(by_pair.parameters(), lr=0.1), DataLoader(_Dicts(x, y), batch_size=8),
            epochs=1, progress=False)


class _TwoInputs(nn.Module):
    """A model that takes (image features, extra features) as one tuple."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.a, self.b = nn.Linear(6, 3), nn.Linear(2, 3)

    def forward(self, inputs):
        first, second = inputs
        return self.a(first) + self.b(second)


def test_fit_trains_a_model_whose_inputs_are_a_tuple_of_tensors():
    x, y = _data()
    extra = torch.randn(len(y), 2, generator=torch.Generator().manual_seed(1))
    pairs = [((x[i], extra[i]), y[i]) for i in range(len(y))]
    model = _TwoInputs()
    history = fit(model, torch.optim.SGD(model.parameters(), lr=0.1), DataLoader(pairs, batch_size=8),
                  DataLoader(pairs, batch_size=48), epochs=3, log_histograms=False, progress=False, device="cpu")
    assert history.valid_loss[-1] < history.valid_loss[0]


def test_to_device_rebuilds_tensors_inside_tuples_lists_dicts_and_namedtuples():
    Pair = namedtuple("Pair", "image mask")
    nested = {"pair": Pair(torch.zeros(2), torch.ones(2)), "list": [torch.zeros(1), "keep"], "n": 3}
    moved = to_device(nested, "cpu")
    assert isinstance(moved["pair"], Pair) and torch.equal(moved["pair"].mask, torch.ones(2))
    assert moved["list"][1] == "keep" and moved["n"] == 3
    inputs, _targets = unpack_batch(((torch.zeros(4, 2), {"m": torch.ones(4)}), torch.zeros(4)))
    assert isinstance(inputs, tuple)
    with pytest.raises(ValueError, match=r"inputs a tensor \(or a tuple, list or dict of tensors"):
        unpack_batch(((torch.zeros(4, 2), "not a tensor"), torch.zeros(4)))


class _Counting(nn.Module):
    """Stands in for DistributedDataParallel: counts the batches run inside no_sync()."""

    def __init__(self):
        super().__init__()
        self.net, self.synced_out = _mlp(), []

    @contextmanager
    def no_sync(self):
        self.inside = True
        try:
            yield
        finally:
            self.inside = False

    def forward(self, x):
        self.synced_out.append(not getattr(self, "inside", False))
        return self.net(x)


def test_optimizer_step_skips_the_all_reduce_for_all_but_the_last_accumulated_batch():
    x, y = _data(n=24)
    model = _Counting()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    done = optimizer_step(model, optimizer, [(x[:8], y[:8]), (x[8:16], y[8:16]), (x[16:], y[16:])],
                          nn.CrossEntropyLoss())
    assert model.synced_out == [False, False, True] and done.taken and done.samples == 24
    with pytest.raises(ValueError, match="at least one"):
        optimizer_step(model, optimizer, [], nn.CrossEntropyLoss())
    with pytest.raises(ValueError, match="batch 1 of the step is empty"):
        optimizer_step(model, optimizer, [(x[:8], y[:8]), (x[:0], y[:0])], nn.CrossEntropyLoss())


def test_a_nan_loss_in_an_accumulated_batch_stops_fit_before_the_update():
    x, y = _data()
    x[20] = float("nan")   # batch 2 (of 8): the second batch of the second step
    model = _mlp()
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(FloatingPointError, match=r"epoch 1, batch 2 \(step 1\).*inputs or targets contain NaN"):
        fit(model, torch.optim.SGD(model.parameters(), lr=0.1), DataLoader(TensorDataset(x, y), batch_size=8),
            epochs=1, accumulate=2, progress=False, device="cpu")
    assert not all(torch.equal(a, b) for a, b in zip(before, model.parameters()))   # step 0 was taken
    assert all(torch.isfinite(p).all() for p in model.parameters())   # step 1 was not
