"""Hardening, third round: each bad input gets a message that names the argument and what was expected.

One test per item of the issue (numbered as there); valid input keeps its old result.
"""
import http.server
import re
import threading
import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

from camp_utils import tb
from camp_utils.cam import cam, grad_cam, grad_cam_pp, overlay, pointing_game
from camp_utils.checks import check_number
from camp_utils.hooks import FeatureExtractor, find_layer
from camp_utils.schedules import LRFindResult, lr_find, plot_lr_find, plot_trace, trace
from camp_utils.state import preserved
from camp_utils.tb import proxy
from camp_utils.train import evaluate, fit


def _gap_net() -> nn.Sequential:
    """A net of conv -> ReLU -> pool -> global average pooling -> linear: small enough for every CAM method."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, 2))


# --------------------------------------------------------------------------- 1. numpy scalars are numbers
def test_1_overlay_and_check_number_take_numpy_real_scalars_and_still_refuse_bools():
    image, heat = torch.rand(3, 4, 4), torch.rand(4, 4)
    plain = overlay(image, heat, alpha=0.5)
    for alpha in (np.float32(0.5), np.float64(0.5), np.float16(0.5)):
        out = overlay(image, heat, alpha=alpha)
        assert out.dtype == np.float32 and np.array_equal(out, plain)
    assert check_number(np.float32(0.25), "x", low=0, high=1) == 0.25
    assert check_number(np.int64(3), "x", positive=True) == 3.0
    for bad in (np.float32(1.5), True, np.bool_(True), "0.5"):
        with pytest.raises(ValueError, match=r"^alpha must be a number in \[0, 1\], got "):
            overlay(image, heat, alpha=bad)
    for bad in (True, np.bool_(True)):
        with pytest.raises(ValueError, match=r"^x must be a finite number, got "):
            check_number(bad, "x")


# --------------------------------------------------------------------------- 2. None, nested lists, NUL bytes
@pytest.mark.parametrize(("call", "message"), [
    (lambda tmp: tb.read_scalars(None), r"logdir must be a folder path \(str or os\.PathLike\), got None \(NoneType\)"),
    (lambda tmp: tb.read_images(None), r"logdir must be a folder path \(str or os\.PathLike\), got None \(NoneType\)"),
    (lambda tmp: tb.read_scalars(f"{tmp}/a\0b"), r"logdir must be a folder path without NUL characters"),
    (lambda tmp: FeatureExtractor(nn.Sequential(nn.ReLU()), None),
     r"layers must be a layer name \(str\) or a list of them, e\.g\. \['features\.0'\], got None \(NoneType\)"),
    (lambda tmp: FeatureExtractor(nn.Sequential(nn.ReLU()), [["0"]]),
     r"layers must hold layer names \(str\), got \['0'\] \(list\) at position 0; give one flat list of names"),
    (lambda tmp: tb.run_dir(20, "lenet\0train", root=tmp),
     r"experiment must be a name without NUL characters \('\\x00'\), got 'lenet\\x00train' \(str\)"),
    (lambda tmp: tb.run_writer(20, "lenet\0train", root=tmp), r"experiment must be a name without NUL characters"),
    (lambda tmp: tb.run_writer("2\x000", "lenet", root=tmp), r"lesson must be a name without NUL characters"),
], ids=["read_scalars-None", "read_images-None", "read_scalars-NUL", "FeatureExtractor-None",
        "FeatureExtractor-nested", "run_dir-NUL", "run_writer-NUL", "run_writer-lesson-NUL"])
def test_2_none_nested_names_and_nul_bytes_are_refused_with_the_argument_named(tmp_path, call, message):
    with pytest.raises(ValueError, match=message):
        call(tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing was created on the way


# --------------------------------------------------------------------------- 3. empty event files, folders
def test_3_an_empty_event_file_or_a_folder_named_like_one_is_called_what_it_is(tmp_path):
    empty = tmp_path / "empty" / "events.out.tfevents.1.host"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="is an empty event file") as caught:
        tb.read_scalars(empty.parent)
    text = str(caught.value)
    assert f"'{empty}' is an empty event file (0 bytes" in text and "writer.flush()" in text
    assert "no scalars were written" in text and "other kinds" not in text

    folder = tmp_path / "folder" / "events.out.tfevents.2.host"
    folder.mkdir(parents=True)
    with pytest.raises(ValueError, match=re.escape(f"'{folder}' is a folder, not an event file")) as caught:
        tb.read_images(folder.parent)
    assert "no images were written" in str(caught.value) and "other kinds" not in str(caught.value)

    # beside a file of scalars, the images reader still says "other kinds" and adds the empty file
    with tb.run_writer(20, "line", root=tmp_path / "mixed") as writer:
        writer.add_scalar("y", 1.0, 0)
    (tmp_path / "mixed" / "20" / "line" / "events.out.tfevents.3.host").write_bytes(b"")
    with pytest.raises(ValueError, match=r"it has event files, but of other kinds\); besides, '.*"
                                         r"events\.out\.tfevents\.3\.host' is an empty event file"):
        tb.read_images(tmp_path / "mixed")
    assert tb.read_scalars(tmp_path / "mixed")["20/line"]["y"].values == [1.0]  # valid data: as before


# --------------------------------------------------------------------------- 4. CAM: dtype, size, empty maps
def test_4_cam_methods_name_images_dtype_and_size_and_empty_maps_are_called_empty():
    # transform=5 is data.py's (ShapesDataset, load_dataset, load_image_folder): not in this round.
    model = _gap_net().train()
    images = torch.rand(2, 3, 8, 8)
    reference = {f.__name__: f(model, images, "2") for f in (cam, grad_cam, grad_cam_pp)}
    for method in (cam, grad_cam, grad_cam_pp):
        for dtype in (torch.float64, torch.float16):
            with pytest.raises(ValueError, match=rf"^images must have the model's dtype torch\.float32, got "
                                                 rf"{re.escape(str(dtype))}: convert them with "
                                                 r"images\.to\(torch\.float32\)"):
                method(model, images.to(dtype), "2")
        for size in (2, 3):  # a kernel larger than the image / a pooling with nothing left
            with pytest.raises(ValueError, match=rf"^images of size {size}x{size} \(H x W\) are too small "
                                                 "for this model"):
                method(model, torch.rand(1, 3, size, size), "2")
        assert model.training and all(not m._forward_hooks for m in model.modules())  # left as found
        assert torch.equal(method(model, images, "2"), reference[method.__name__])  # valid input: as before
    with pytest.raises(ValueError, match=r"^heatmaps holds empty maps of size 0x0 \(H x W\)"):
        pointing_game(torch.zeros(2, 0, 0), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"^heatmap is an empty map of size 0x0"):
        overlay(torch.rand(3, 4, 4), torch.zeros(0, 0))


# --------------------------------------------------------------------------- 5. training loops
class _Stream(IterableDataset):
    def __iter__(self):
        return iter([(torch.zeros(4), 0)])


class _Liar:
    """Says it has 3 batches and yields none."""

    def __len__(self):
        return 3

    def __iter__(self):
        return iter([])


def test_5_fit_and_evaluate_name_the_loader_and_the_output_shape():
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    data = TensorDataset(torch.randn(8, 4), torch.randint(0, 3, (8,)))
    generator = ((x[None], y[None]) for x, y in data)
    cases = [
        (generator, None,
         r"^train_loader must have a length: a DataLoader over a map-style dataset .* got a generator"),
        (DataLoader(_Stream(), batch_size=2), None,
         r"^train_loader must have a length: .* got a DataLoader over _Stream, an IterableDataset without __len__"),
        (_Liar(), None, r"^train_loader yielded no samples in epoch 1, although len\(train_loader\) is 3"),
        (DataLoader(data, batch_size=4), [], r"^valid_loader yielded no samples"),
    ]
    for train_loader, valid_loader, message in cases:
        with pytest.raises(ValueError, match=message):
            fit(model, optimizer, train_loader, valid_loader, epochs=1, progress=False)
    images = DataLoader(TensorDataset(torch.randn(4, 3, 8, 8), torch.randint(0, 3, (4,))), batch_size=2)
    with pytest.raises(ValueError, match=r"^the model's output must be \(batch, classes\) logits, got a tensor of "
                                         r"shape \(2, 3, 8, 8\)"):
        evaluate(nn.ReLU(), images)
    with pytest.raises(ValueError, match=r"^loader yielded no samples"):  # evaluate's own name is unchanged
        evaluate(model, [])


# --------------------------------------------------------------------------- 6. schedules, aliased modules
class _Aliased(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3)
        self.b = self.a  # the same module under a second name
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.b(x).mean((2, 3)))


def test_6_trace_plots_and_aliased_modules():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = trace(lambda opt: torch.optim.lr_scheduler.StepLR(opt, 2), 4)
    assert steps.at(np.int64(2)) == steps.at(2)
    with pytest.raises(ValueError, match=r"^epoch must be an int \(an epoch of the trace, counted from 0\), got 1\.5"):
        steps.at(1.5)
    with pytest.raises(ValueError, match=r"^traces must be a Trace \(from trace\(\)\), a list of them or a dict "
                                         r"label -> Trace, got 'abc' \(str\)"):
        plot_trace("abc")
    with pytest.raises(ValueError, match=r"^traces must hold Trace objects \(from trace\(\)\), got int at position 1"):
        plot_trace([steps, 3])
    hand_made = LRFindResult(lrs=[1e-3, 1e-2], losses=[1.0, 0.5])
    with pytest.raises(ValueError, match=r"^result\.smoothed must hold one value per lr \(2 values\), got 0 values"):
        plot_lr_find(hand_made)
    hand_made.smoothed = [1.0, 0.7]
    with pytest.raises(ValueError, match=r"^result\.suggestion must be one of result\.lrs .* got nan"):
        plot_lr_find(hand_made)
    hand_made.suggestion, hand_made.min_loss_lr = 1e-3, 1e-2
    assert plot_lr_find(hand_made) is not None
    plt.close("all")

    model = _Aliased()
    assert find_layer(model, "b") == ("b", model.a)
    with FeatureExtractor(model, ["b"]) as fx:
        model(torch.rand(1, 3, 8, 8))
    assert tuple(fx.features["b"].shape) == (1, 4, 6, 6)
    assert grad_cam(model, torch.rand(1, 3, 8, 8), "b").shape == (1, 8, 8)


# --------------------------------------------------------------------------- 7. a host that is no address
def test_7_a_host_that_is_not_an_address_is_called_so(tmp_path):
    for allow_remote in (False, True):
        with pytest.raises(ValueError, match=r"^host must be an IP address or a host name, such as '127\.0\.0\.1' "
                                             r"or 'localhost', got '256\.1\.1\.1': it is not an IPv4 address"):
            tb.TensorBoardServer(tmp_path, host="256.1.1.1", port=6006, allow_remote=allow_remote)
    with pytest.raises(ValueError, match=r"^host must be .* got 'http://127\.0\.0\.1': it is a URL"):
        tb.TensorBoardServer(tmp_path, host="http://127.0.0.1", port=6006)
    with pytest.raises(ValueError, match="would serve TensorBoard, which has no login, to other machines"):
        tb.TensorBoardServer(tmp_path, host="192.168.1.5", port=6006)  # a real address: as before
    assert tb.TensorBoardServer(tmp_path, host="127.0.0.1", port=6006).host == "127.0.0.1"


# --------------------------------------------------------------------------- 8. NullWriter = SummaryWriter's methods
def test_8_null_writer_has_exactly_summary_writers_public_methods(tmp_path, monkeypatch):
    from torch.utils.tensorboard import SummaryWriter

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    writer = tb.run_writer(20, "ranks", root=tmp_path)
    assert isinstance(writer, tb.NullWriter) and not (tmp_path / "20").exists()
    public = [name for name in dir(SummaryWriter)
              if not name.startswith("_") and callable(getattr(SummaryWriter, name))]
    assert {"add_scalar", "add_hparams", "flush", "close", "get_logdir"} <= set(public)
    for name in public:
        if name != "get_logdir":
            assert getattr(writer, name)("tag", 1.0, 0) is None
    assert writer.get_logdir() == str(tmp_path / "20" / "ranks")
    with pytest.raises(AttributeError, match=r"NullWriter .* has no attribute 'add_scaler'; it has exactly "
                                             r"SummaryWriter's public methods.*did you mean 'add_scalar'"):
        writer.add_scaler("y", 1.0, 0)
    with pytest.raises(AttributeError, match="'file_writer' is not one of them"):
        writer.file_writer  # noqa: B018  an attribute of SummaryWriter, not a method
    with SummaryWriter(log_dir=str(tmp_path / "rank0")) as real, pytest.raises(AttributeError, match="add_scaler"):
        real.add_scaler("y", 1.0, 0)  # rank 0 fails the same way


# --------------------------------------------------------------------------- 9. docstrings that promised more
class _LoginFirst(http.server.BaseHTTPRequestHandler):
    """A Jupyter server that wants a password: every route but /login redirects to the login page."""

    def do_GET(self):
        if self.path.startswith("/login"):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>password</html>")
        else:
            self.send_response(302)
            self.send_header("Location", f"/login?next={self.path}")
            self.end_headers()

    def log_message(self, *args):
        pass


def test_9_server_can_proxy_says_what_a_login_redirect_gives_and_lr_find_keeps_the_group_dicts():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _LoginFirst)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        answer = proxy.server_can_proxy({"url": f"http://127.0.0.1:{httpd.server_port}/"}, timeout=5)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert answer is True
    doc = " ".join(proxy.server_can_proxy.__doc__.split())
    assert "login page, which answers 200: that gives ``True``" in doc
    assert "a password instead of a token" not in doc  # the old promise of None

    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    group, groups = optimizer.param_groups[0], optimizer.param_groups
    loader = DataLoader(TensorDataset(torch.randn(32, 4), torch.randint(0, 3, (32,))), batch_size=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the rules may disagree on so short a sweep
        lr_find(model, optimizer, loader, num_iter=10, skip_start=2)
    assert optimizer.param_groups is groups and optimizer.param_groups[0] is group
    assert group["lr"] == 0.05 and group["momentum"] == 0.9
    assert [id(p) for p in group["params"]] == [id(p) for p in model.parameters()]
    with preserved(model, optimizer):
        group["lr"] = 3.0
    assert optimizer.param_groups[0] is group and group["lr"] == 0.05


def test_null_writer_closes_figures_like_summary_writer(monkeypatch):
    # on ranks > 0 every figure handed to add_figure is closed, as SummaryWriter.add_figure(close=True) does
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from camp_utils.tb.runs import NullWriter

    writer = NullWriter("runs/x")
    one, two, kept = plt.figure(), plt.figure(), plt.figure()
    writer.add_figure("a", one, 0)
    writer.add_figure("b", [two], 0)
    writer.add_figure("c", kept, 0, close=False)
    open_ones = plt.get_fignums()
    assert one.number not in open_ones and two.number not in open_ones and kept.number in open_ones
    plt.close(kept)
