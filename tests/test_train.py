"""camp_utils.train: the training loop, its schedules, logging and errors."""
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from camp_utils import data, tb
from camp_utils.models import GapNet, LeNet
from camp_utils.train import History, evaluate, fit, pick_device, progress_enabled


@pytest.fixture(scope="module")
def loaders():
    return data.shapes_loaders(64, sizes={"train": 1024, "valid": 256, "test": 256})


def make_model(seed=0):
    torch.manual_seed(seed)
    return LeNet(4)


def sgd(model, lr=0.01):
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)


def test_fit_learns_the_embedded_dataset():
    # 16-pixel images keep this test at a few seconds; trained_gapnet shows the full result (98 %).
    train, valid, _ = data.shapes_loaders(32, sizes={"train": 2048, "valid": 256, "test": 16}, image_size=16)
    torch.manual_seed(0)
    model = GapNet(4)
    history = fit(model, torch.optim.Adam(model.parameters(), 3e-3), train, valid, epochs=5, progress=False)
    assert history.train_loss[-1] < history.train_loss[0] * 0.5
    assert history.valid_acc[-1] > 0.5  # chance is 0.25


def test_history_has_one_entry_per_epoch(loaders):
    train, valid, _ = loaders
    model = make_model()
    history = fit(model, sgd(model), train, valid, epochs=3, progress=False)
    assert isinstance(history, History) and len(history) == 3
    assert history.epoch == [1, 2, 3]
    for name in ("train_loss", "train_acc", "valid_loss", "valid_acc", "lr", "lrs"):
        assert len(getattr(history, name)) == 3, name
    model = make_model()
    assert fit(model, sgd(model), train, epochs=2, progress=False).valid_acc == []


def test_same_seed_same_history_and_global_rng_restored(loaders):
    train, valid, _ = loaders
    runs = []
    for _ in range(2):
        model = make_model()
        torch.manual_seed(123)
        before = torch.get_rng_state()
        runs.append(fit(model, sgd(model), train, valid, epochs=2, seed=7, progress=False))
        assert torch.equal(torch.get_rng_state(), before)
    assert runs[0] == runs[1]


def test_step_lr_per_epoch_is_recorded(loaders):
    train, _, _ = loaders
    model = make_model()
    opt = sgd(model, lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    history = fit(model, opt, train, epochs=5, scheduler=sched, progress=False)
    assert history.lr == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001])


def test_per_batch_schedule_steps_every_batch(loaders):
    train, _, _ = loaders
    model = make_model()
    opt = sgd(model, lr=1.0)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    history = fit(model, opt, train, epochs=2, scheduler=sched, scheduler_interval="batch", progress=False)
    batches = len(train)
    assert history.lr == pytest.approx([1.0, 0.5**batches])


def test_plateau_scheduler_gets_the_validation_loss():
    # Random labels: the validation loss cannot improve for long, so the LR drops.
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 3, 32, 32, generator=g), torch.randint(0, 4, (64,), generator=g)
    loader = DataLoader(TensorDataset(x, y), batch_size=32)
    vx, vy = torch.randn(64, 3, 32, 32, generator=g), torch.randint(0, 4, (64,), generator=g)
    valid = DataLoader(TensorDataset(vx, vy), batch_size=32)
    model = make_model()
    opt = sgd(model, lr=0.1)
    seen = []

    class Spy(torch.optim.lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics):
            seen.append(metrics)
            super().step(metrics)

    sched = Spy(opt, factor=0.5, patience=0)
    history = fit(model, opt, loader, valid, epochs=6, scheduler=sched, progress=False)
    assert seen == pytest.approx(history.valid_loss)
    assert history.lr[-1] < 0.1


def test_logging_writes_exactly_what_it_says(loaders, tmp_path):
    train, valid, _ = loaders
    model = make_model()
    writer = tb.run_writer(21, "fit", root=tmp_path)
    history = fit(model, sgd(model), train, valid, epochs=3, writer=writer, progress=False)
    writer.close()
    folder = tmp_path / "21" / "fit"
    scalars = tb.read_scalars(folder)
    assert sorted(scalars) == [".", "Accuracy_train", "Accuracy_valid", "Loss_train", "Loss_valid"]
    assert scalars["Loss_train"]["Loss"].values == pytest.approx(history.train_loss)
    assert scalars["Accuracy_valid"]["Accuracy"].values == pytest.approx(history.valid_acc)
    assert scalars["."]["LearningRate"].values == pytest.approx(history.lr)
    assert scalars["Loss_valid"]["Loss"].steps == [1, 2, 3]
    histograms = tb.read_histograms(folder)["."]
    names = [n for n, _ in model.named_parameters()]
    assert sorted(histograms) == sorted([f"params/{n}" for n in names] + [f"grads/{n}" for n in names])
    assert all([h.step for h in records] == [1, 2, 3] for records in histograms.values())
    conv1 = histograms["params/conv1.weight"][-1]
    assert conv1.num == model.conv1.weight.numel()


