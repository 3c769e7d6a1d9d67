"""camp_utils.data: the embedded dataset, loaders, real datasets and image folders."""
import urllib.error

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms

from camp_utils import data
from camp_utils.data import ShapesDataset


@pytest.fixture(scope="module")
def train():
    return ShapesDataset("train", 2000)


def test_shapes_are_what_the_docstring_says(train):
    assert train.images.shape == (2000, 3, 32, 32) and train.images.dtype == torch.uint8
    assert train.labels.shape == (2000,) and train.labels.dtype == torch.int64
    assert train.boxes.shape == (2000, 4)
    assert train.classes == ("circle", "square", "triangle", "cross")
    assert torch.bincount(train.labels).tolist() == [500] * 4


def test_item_is_float_image_in_unit_range_and_int_label(train):
    image, label = train[0]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert label == int(train.labels[0])


def test_same_seed_same_images_other_seed_other_images():
    a, b = ShapesDataset("valid", 300), ShapesDataset("valid", 300)
    assert torch.equal(a.images, b.images) and torch.equal(a.boxes, b.boxes)
    assert not torch.equal(a.images, ShapesDataset("valid", 300, seed=1).images)


def test_splits_do_not_overlap():
    seen = {}
    for split in ("train", "valid", "test"):
        for img in ShapesDataset(split, 1000).images:
            seen.setdefault(img.numpy().tobytes(), set()).add(split)
    assert all(len(splits) == 1 for splits in seen.values())
    assert len(seen) == 3000  # no duplicates within a split either


def test_boxes_lie_inside_the_image_and_fit_the_object_size(train):
    x0, y0, x1, y1 = train.boxes.T
    assert (x0 >= 0).all() and (y0 >= 0).all() and (x1 <= 32).all() and (y1 <= 32).all()
    width, height = x1 - x0, y1 - y0
    assert (width >= 5).all() and (height >= 5).all()
    assert (width <= 24).all() and (height <= 24).all()


def test_box_is_the_tight_box_of_the_object_mask(train):
    for i in range(0, 2000, 50):
        x0, y0, x1, y1 = train.boxes[i].tolist()
        mask = train.masks[i]
        assert mask[y0:y1, x0:x1].sum() == mask.sum() > 0  # every object pixel is inside
        # tight: the box's first and last rows and columns each hold object pixels
        assert mask[y0, x0:x1].any() and mask[y1 - 1, x0:x1].any()
        assert mask[y0:y1, x0].any() and mask[y0:y1, x1 - 1].any()


def test_object_stands_out_from_the_background_around_it(train):
    """One (lightly shaded) colour per object, clearly different from a 2-pixel ring around it."""
    masks = train.masks[:, None].float()
    ring = (torch.nn.functional.max_pool2d(masks, 5, stride=1, padding=2) - masks)[:, 0].bool()
    images = train.images.float() / 255
    contrast, spread = [], []
    for img, mask, around in zip(images, train.masks, ring):
        obj = img[:, mask]
        contrast.append((obj.mean(1) - img[:, around].mean(1)).norm().item())
        spread.append(obj.std(1).max().item())
    assert np.quantile(contrast, 0.05) > 0.2
    assert np.quantile(spread, 0.95) < 0.15


def test_colour_does_not_give_the_class_away(train):
    """Nearest-centroid on mean colour is close to chance (25 %)."""
    features = train.images.float().mean((2, 3))
    centroids = torch.stack([features[train.labels == c].mean(0) for c in range(4)])
    predicted = torch.cdist(features, centroids).argmin(1)
    accuracy = (predicted == train.labels).float().mean().item()
    assert accuracy < 0.35


def test_transform_is_applied():
    ds = ShapesDataset("valid", 10, transform=data.shapes_transform())
    raw = ShapesDataset("valid", 10)[3][0]
    expected = (raw - torch.tensor(data.SHAPES_MEAN)[:, None, None]) / torch.tensor(data.SHAPES_STD)[:, None, None]
    assert torch.allclose(ds[3][0], expected)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"split": "validation"}, "split must be one of"),
    ({"n": 0}, "n must be a positive int"),
    ({"image_size": 8}, "image_size must be an int >= 16"),
])
def test_bad_arguments_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ShapesDataset(**kwargs)


def test_loaders_have_the_right_sizes_and_normalised_batches():
    tr, va, te = data.shapes_loaders(50, sizes={"train": 200, "valid": 100, "test": 100})
    assert [len(loader.dataset) for loader in (tr, va, te)] == [200, 100, 100]
    images, labels = next(iter(tr))
    assert images.shape == (50, 3, 32, 32) and labels.shape == (50,)
    assert images.min() < 0 < images.max()


def test_loaders_reject_unknown_split_and_bad_batch_size():
    with pytest.raises(ValueError, match="unknown split"):
        data.shapes_loaders(sizes={"val": 10})
    with pytest.raises(ValueError, match="batch_size"):
        data.shapes_loaders(0)


