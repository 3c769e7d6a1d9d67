"""camp_utils.state: what is taken is given back, exactly."""
import pytest
import torch
from torch import nn

from camp_utils.state import deterministic_kernels, eval_mode, model_device, preserved, seeded, train_mode


def net():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Dropout(0.2), nn.Linear(6, 2))
    model.register_buffer("seen", torch.zeros(()), persistent=False)
    return model


def test_modes_come_back_module_by_module():
    model = net().train()
    model[1].eval()
    for borrow in (eval_mode, train_mode):
        with borrow(model):
            assert all(m.training == (borrow is train_mode) for m in model.modules())
        assert model.training and not model[1].training and model[2].training


def test_seeded_starts_from_the_seed_and_gives_the_random_state_back():
    torch.manual_seed(123)
    expected_after = torch.rand(3)
    torch.manual_seed(123)
    with seeded(7):
        inside = torch.rand(2)
    assert torch.equal(torch.rand(3), expected_after)
    torch.manual_seed(7)
    assert torch.equal(torch.rand(2), inside)
    with pytest.raises(ValueError, match="seed"), seeded(1.5):
        pass


def test_preserved_restores_weights_buffers_grads_modes_and_optimizer_in_place():
    model = net().train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(8, 4)).sum().backward()
    optimizer.step()
    weight = model[0].weight  # a reference the caller holds
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grads = [p.grad.clone() for p in model.parameters()]
    momentum = optimizer.state[weight]["momentum_buffer"].clone()
    with preserved(model, optimizer):
        model.eval()
        optimizer.param_groups[0]["lr"] = 5.0
        for _ in range(3):
            optimizer.zero_grad()
            model.train()(torch.randn(8, 4)).sum().backward()
            optimizer.step()
        model.seen.add_(3)
    assert model[0].weight is weight
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads))
    assert model.seen.item() == 0 and model.training
    assert optimizer.param_groups[0]["lr"] == 0.1
    assert torch.equal(optimizer.state[model[0].weight]["momentum_buffer"], momentum)


def test_preserved_restores_after_an_error_too():
    model = net()
    before = model[0].weight.clone()
    with pytest.raises(RuntimeError, match="boom"), preserved(model):  # noqa: PT012 -- the error is raised inside
        with torch.no_grad():
            model[0].weight.add_(1)
        raise RuntimeError("boom")
    assert torch.equal(model[0].weight, before)


def test_deterministic_kernels_gives_the_cudnn_switches_back():
    cudnn = torch.backends.cudnn
    saved = cudnn.deterministic, cudnn.benchmark
    cudnn.benchmark = True
    with deterministic_kernels():
        assert cudnn.deterministic and not cudnn.benchmark
    assert cudnn.benchmark and cudnn.deterministic == saved[0]
    cudnn.deterministic, cudnn.benchmark = saved


def test_model_device_without_parameters():
    assert model_device(nn.Identity()) == torch.device("cpu")
    assert model_device(net()) == torch.device("cpu")
    with pytest.raises(ValueError, match=r"torch.nn.Module"):
        model_device("model")


def test_preserved_gives_a_tensor_lr_back_in_place():
    model = net()
    lr = torch.tensor(0.1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    with preserved(model, optimizer):
        optimizer.param_groups[0]["lr"].fill_(7.0)
    assert optimizer.param_groups[0]["lr"] is lr and lr.item() == pytest.approx(0.1)


def test_lr_find_leaves_a_tensor_lr_as_it_was():
    from torch.utils.data import DataLoader, TensorDataset

    from camp_utils.schedules import lr_find

    model = net()
    lr = torch.tensor(0.05)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(torch.randn(32, 4), torch.randint(0, 2, (32,))), batch_size=8)
    lr_find(model, optimizer, loader, num_iter=6, end_lr=1.0)
    assert optimizer.param_groups[0]["lr"] is lr and lr.item() == pytest.approx(0.05)
