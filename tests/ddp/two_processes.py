"""The torchrun check of tests/test_distributed.py.

Run as ``torchrun --standalone --nproc_per_node=2 two_processes.py OUT ddp``.

Each process trains the same small model with camp_utils.train.fit on its
share of the data (DistributedSampler, batch B per process), logs to
TensorBoard through run_writer, runs lr_find, tries three bad set-ups, and
saves what it saw to OUT/ddp-rank<r>.pt. ``main(OUT, "single")`` does the same
in one process with batch 2B and the same sample order, for comparison.
"""
from __future__ import annotations

import os
import sys
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Sampler, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from camp_utils.distributed import shutdown
from camp_utils.schedules import lr_find
from camp_utils.tb import run_writer
from camp_utils.train import fit

N, B, EPOCHS, SHUFFLE_SEED = 64, 8, 3, 3


class RecordingSampler(DistributedSampler):
    """A DistributedSampler that remembers the indices it gave, per epoch."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: dict[int, list[int]] = {}

    def __iter__(self):
        indices = list(super().__iter__())
        self.seen[self.epoch] = indices
        return iter(indices)


class SameOrder(Sampler):
    """One process, the order DistributedSampler shuffles into: randperm(N) seeded with seed + epoch."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self) -> int:
        return self.n


def data(n: int = N) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 6, generator=g)
    return TensorDataset(x, (x[:, 0] + x[:, 1] > 0).long())


def model() -> nn.Module:
    torch.manual_seed(1)  # plain SGD, no momentum, no BatchNorm: 2 x B and 2B must agree
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))


def train_once(net: nn.Module, loader) -> None:
    fit(net, torch.optim.SGD(net.parameters(), lr=0.1), loader, epochs=1, progress=False, device="cpu")


def on_meta(loader) -> None:
    train_once(model().to("meta"), loader)


def main(out: Path, mode: str) -> None:
    rank = int(os.environ.get("RANK", "0"))
    dataset = data()
    if mode == "ddp":
        torch.distributed.init_process_group("gloo")  # as in PyTorch's DDP tutorial; DistributedSampler needs it
        sampler = RecordingSampler(dataset, shuffle=True, seed=SHUFFLE_SEED)
        loader = DataLoader(dataset, batch_size=B, sampler=sampler)
    else:
        sampler = SameOrder(N, SHUFFLE_SEED)
        loader = DataLoader(dataset, batch_size=2 * B, sampler=sampler)
    valid = DataLoader(dataset, batch_size=N)
    net = model()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.2)
    with run_writer("ddp", mode, root=out / "runs") as writer:
        history = fit(net, optimizer, loader, valid, epochs=EPOCHS, writer=writer, log_histograms=False,
                      progress=False, device="cpu", seed=0)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    found = lr_find(net, torch.optim.SGD(net.parameters(), lr=0.1), loader, start_lr=1e-3, end_lr=10,
                    num_iter=24, skip_start=2)
    restored = all(torch.equal(v, before[k]) for k, v in net.state_dict().items())
    errors = {}
    if mode == "ddp":
        plain = DataLoader(dataset, batch_size=B, shuffle=True)
        uneven = DataLoader(data(N - 1), batch_size=B, sampler=DistributedSampler(data(N - 1)))
        for name, call in {
            "plain loader": lambda: train_once(model(), plain),
            "uneven dataset": lambda: train_once(model(), uneven),
            "model on another device": lambda: on_meta(loader),
        }.items():
            try:
                call()
                errors[name] = None
            except ValueError as err:
                errors[name] = str(err)
    if mode == "ddp":
        shutdown()
    torch.save({"state": net.state_dict(), "history": asdict(history), "seen": getattr(sampler, "seen", {}),
                "suggestion": found.suggestion, "losses": found.losses, "restored": restored, "errors": errors},
               out / f"{mode}-rank{rank}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
