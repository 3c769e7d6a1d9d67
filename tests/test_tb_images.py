"""camp_utils.tb.read_images: images written by a SummaryWriter, read back pixel for pixel."""
import numpy as np
import pytest
import torch

from camp_utils import tb


def write(folder, calls):
    """Write with a plain SummaryWriter: ``calls(writer)`` does the add_* calls."""
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(log_dir=str(folder)) as writer:
        calls(writer)
    return folder


def test_uint8_chw_image_comes_back_exactly_as_hwc(tmp_path):
    generator = torch.Generator().manual_seed(0)
    image = torch.randint(0, 256, (3, 5, 7), dtype=torch.uint8, generator=generator)
    folder = write(tmp_path / "run", lambda w: w.add_image("rgb", image, 0))
    (record,) = tb.read_images(folder, "rgb")["."]["rgb"]
    assert record.step == 0 and record.array.dtype == np.uint8
    assert record.array.shape == (5, 7, 3)
    np.testing.assert_array_equal(record.array, image.permute(1, 2, 0).numpy())


def test_floats_are_scaled_by_255_truncated_and_clipped(tmp_path):
    values = torch.tensor([0.0, 0.5, 1.0, 1.1, -0.2, 0.999]).reshape(1, 1, 6).expand(3, 1, 6)
    folder = write(tmp_path / "run", lambda w: w.add_image("floats", values, 0))
    pixels = tb.read_images(folder)["."]["floats"][0].array[0, :, 0]
    assert pixels.tolist() == [0, 127, 255, 255, 0, 254]


def test_hw_and_hwc_dataformats_give_the_same_picture(tmp_path):
    grey = torch.linspace(0, 1, 12).reshape(3, 4)

    def calls(w):
        w.add_image("hw", grey, 0, dataformats="HW")
        w.add_image("hwc", grey[:, :, None].expand(3, 4, 3), 0, dataformats="HWC")

    images = tb.read_images(write(tmp_path / "run", calls))["."]
    assert images["hw"][0].array.shape == (3, 4, 3)
    np.testing.assert_array_equal(images["hw"][0].array, images["hwc"][0].array)


def test_every_step_is_kept_in_order(tmp_path):
    # More than the 4 images per tag TensorBoard's reader keeps by default.
    def calls(w):
        for step in range(10):
            w.add_image("step", torch.full((3, 2, 2), step, dtype=torch.uint8), step)

    records = tb.read_images(write(tmp_path / "run", calls), "step")["."]["step"]
    assert [r.step for r in records] == list(range(10))
    assert [int(r.array[0, 0, 0]) for r in records] == list(range(10))


def test_add_images_batch_is_one_record_tiled_without_padding(tmp_path):
    # The writer tiles up to 8 images per row, no gaps: 10 images of 4 x 5 -> 2 rows, 8 columns.
    batch = torch.arange(10, dtype=torch.uint8).reshape(10, 1, 1, 1).expand(10, 3, 4, 5)
    folder = write(tmp_path / "run", lambda w: w.add_images("batch", batch, 0))
    (record,) = tb.read_images(folder)["."]["batch"]
    assert record.array.shape == (2 * 4, 8 * 5, 3)
    assert record.array[4, 5, 0] == 9 and record.array[4, 10, 0] == 0  # image 9, then empty canvas


def test_sub_runs_are_separate_runs(tmp_path):
    image = torch.zeros(3, 2, 2)
    write(tmp_path / "a", lambda w: w.add_image("x", image, 0))
    write(tmp_path / "b", lambda w: w.add_image("x", image, 0))
    assert sorted(tb.read_images(tmp_path, "x")) == ["a", "b"]


def test_add_figure_is_read_back_as_rgb_of_the_figure_size(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1), dpi=50)
    fig.add_subplot().plot([0, 1], [0, 1])
    folder = write(tmp_path / "run", lambda w: w.add_figure("figure", fig, 0))
    array = tb.read_images(folder, "figure")["."]["figure"][0].array
    assert array.shape == (50, 100, 3)


def test_unknown_tag_names_the_tags_that_exist(tmp_path):
    folder = write(tmp_path / "run", lambda w: w.add_image("real", torch.zeros(3, 2, 2), 0))
    with pytest.raises(ValueError, match=r"'missing'.*real"):
        tb.read_images(folder, "missing")


def test_folder_without_images_says_so(tmp_path):
    folder = write(tmp_path / "run", lambda w: w.add_scalar("loss", 1.0, 0))
    with pytest.raises(ValueError, match="no images"):
        tb.read_images(folder)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        tb.read_images(tmp_path / "nowhere")


def test_a_damaged_event_file_is_reported_as_read_scalars_reports_it(tmp_path):
    folder = write(tmp_path / "run", lambda w: [w.add_image("pic", torch.full((3, 4, 4), i / 20.0), i)
                                                for i in range(20)])
    event_file = next(folder.glob("events.out.tfevents.*"))
    data = bytearray(event_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    event_file.write_bytes(bytes(data))
    with pytest.warns(tb.DamagedEventFileWarning, match=r"is damaged at byte \d+: 1 record\(s\) fail their checksum"):
        images = tb.read_images(folder)["."]["pic"]
    assert 0 < len(images) < 20  # what could be read, and the warning says what could not