def test_on_epoch_end_sees_each_epoch_with_gradients(loaders):
    train, valid, _ = loaders
    model = make_model()
    calls = []

    def record(epoch, m, history):
        assert m is model and m.conv1.weight.grad is not None
        calls.append((epoch, len(history), history.valid_acc[-1]))

    history = fit(model, sgd(model), train, valid, epochs=3, on_epoch_end=record, progress=False)
    assert calls == [(e, e, acc) for e, acc in zip(history.epoch, history.valid_acc)]


def test_logging_without_histograms(loaders, tmp_path):
    train, _, _ = loaders
    model = make_model()
    with tb.run_writer(21, "nohist", root=tmp_path) as writer:
        fit(model, sgd(model), train, epochs=1, writer=writer, log_histograms=False, progress=False)
    with pytest.raises(ValueError, match="no histograms were written"):
        tb.read_histograms(tmp_path / "21" / "nohist")


def test_evaluate_restores_training_mode(loaders):
    _, valid, _ = loaders
    model = make_model().train()
    loss, acc = evaluate(model, valid)
    assert model.training and 0 <= acc <= 1 and loss > 0


def test_evaluate_a_model_without_parameters_inside_map():
    x, y = torch.randn(12, 3), torch.randint(0, 3, (12,))
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    results = [evaluate(m, loader) for m in [torch.nn.Identity(), torch.nn.Identity(), torch.nn.Softmax(1)]]
    assert len(results) == 3  # a bare StopIteration from a parameter probe would end map() after 0 results
    # the Identity's logits are the inputs themselves: loss and accuracy computed here directly
    expected_loss = torch.nn.functional.cross_entropy(x, y).item()
    expected_acc = (x.argmax(1) == y).float().mean().item()
    for loss, acc in results[:2]:
        assert loss == pytest.approx(expected_loss, rel=1e-6) and acc == pytest.approx(expected_acc)


@pytest.mark.parametrize(("targets", "word"), [
    (torch.tensor([[0.5, 0.7, -0.2]] * 8), "has negative values or does not sum to 1"),
    (torch.tensor([[1.0, 1.0, 0.0]] * 8), "sum 2"),
])
def test_float_targets_that_are_not_probabilities_are_refused(targets, word):
    loader = DataLoader(TensorDataset(torch.randn(8, 6), targets), batch_size=4)
    model = torch.nn.Linear(6, 3)
    with pytest.raises(ValueError, match=word):
        fit(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, epochs=1, progress=False)
    smoothed = torch.full((8, 3), 0.05)
    smoothed[:, 0] = 0.9  # label smoothing is fine
    fit(model, torch.optim.SGD(model.parameters(), lr=0.1),
        DataLoader(TensorDataset(torch.randn(8, 6), smoothed), batch_size=4), epochs=1, progress=False)


def test_fit_keeps_a_frozen_batchnorm_frozen():
    x, y = torch.randn(48, 6), torch.randint(0, 3, (48,))
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    model.train()
    model[1].eval()
    stats = model[1].running_mean.clone()
    fit(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, loader, epochs=2, progress=False)
    assert model.training and not model[1].training
    assert torch.equal(model[1].running_mean, stats)  # a frozen BatchNorm's statistics do not move


