"""camp_utils.models: architectures and the cached trained GapNet."""
import pytest
import torch

from camp_utils import models
from camp_utils.models import GapNet, LeNet, trained_gapnet


def test_lenet_logits_shape():
    assert LeNet(4)(torch.zeros(2, 3, 32, 32)).shape == (2, 4)


def test_lenet_explains_wrong_input_size():
    with pytest.raises(ValueError, match=r"\(B, 3, 32, 32\), got \(2, 3, 28, 28\)"):
        LeNet(10)(torch.zeros(2, 3, 28, 28))


def test_gapnet_is_features_pool_fc():
    net = GapNet(4)
    x = torch.zeros(2, 3, 32, 32)
    maps = net.features(x)
    assert maps.shape == (2, 64, 8, 8)
    assert torch.allclose(net(x), net.fc(maps.mean((2, 3))))


@pytest.mark.parametrize("classes", [1, 0, 2.5, True])
def test_class_count_is_checked(classes):
    with pytest.raises(ValueError, match="classes must be an int >= 2"):
        LeNet(classes)
    with pytest.raises(ValueError, match="classes must be an int >= 2"):
        GapNet(classes)


@pytest.fixture
def tiny_recipe(monkeypatch):
    """Train on a few images for one epoch: enough to exercise the cache logic."""
    dataset = dict(models.GAPNET_RECIPE["dataset"], train=128, valid=64, test=64)
    monkeypatch.setitem(models.GAPNET_RECIPE, "dataset", dataset)
    monkeypatch.setitem(models.GAPNET_RECIPE, "epochs", 1)


def test_trained_gapnet_trains_once_then_loads_the_cache(tmp_path, tiny_recipe):
    first, info = trained_gapnet(cache_dir=tmp_path)
    assert info["source"] == "trained" and (tmp_path / "gapnet_shapes.pt").is_file()
    second, info2 = trained_gapnet(cache_dir=tmp_path)
    assert info2["source"] == "cache" and info2["test_accuracy"] == info["test_accuracy"]
    assert not second.training
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)


def test_corrupt_cache_is_retrained(tmp_path, tiny_recipe):
    (tmp_path / "gapnet_shapes.pt").write_bytes(b"not a checkpoint")
    _, info = trained_gapnet(cache_dir=tmp_path)
    assert info["source"] == "trained"
    assert trained_gapnet(cache_dir=tmp_path)[1]["source"] == "cache"


def test_stale_cache_is_retrained(tmp_path, tiny_recipe, monkeypatch):
    trained_gapnet(cache_dir=tmp_path)
    monkeypatch.setitem(models.GAPNET_RECIPE, "batch_size", 32)  # the recipe changed
    assert trained_gapnet(cache_dir=tmp_path)[1]["source"] == "trained"


def test_cache_with_wrong_tensors_is_retrained(tmp_path, tiny_recipe):
    trained_gapnet(cache_dir=tmp_path)
    saved = torch.load(tmp_path / "gapnet_shapes.pt", weights_only=True)
    saved["state_dict"].pop("fc.bias")
    torch.save(saved, tmp_path / "gapnet_shapes.pt")
    assert trained_gapnet(cache_dir=tmp_path)[1]["source"] == "trained"


def test_real_trained_gapnet_reaches_95_percent():
    """The model lesson 23 uses (trains once into data/cache, ~15 s on 2 CPU cores)."""
    model, info = trained_gapnet()
    assert info["test_accuracy"] >= 0.95
    assert isinstance(model, GapNet) and not model.training
