"""fit: what :func:`camp_utils.train.fit` costs over a bare hand-written loop.

Three sides on the same model (LeNet from the same initial weights), data,
seed and epochs, rotating the order over the repeats; the figure is the
median of the per-repeat ratios:

* **bare** -- the loop a learner writes: ``zero_grad``, forward, loss,
  ``backward``, ``step``, with the running loss and accuracy (``.item()``
  per batch) and a validation pass each epoch, i.e. exactly the work ``fit``
  reports back;
* **fit, logging off** -- ``fit(..., progress=False)``, no writer;
* **fit, full logging** -- ``fit`` with a ``SummaryWriter`` (scalars,
  histograms of every parameter and gradient each epoch) and the progress
  bar on (tqdm's text bar, written to a buffer). The writer is created and
  closed inside the timed region: a learner pays that too.
"""
from __future__ import annotations

import contextlib
import copy
import io
import tempfile

import torch
from torch import nn

from ._common import Result, Target, median, median_ratio, side_by_side, spread

NAME = "fit"
TITLE = "fit() overhead against a bare training loop"


def bare_loop(model, optimizer, train, valid, epochs: int, seed: int, device) -> list[float]:
    """The hand-written loop: train with running loss/accuracy, then validate, each epoch."""
    loss_fn = nn.CrossEntropyLoss()
    model.to(device)
    accs = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _ in range(epochs):
            model.train()
            total, correct, count = 0.0, 0, 0
            for x, y in train:
                x, y = x.to(device), y.to(device)
                optimizer.zero_grad()
                out = model(x)
                loss = loss_fn(out, y)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(y)
                correct += (out.argmax(1) == y).sum().item()
                count += len(y)
            model.eval()
            v_correct, v_count = 0, 0
            with torch.no_grad():
                for x, y in valid:
                    x, y = x.to(device), y.to(device)
                    out = model(x)
                    loss_fn(out, y).item()
                    v_correct += (out.argmax(1) == y).sum().item()
                    v_count += len(y)
            accs.append(v_correct / v_count)
    return accs


def run(args) -> Result:
    """Time ``fit`` with and without logging against a bare training loop, alternated in one process."""
    from torch.utils.tensorboard import SummaryWriter

    from camp_utils.data import ShapesDataset, shapes_loaders
    from camp_utils.models import LeNet
    from camp_utils.train import fit, pick_device

    epochs = args.fit_epochs
    batch = 64
    train, valid, _ = shapes_loaders(batch)
    device = pick_device()
    torch.manual_seed(0)
    initial = LeNet(len(ShapesDataset.classes)).state_dict()
    logdir = tempfile.TemporaryDirectory(prefix="camp-bench-fit-")
    runs = iter(range(10**6))
    last_acc = {}

    def fresh():
        model = LeNet(len(ShapesDataset.classes))
        model.load_state_dict(copy.deepcopy(initial))
        return model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def bare():
        model, opt = fresh()
        last_acc["bare"] = bare_loop(model, opt, train, valid, epochs, 0, device)[-1]

    def fit_off():
        model, opt = fresh()
        last_acc["fit, logging off"] = fit(model, opt, train, valid, epochs=epochs, seed=0, device=device,
                                           progress=False).valid_acc[-1]

    def fit_full():
        model, opt = fresh()
        sink = io.StringIO()
        with contextlib.redirect_stderr(sink):
            writer = SummaryWriter(f"{logdir.name}/{next(runs)}")
            try:
                history = fit(model, opt, train, valid, epochs=epochs, seed=0, device=device, writer=writer,
                              log_histograms=True, progress=True)
            finally:
                writer.close()
        last_acc["fit, full logging"] = history.valid_acc[-1]

    sides = {"bare": bare, "fit, logging off": fit_off, "fit, full logging": fit_full}
    try:
        times = side_by_side(sides, repeats=max(3, args.repeats))
    finally:
        logdir.cleanup()
    result = Result(f"{TITLE} (LeNet, ShapesDataset 6000 train + 1000 valid, batch {batch}, {epochs} epochs, "
                    f"{device.type})", ["side", "median s", "range s", "x bare (median ratio)", "valid acc"])
    for name in sides:
        ratio = 1.0 if name == "bare" else median_ratio(times, name, "bare")
        result.rows.append([name, median(times[name]), spread(times[name]), f"{ratio:.3f}",
                            f"{last_acc[name]:.3f}"])
    result.targets.append(Target("fit, logging off / bare", median_ratio(times, "fit, logging off", "bare"), 1.02, "x"))
    result.targets.append(Target("fit, full logging / bare", median_ratio(times, "fit, full logging", "bare"),
                                 1.05, "x"))
    same = len({round(v, 6) for v in last_acc.values()}) == 1
    result.notes.append(f"{len(times['bare'])} repeats, order rotated each repeat. Same final validation accuracy on "
                        f"every side: {'yes' if same else 'NO -- the sides did not do the same work'}.")
    return result