def test_evaluate_gives_each_module_its_own_mode_back():
    x, y = torch.randn(40, 6), torch.randint(0, 3, (40,))
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8), torch.nn.Dropout(0.5),
                                torch.nn.Linear(8, 3))
    model.train()
    model[1].eval()  # a frozen BatchNorm
    seen = []
    model[2].register_forward_hook(lambda m, args, out: seen.append(m.training))
    evaluate(model, loader)
    assert seen and not any(seen)  # evaluation itself runs in eval mode
    assert model.training and not model[1].training and model[2].training
    model.eval()
    model[2].train()  # MC-dropout: dropout kept active in an eval-mode model
    evaluate(model, loader)
    assert not model.training and not model[1].training and model[2].training


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"epochs": 0}, "epochs must be a positive int"),
    ({"epochs": 1.5}, "epochs must be a positive int"),
    ({"epochs": 1, "scheduler_interval": "step"}, "scheduler_interval must be 'epoch' or 'batch'"),
])
def test_bad_arguments_are_explained(loaders, kwargs, message):
    model = make_model()
    with pytest.raises(ValueError, match=message):
        fit(model, sgd(model), loaders[0], progress=False, **kwargs)


def test_scheduler_of_another_optimizer_is_refused(loaders):
    model = make_model()
    other = sgd(model)
    with pytest.raises(ValueError, match="different optimizer"):
        fit(model, sgd(model), loaders[0], epochs=1, progress=False,
            scheduler=torch.optim.lr_scheduler.StepLR(other, 1))


def test_empty_loader_is_refused():
    model = make_model()
    empty = DataLoader(TensorDataset(torch.zeros(0, 3, 32, 32), torch.zeros(0, dtype=torch.long)))
    with pytest.raises(ValueError, match="train_loader has no batches"):
        fit(model, sgd(model), empty, epochs=1, progress=False)


def test_divergence_is_reported_with_the_learning_rate(loaders):
    model = make_model()
    with pytest.raises(FloatingPointError, match="learning rate"):
        fit(model, torch.optim.SGD(model.parameters(), lr=1e6), loaders[0], epochs=2, progress=False)


def test_pick_device_and_progress_switch(monkeypatch):
    assert pick_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device() == torch.device("cpu")  # nothing else there
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device() == torch.device("mps")  # Apple GPU next
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device() == torch.device("cuda")  # CUDA first
    monkeypatch.setenv("CAMP_PROGRESS", "0")
    assert progress_enabled() is False and progress_enabled(True) is True
    monkeypatch.delenv("CAMP_PROGRESS")
    assert progress_enabled() is True


# ----------------------------------------------------------------- per-batch logging and callbacks
def test_on_batch_end_sees_every_step_with_running_means(loaders):
    train, valid, _ = loaders
    model = make_model()
    seen = []
    history = fit(model, sgd(model), train, valid, epochs=2, on_batch_end=seen.append, progress=False)
    batches = len(train)
    assert [b.step for b in seen] == list(range(2 * batches))
    assert [(b.epoch, b.batch) for b in seen[:2]] == [(1, 0), (1, 1)]
    assert seen[batches].epoch == 2 and seen[batches].batch == 0
    last_of_epoch = [seen[batches - 1], seen[-1]]
    assert [b.train_loss for b in last_of_epoch] == pytest.approx(history.train_loss)
    assert [b.train_acc for b in last_of_epoch] == pytest.approx(history.train_acc)
    assert seen[0].train_loss == pytest.approx(seen[0].loss)
    assert seen[0].outputs.shape == (64, 4) and not seen[0].outputs.requires_grad
    assert seen[0].lr == 0.01 and history.step == [batches, 2 * batches]


def test_per_batch_logging_puts_train_and_valid_on_one_step_axis(loaders, tmp_path):
    train, valid, _ = loaders
    model = make_model()
    with tb.run_writer(21, "per_batch", root=tmp_path) as writer:
        history = fit(model, sgd(model), train, valid, epochs=2, writer=writer, log_interval="batch",
                      log_histograms=False, progress=False)
    scalars = tb.read_scalars(tmp_path / "21" / "per_batch")
    batches = len(train)
    assert scalars["Loss_train"]["Loss"].steps == list(range(2 * batches))
    assert scalars["Loss_valid"]["Loss"].steps == [batches, 2 * batches] == history.step
    assert scalars["Loss_valid"]["Loss"].values == pytest.approx(history.valid_loss)
    train_acc = scalars["Accuracy_train"]["Accuracy"].values
    assert [train_acc[batches - 1], train_acc[-1]] == pytest.approx(history.train_acc)
    assert scalars["."]["LearningRate"].steps == list(range(2 * batches))


def test_bad_log_interval_is_explained(loaders):
    model = make_model()
    with pytest.raises(ValueError, match="log_interval must be 'epoch' or 'batch', got 'step'"):
        fit(model, sgd(model), loaders[0], epochs=1, log_interval="step", progress=False)


