"""The lessons' photograph and the honest AlexNet builder (pretrained only when weights exist)."""
import socket

import pytest
import torch

from camp_utils.images import IMAGENET_MEAN, load_photo, photo_path, photo_tensor
from camp_utils.weights import PretrainedWeightsWarning, _alexnet_cache_file, alexnet, imagenet_categories


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    attempts = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError(f"network blocked by the test (tried {address})")

    def refuse_lookup(host, *args, **kwargs):
        attempts.append(host)
        raise OSError(f"network blocked by the test (looked up {host})")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse_lookup)
    return attempts


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return tmp_path / "torch_home"


def test_default_photo_ships_with_matplotlib_and_loads_as_rgb():
    assert photo_path().name == "grace_hopper.jpg"
    image = load_photo()
    assert image.mode == "RGB" and min(image.size) >= 224


def test_photo_tensor_is_a_normalised_batch_of_the_asked_size():
    x = photo_tensor(size=64)
    assert x.shape == (1, 3, 64, 64) and x.dtype == torch.float32
    # normalised: roughly zero-centred per channel, not in [0, 1]
    assert x.min() < 0 < x.max()


def test_missing_path_folder_and_non_image_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_photo(tmp_path / "nope.jpg")
    with pytest.raises(ValueError, match="is a folder"):
        load_photo(tmp_path)
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="not an image"):
        load_photo(text)
    with pytest.raises(ValueError, match="size must be"):
        photo_tensor(size=True)


def test_learner_image_path_is_used(tmp_path):
    from PIL import Image

    path = tmp_path / "mine.png"
    Image.new("RGB", (40, 30), (255, 0, 0)).save(path)
    x = photo_tensor(path, size=16)
    red = (1.0 - IMAGENET_MEAN[0]) / 0.229
    assert torch.allclose(x[0, 0], torch.full((16, 16), red), atol=1e-4)


def test_a_phone_photo_is_turned_upright_by_its_exif_orientation(tmp_path):
    from PIL import Image

    sensor = Image.new("RGB", (40, 20), (0, 0, 0))
    sensor.paste((255, 0, 0), (0, 0, 10, 20))  # red stripe on the left of what the sensor saw
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to view
    sensor.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    photo = load_photo(tmp_path / "phone.jpg")
    assert photo.size == (20, 40)  # portrait, as the phone showed it
    red, green, _ = photo.getpixel((10, 3))  # the stripe is now at the top
    assert red > 200 and green < 60


def test_a_16_bit_png_is_scaled_to_8_bits_not_clipped_to_white(tmp_path):
    import numpy as np
    from PIL import Image

    ramp = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1024).astype(np.uint16)  # 0 .. 64512
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    pixels = np.asarray(load_photo(tmp_path / "deep.png"))[..., 0]
    assert (pixels == 255).mean() < 0.05  # convert("RGB") alone made 98 % of them white
    assert pixels[0, 0] == 0 and pixels[7, 7] == round(63 * 1024 / 65535 * 255)


def test_alexnet_offline_and_not_cached_is_random_and_says_so_without_network(torch_home, no_network):
    with pytest.warns(PretrainedWeightsWarning, match="RANDOM weights.*not in PyTorch's cache"):
        model, pretrained = alexnet()
    assert pretrained is False and not model.training
    assert no_network == []


def test_alexnet_download_failure_is_reported_not_hidden(torch_home, no_network):
    with pytest.warns(PretrainedWeightsWarning, match="downloading them failed"):
        _, pretrained = alexnet(download=True)
    assert pretrained is False and no_network  # it did try, because it was allowed to


def test_alexnet_loads_weights_from_torchvisions_cache_under_torch_home(torch_home, no_network, monkeypatch):
    import hashlib

    from torchvision.models import alexnet as build

    from camp_utils import weights

    torch.manual_seed(3)
    reference = build(weights=None)
    cache = _alexnet_cache_file()
    assert str(cache).startswith(str(torch_home))
    cache.parent.mkdir(parents=True)
    staged = cache.parent / "staged.pth"
    torch.save(reference.state_dict(), staged)
    # a file named as torch.hub names checkpoints: the first 8 hex digits of its own sha256
    named = cache.parent / f"alexnet-owt-{hashlib.sha256(staged.read_bytes()).hexdigest()[:8]}.pth"
    staged.rename(named)
    monkeypatch.setattr(weights, "_alexnet_cache_file", lambda: named)
    model, pretrained = alexnet()
    assert pretrained is True and no_network == []
    for (name, a), b in zip(reference.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name


def test_alexnet_random_weights_saved_under_the_published_name_are_not_pretrained(torch_home, no_network):
    from torchvision.models import alexnet as build

    cache = _alexnet_cache_file()
    cache.parent.mkdir(parents=True)
    torch.save(build(weights=None).state_dict(), cache)  # loads fine, but it is not ImageNet's file
    with pytest.warns(PretrainedWeightsWarning, match="is not the published one .*sha256 starts with"):
        _, pretrained = alexnet()
    assert pretrained is False


def test_alexnet_corrupt_cache_file_is_reported(torch_home, no_network):
    cache = _alexnet_cache_file()
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"garbage")
    with pytest.warns(PretrainedWeightsWarning, match="not the published one"):
        _, pretrained = alexnet()
    assert pretrained is False


def test_alexnet_rejects_non_bool_download():
    with pytest.raises(ValueError, match="download must be True or False"):
        alexnet(download="yes")


def test_imagenet_categories_are_the_thousand_class_names():
    names = imagenet_categories()
    assert len(names) == 1000 and names[0] == "tench"
