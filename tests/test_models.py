"""camp_utils.models (the architectures) and camp_utils.weights (the cached trained GapNet)."""
import pytest
import torch

from camp_utils import models, weights
from camp_utils.models import GapNet, LeNet
from camp_utils.weights import trained_gapnet


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
    dataset = dict(weights.GAPNET_RECIPE["dataset"], train=128, valid=64, test=64)
    monkeypatch.setitem(weights.GAPNET_RECIPE, "dataset", dataset)
    monkeypatch.setitem(weights.GAPNET_RECIPE, "epochs", 1)


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
    with pytest.warns(UserWarning, match=r"ignoring the cached model .*gapnet_shapes.pt': it cannot be read"):
        _, info = trained_gapnet(cache_dir=tmp_path)
    assert info["source"] == "trained"
    assert trained_gapnet(cache_dir=tmp_path)[1]["source"] == "cache"


def test_stale_cache_is_retrained(tmp_path, tiny_recipe, monkeypatch):
    trained_gapnet(cache_dir=tmp_path)
    monkeypatch.setitem(weights.GAPNET_RECIPE, "batch_size", 32)  # the recipe changed
    with pytest.warns(UserWarning, match="another recipe, architecture or torch version"):
        assert trained_gapnet(cache_dir=tmp_path)[1]["source"] == "trained"


def test_cache_with_wrong_tensors_is_retrained(tmp_path, tiny_recipe):
    trained_gapnet(cache_dir=tmp_path)
    saved = torch.load(tmp_path / "gapnet_shapes.pt", weights_only=True)
    saved["state_dict"].pop("fc.bias")
    torch.save(saved, tmp_path / "gapnet_shapes.pt")
    with pytest.warns(UserWarning, match="its tensors do not fit GapNet"):
        assert trained_gapnet(cache_dir=tmp_path)[1]["source"] == "trained"


def test_real_trained_gapnet_reaches_95_percent():
    """The model lessons 22 and 23 use, from the same cache they use (``cache_dir()``: ``data/cache``, or the
    kernel setting's own folder under ``course.py test --portable``). On a clean clone this test trains it there
    (about half a minute on 2 CPU cores) and the lessons then load it: the recipe is trained once per setting.
    """
    model, info = trained_gapnet()
    assert info["test_accuracy"] >= 0.95
    assert isinstance(model, GapNet) and not model.training


# ----------------------------------------------------------------- issue 6: the cache
def test_integer_arguments_follow_one_rule():
    import numpy as np

    assert LeNet(np.int64(4))(torch.zeros(1, 3, 32, 32)).shape == (1, 4)
    assert GapNet(4, width=np.int64(2)).fc.in_features == 8
    with pytest.raises(ValueError, match="width must be a positive int"):
        GapNet(4, width=True)


def test_a_cache_with_nan_weights_is_retrained_with_a_warning(tmp_path, tiny_recipe):
    trained_gapnet(cache_dir=tmp_path)
    saved = torch.load(tmp_path / "gapnet_shapes.pt", weights_only=True)
    saved["state_dict"]["fc.weight"][0, 0] = float("nan")
    torch.save(saved, tmp_path / "gapnet_shapes.pt")
    with pytest.warns(UserWarning, match=r"its weights contain NaN or inf \(fc.weight\)") as caught:
        model, info = trained_gapnet(cache_dir=tmp_path)
    assert len([w for w in caught if "ignoring the cached model" in str(w.message)]) == 1
    assert info["source"] == "trained"
    assert all(torch.isfinite(t).all() for t in model.state_dict().values() if t.is_floating_point())


def test_an_unwritable_cache_folder_is_refused_before_training(tmp_path, monkeypatch):
    def must_not_train():
        raise AssertionError("trained although the result could not be saved")

    monkeypatch.setattr(weights, "_train_gapnet", must_not_train)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(PermissionError, match=r"cannot write to .*a_file"):
        trained_gapnet(cache_dir=blocker)


def test_a_folder_where_the_cache_file_should_be_is_refused_before_training(tmp_path, monkeypatch):
    def must_not_train():
        raise AssertionError("trained although the result could not be saved")

    monkeypatch.setattr(weights, "_train_gapnet", must_not_train)
    (tmp_path / "gapnet_shapes.pt").mkdir()
    with pytest.raises(ValueError, match=r"gapnet_shapes.pt' exists but is not a file"):
        trained_gapnet(cache_dir=tmp_path)


def test_a_failed_save_leaves_no_temporary_file(tmp_path, tiny_recipe, monkeypatch):
    def broken_save(obj, path):
        with open(path, "wb") as f:
            f.write(b"half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(weights.torch, "save", broken_save)
    with pytest.raises(OSError, match="No space left"):
        trained_gapnet(cache_dir=tmp_path / "cache")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == []


def test_the_architectures_sit_below_the_training_loop_and_the_moved_names_still_import():
    # camp_utils.models imports neither the loop nor the weights; camp_utils.weights sits above both
    import subprocess
    import sys

    code = ("import sys, camp_utils.models; print(sorted(m for m in ('camp_utils.train', 'camp_utils.weights', "
            "'camp_utils.data') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
    from camp_utils.models import alexnet  # code written before the move
    from camp_utils.models import trained_gapnet as moved

    assert moved is weights.trained_gapnet and alexnet is weights.alexnet
    with pytest.raises(AttributeError, match="has no attribute 'train_gapnet'"):
        models.train_gapnet  # noqa: B018