def test_fit_uses_deterministic_kernels_and_restores_the_callers_settings(loaders):
    cudnn = torch.backends.cudnn
    saved = cudnn.deterministic, cudnn.benchmark
    inside = []
    try:
        cudnn.deterministic, cudnn.benchmark = False, True
        model = make_model()
        fit(model, sgd(model), loaders[0], epochs=1, progress=False,
            on_batch_end=lambda b: inside.append((cudnn.deterministic, cudnn.benchmark)))
        assert set(inside) == {(True, False)}
        assert (cudnn.deterministic, cudnn.benchmark) == (False, True)
        with pytest.raises(ValueError, match="stop"):  # restored after an error too
            fit(model, sgd(model), loaders[0], epochs=1, progress=False,
                on_batch_end=lambda b: (_ for _ in ()).throw(ValueError("stop")))
        assert (cudnn.deterministic, cudnn.benchmark) == (False, True)
        inside.clear()
        fit(model, sgd(model), loaders[0], epochs=1, progress=False, deterministic=False,
            on_batch_end=lambda b: inside.append((cudnn.deterministic, cudnn.benchmark)))
        assert set(inside) == {(False, True)}
    finally:
        cudnn.deterministic, cudnn.benchmark = saved


# ----------------------------------------------------------------- issue 6: NaN found where it happens
def random_batches(n=64, nan_at=None):
    """Random images in batches of 16, with a NaN pixel in image ``nan_at``."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 4, (n,), generator=g)
    if nan_at is not None:
        x[nan_at, 0, 0, 0] = float("nan")
    return DataLoader(TensorDataset(x, y), batch_size=16)


def test_nan_in_the_training_data_is_reported_at_its_batch_before_the_update():
    model = make_model()
    with pytest.raises(FloatingPointError, match=r"loss became nan in training, epoch 1, batch 2 \(step 2\); "
                                                 r"the batch's inputs or targets contain NaN or inf: check the data"):
        fit(model, sgd(model), random_batches(nan_at=40), epochs=1, progress=False)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_nan_in_the_validation_data_is_an_error_not_a_nan_loss():
    model = make_model()
    with pytest.raises(FloatingPointError, match=r"validation after epoch 1: loss became nan in evaluation, "
                                                 r"batch 1; the batch's inputs or targets contain NaN"):
        fit(model, sgd(model), random_batches(), random_batches(nan_at=20), epochs=1, progress=False)


def test_a_loss_function_that_makes_nan_is_named():
    model = make_model()

    def broken_loss(outputs, targets):
        return torch.nn.functional.cross_entropy(outputs, targets) * float("nan")

    with pytest.raises(FloatingPointError, match="loss_fn produced it"):
        fit(model, sgd(model), random_batches(), epochs=1, loss_fn=broken_loss, progress=False)


def test_an_optimizer_of_another_model_is_refused(loaders):
    model = make_model()
    with pytest.raises(ValueError, match=r"optimizer holds 10 of 10 parameter tensors that are not this "
                                         r"model's \(built on another model\?\)"):
        fit(model, sgd(make_model()), loaders[0], epochs=1, progress=False)


def test_an_optimizer_may_also_hold_the_loss_functions_parameters(loaders):
    class ScaledLoss(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(()))

        def forward(self, outputs, targets):
            return torch.nn.functional.cross_entropy(outputs * self.scale, targets)

    model, loss_fn = make_model(), ScaledLoss()
    opt = torch.optim.SGD([*model.parameters(), *loss_fn.parameters()], lr=0.01)
    fit(model, opt, loaders[0], epochs=1, loss_fn=loss_fn, progress=False)
    assert loss_fn.scale.item() != 1.0


def test_evaluate_gives_the_mean_loss_whatever_the_reduction(loaders):
    _, valid, _ = loaders
    model = make_model()
    mean = evaluate(model, valid)
    for reduction in ("sum", "none"):
        loss, acc = evaluate(model, valid, torch.nn.CrossEntropyLoss(reduction=reduction))
        assert loss == pytest.approx(mean[0], rel=1e-5) and acc == mean[1]


def test_fit_with_a_summed_loss_records_the_mean_per_sample(loaders):
    train, valid, _ = loaders
    summed, mean = [], []
    for loss_fn, out in ((torch.nn.CrossEntropyLoss(reduction="sum"), summed), (None, mean)):
        model = make_model()
        opt = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: both see the same weights
        out.append(fit(model, opt, train, valid, epochs=1, loss_fn=loss_fn, progress=False))
    assert summed[0].train_loss == pytest.approx(mean[0].train_loss, rel=1e-5)
    assert summed[0].valid_loss == pytest.approx(mean[0].valid_loss, rel=1e-5)


def test_one_hot_targets_give_the_same_accuracy_as_class_indices(loaders):
    _, valid, _ = loaders
    model = make_model()
    x = torch.cat([b[0] for b in valid])
    y = torch.cat([b[1] for b in valid])
    one_hot = DataLoader(TensorDataset(x, torch.nn.functional.one_hot(y, 4).float()), batch_size=64)
    loss, acc = evaluate(model, one_hot)
    assert (loss, acc) == pytest.approx(evaluate(model, valid), rel=1e-5)


def test_targets_of_an_unknown_shape_are_refused(loaders):
    model = make_model()
    odd = DataLoader(TensorDataset(torch.zeros(4, 3, 32, 32), torch.zeros(4, 2)), batch_size=4)
    with pytest.raises(ValueError, match=r"targets must be class indices .* shaped like the outputs \(4, 4\)"):
        evaluate(model, odd, loss_fn=lambda out, t: out.sum() * 0)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"epochs": True}, "epochs must be a positive int"),
    ({"epochs": 1, "seed": "0"}, "seed must be an int"),
    ({"epochs": 1, "seed": 1.0}, "seed must be an int"),
])
def test_integer_arguments_follow_one_rule(loaders, kwargs, message):
    model = make_model()
    with pytest.raises(ValueError, match=message):
        fit(model, sgd(model), loaders[0], progress=False, **kwargs)


def test_numpy_integers_are_integers(loaders):
    import numpy as np

    model = make_model()
    history = fit(model, sgd(model), loaders[0], epochs=np.int64(1), seed=np.int32(3), progress=False)
    assert history.epoch == [1]


def test_train_step_runs_the_five_lines_and_calls_before_update_before_backward():
    from camp_utils.train import train_step

    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(5, 4), torch.randint(0, 3, (5,))
    seen = []
    before = model.weight.detach().clone()
    loss, outputs = train_step(model, optimizer, x, y, torch.nn.CrossEntropyLoss(),
                               before_update=lambda loss, out: seen.append(model.weight.grad))
    assert seen == [None]  # called after the forward pass, before backward()
    assert outputs.shape == (5, 3) and loss.dim() == 0
    assert torch.allclose(model.weight, before - 0.1 * model.weight.grad)
    with pytest.raises(ValueError, match="one number per batch"):
        train_step(model, optimizer, x, y, torch.nn.CrossEntropyLoss(reduction="none"))


def test_describe_scheduler_names_the_class_and_its_settings():
    from torch.optim.lr_scheduler import MultiStepLR, ReduceLROnPlateau, StepLR

    from camp_utils.train import describe_scheduler

    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    assert describe_scheduler(None) == "no scheduler"
    assert describe_scheduler(StepLR(optimizer, step_size=4, gamma=0.1)) == "StepLR(step_size=4, gamma=0.1)"
    assert describe_scheduler(MultiStepLR(optimizer, milestones=[5, 3])) == "MultiStepLR(milestones=[3, 5], gamma=0.1)"
    assert describe_scheduler(ReduceLROnPlateau(optimizer, factor=0.5, patience=1)).startswith(
        "ReduceLROnPlateau(factor=0.5, ")

    class Halving:  # a scheduler of one's own, without a state_dict
        def __init__(self, optimizer):
            self.optimizer = optimizer

    assert describe_scheduler(Halving(optimizer)) == "Halving()"


def test_fit_writes_its_scheduler_into_the_run(tmp_path):
    from torch.optim.lr_scheduler import StepLR

    from camp_utils.homework import _texts
    from camp_utils.tb import run_writer

    model = nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    data = DataLoader(TensorDataset(torch.randn(8, 2), torch.randint(0, 2, (8,))), batch_size=4)
    with run_writer(19, "mine", root=tmp_path) as writer:
        fit(model, optimizer, data, epochs=1, scheduler=StepLR(optimizer, 2), writer=writer, log_histograms=False,
            device="cpu", progress=False)
    assert _texts(tmp_path / "19" / "mine", "scheduler") == ["StepLR(step_size=2, gamma=0.1) · step() per epoch"]