@pytest.mark.parametrize("shuffle", [True, False])
def test_tensor_loader_gives_the_usual_loaders_batches_in_its_order(shuffle):
    dataset = torch.utils.data.TensorDataset(torch.randn(70, 3, 4, 4), torch.arange(70))
    torch.manual_seed(3)
    usual = [list(batch) for _ in range(2) for batch in torch.utils.data.DataLoader(dataset, 16, shuffle=shuffle)]
    after_usual = torch.rand(1)
    torch.manual_seed(3)
    loader = data.tensor_loader(dataset, 16, shuffle=shuffle)
    ours = [list(batch) for _ in range(2) for batch in loader]
    assert len(loader) == 5 and [len(b[1]) for b in ours] == [16, 16, 16, 16, 6] * 2
    assert all(torch.equal(u, o) for ub, ob in zip(usual, ours, strict=True) for u, o in zip(ub, ob, strict=True))
    assert torch.equal(torch.rand(1), after_usual)  # the same draws from the global random state
    first, second = ours[0][1], ours[5][1]
    assert torch.equal(first, second) != shuffle  # a new order every pass only when shuffling


def test_tensor_loader_explains_bad_arguments(train):
    tensors = torch.utils.data.TensorDataset(torch.zeros(4, 1))
    with pytest.raises(ValueError, match=r"dataset must be a torch.utils.data.TensorDataset.*got ShapesDataset"):
        data.tensor_loader(train, 8)
    with pytest.raises(ValueError, match="batch_size"):
        data.tensor_loader(tensors, 0)
    with pytest.raises(ValueError, match="shuffle must be True or False"):
        data.tensor_loader(tensors, 2, shuffle="yes")


def test_denormalize_inverts_normalize():
    images = torch.rand(4, 3, 8, 8)
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.3, 0.25)
    normalised = transforms.Normalize(mean, std)(images)
    restored = data.denormalize(normalised, mean, std)
    assert torch.allclose(restored, images, atol=1e-6)
    assert torch.equal(normalised, transforms.Normalize(mean, std)(images))  # input untouched


def test_denormalize_checks_shapes():
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        data.denormalize(torch.rand(8, 8))
    with pytest.raises(ValueError, match="one per channel"):
        data.denormalize(torch.rand(1, 8, 8), (0.5, 0.5, 0.5), (0.2, 0.2, 0.2))


# ----------------------------------------------------------------- real datasets
def test_missing_dataset_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"CIFAR-10 was not found in .*download=True"):
        data.load_dataset("cifar10", root=tmp_path)
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        data.load_dataset("Fashion-MNIST", root=tmp_path)


def test_failed_download_is_a_clear_connection_error(tmp_path, monkeypatch):
    import torchvision.datasets.cifar as cifar

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(cifar, "download_and_extract_archive", offline)
    with pytest.raises(ConnectionError, match="offline"):
        data.load_dataset("cifar10", root=tmp_path, download=True)


def test_unknown_dataset_and_split():
    with pytest.raises(ValueError, match=r"name must be .cifar10. or .fashionmnist., got .imagenet."):
        data.load_dataset("imagenet")
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        data.load_dataset("cifar10", split="valid")


def _write_images(folder, n, colour):
    folder.mkdir(parents=True)
    for i in range(n):
        Image.new("RGB", (40, 30), colour).save(folder / f"{i}.png")


def test_image_folder_loads_classes_and_resizes(tmp_path):
    _write_images(tmp_path / "rmb" / "1", 3, (200, 30, 30))
    _write_images(tmp_path / "rmb" / "100", 2, (30, 30, 200))
    ds = data.load_image_folder(tmp_path / "rmb")
    assert ds.classes == ["1", "100"] and len(ds) == 5
    image, label = ds[4]
    assert image.shape == (3, 32, 32) and label == 1
    restored = data.denormalize(image, *data.DATASET_STATS["imagenet"])
    assert restored[2].mean() > restored[0].mean()  # the blue note stays blue


def test_image_folder_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        data.load_image_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no class sub-folders"):
        data.load_image_folder(tmp_path / "empty")
    (tmp_path / "text" / "a").mkdir(parents=True)
    (tmp_path / "text" / "a" / "readme.txt").write_text("not an image")
    with pytest.raises(ValueError, match="hold no image that ImageFolder loads"):
        data.load_image_folder(tmp_path / "text")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_data_errors_a_learner_meets_on_the_homework_path_are_in_their_language(tmp_path, monkeypatch, lang):
    # lesson 22's own-photos cell prints these; with `course.py lab --lang zh` (CAMP_LANG=zh) they are Chinese
    monkeypatch.setenv("CAMP_LANG", lang)
    (tmp_path / "empty").mkdir()
    (tmp_path / "text" / "a").mkdir(parents=True)
    (tmp_path / "text" / "a" / "readme.txt").write_text("not an image")
    (tmp_path / "photo.png").write_bytes(b"")
    expected = {  # (call, error, English, Chinese): each names the folder it is about
        "missing": (lambda: data.load_image_folder(tmp_path / "nope"), FileNotFoundError,
                    "image folder '.*nope' does not exist; expected", "图像文件夹 '.*nope' 不存在"),
        "file": (lambda: data.load_image_folder(tmp_path / "photo.png"), NotADirectoryError,
                 "photo.png' is a file, not a folder", "photo.png' 是一个文件，不是文件夹"),
        "no classes": (lambda: data.load_image_folder(tmp_path / "empty"), ValueError,
                       "empty' has no class sub-folders", "empty' 里没有按类别分的子文件夹"),
        "no images": (lambda: data.load_image_folder(tmp_path / "text"), ValueError,
                      r"hold no image that ImageFolder loads .*found only \.txt files",
                      r"没有 ImageFolder 能读取的图像.*只找到 \.txt 文件"),
        "no dataset": (lambda: data.load_dataset("cifar10", root=tmp_path / "none"), FileNotFoundError,
                       r"CIFAR-10 was not found in .*download=True", r"没有找到 CIFAR-10.*download=True"),
    }
    for call, error, english, chinese in expected.values():
        with pytest.raises(error, match=english if lang == "en" else chinese):
            call()


# ----------------------------------------------------------------- issue 6: one rule for integers
@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n": True}, r"n must be a positive int \(number of images\), got True \(bool\)"),
    ({"n": 2.0}, "n must be a positive int"),
    ({"seed": "0"}, r"seed must be an int, got '0' \(str\)"),
    ({"image_size": True}, "image_size must be an int >= 16"),
])
def test_integer_arguments_are_integers_but_not_bools_or_strings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ShapesDataset("valid", **{"n": 4, **kwargs})


def test_numpy_integers_are_accepted_everywhere():
    ds = ShapesDataset("valid", np.int64(4), image_size=np.int32(16), seed=np.int64(1))
    assert len(ds) == 4 and ds.images.shape == (4, 3, 16, 16)
    tr, _va, _te = data.shapes_loaders(np.int64(2), sizes={"train": np.int64(4), "valid": 4, "test": 4},
                                     image_size=np.int64(16))
    assert len(tr) == 2 and len(tr.dataset) == 4


def test_loaders_refuse_bool_batch_size_and_sizes():
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        data.shapes_loaders(True)
    with pytest.raises(ValueError, match=r"sizes\['train'\] must be a positive int"):
        data.shapes_loaders(sizes={"train": True})


# ----------------------------------------------------------------- issue 6: denormalize
def test_denormalize_refuses_uint8_images():
    with pytest.raises(ValueError, match=r"must be floating point .* got torch.uint8"):
        data.denormalize(torch.zeros(3, 4, 4, dtype=torch.uint8))


def test_denormalize_takes_numpy_and_one_number_for_every_channel():
    images = torch.rand(2, 3, 4, 4)
    normalised = (images - 0.5) / 0.25
    from_scalars = data.denormalize(normalised, 0.5, 0.25)
    assert torch.allclose(from_scalars, images, atol=1e-6)
    from_numpy = data.denormalize(normalised.numpy(), (0.5,) * 3, (0.25,) * 3)
    assert isinstance(from_numpy, np.ndarray) and np.allclose(from_numpy, images.numpy(), atol=1e-6)


# ----------------------------------------------------------------- issue 6: files and folders
def test_image_folder_of_gif_files_is_explained(tmp_path):
    folder = tmp_path / "gifs" / "cats"
    folder.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "a.gif")
    with pytest.raises(ValueError, match=r"hold no image that ImageFolder loads .*found only \.gif files"):
        data.load_image_folder(tmp_path / "gifs")


def test_image_folder_that_is_a_file_says_so(tmp_path):
    (tmp_path / "photo.png").write_bytes(b"")
    with pytest.raises(NotADirectoryError, match=r"photo.png' is a file, not a folder"):
        data.load_image_folder(tmp_path / "photo.png")


def test_dataset_root_that_is_a_file_is_not_blamed_on_the_network(tmp_path):
    (tmp_path / "data").write_text("a file")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        data.load_dataset("cifar10", root=tmp_path / "data", download=True)


def test_a_local_error_while_downloading_is_raised_as_it_is(tmp_path, monkeypatch):
    import torchvision.datasets.cifar as cifar

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cifar, "download_and_extract_archive", disk_full)
    with pytest.raises(OSError, match="No space left") as info:
        data.load_dataset("cifar10", root=tmp_path, download=True)
    assert not isinstance(info.value, ConnectionError)


def test_batched_loading_gives_exactly_the_images_of_one_by_one_loading():
    from torch.utils.data import DataLoader

    ds = ShapesDataset("train", 40, image_size=16, seed=1, transform=data.shapes_transform())
    assert hasattr(ds, "__getitems__")
    batch = next(iter(DataLoader(ds, batch_size=40)))
    one_by_one = [ds[i] for i in range(40)]
    assert torch.equal(batch[0], torch.stack([image for image, _ in one_by_one]))
    assert batch[1].tolist() == [label for _, label in one_by_one]


def test_batched_loading_keeps_per_image_transforms_per_image():
    calls = []

    def transform(image):
        calls.append(image.shape)
        return image * 2

    ds = ShapesDataset("train", 6, image_size=16, seed=1, transform=transform)
    images = ds.__getitems__([0, 1, 2])
    assert len(calls) == 3 and all(shape == (3, 16, 16) for shape in calls)
    assert torch.equal(images[1][0], ds[1][0])
