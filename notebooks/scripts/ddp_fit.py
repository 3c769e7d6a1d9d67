"""Lesson 19, "Going further": the same fit() in two processes.

    torchrun --standalone --nproc_per_node=2 scripts/ddp_fit.py        # from notebooks/ (or my_notebooks/)

Each process trains GapNet on its half of every epoch of the embedded shapes
(a DistributedSampler), with the linear scaling rule: the lr is multiplied by
the number of processes (twice the batch in total) and warmed up from the
single-process lr. Rank 0 checks that both processes hold the same weights
and prints what it found; only rank 0 prints and writes TensorBoard files
(runs/19/ddp_k2).
"""
from __future__ import annotations

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from camp_utils.data import ShapesDataset, shapes_transform
from camp_utils.distributed import shutdown
from camp_utils.models import GapNet
from camp_utils.tb import run_writer
from camp_utils.train import fit

BASE_LR, BATCH_PER_PROCESS, EPOCHS, WARMUP_EPOCHS = 0.05, 64, 4, 1


def main() -> None:
    torch.distributed.init_process_group("gloo")  # "nccl" with one GPU per process
    world, rank = torch.distributed.get_world_size(), torch.distributed.get_rank()
    normalize = shapes_transform()
    images = ShapesDataset("train", 2048, image_size=16)
    train = TensorDataset(normalize(images.images.float() / 255), images.labels)
    valid_images = ShapesDataset("valid", 512, image_size=16)
    valid = TensorDataset(normalize(valid_images.images.float() / 255), valid_images.labels)
    loader = DataLoader(train, batch_size=BATCH_PER_PROCESS, sampler=DistributedSampler(train, seed=0))
    valid_loader = DataLoader(valid, batch_size=256, sampler=DistributedSampler(valid, shuffle=False))

    torch.manual_seed(0)
    model = GapNet(len(ShapesDataset.classes), width=8)
    k = world  # k times the batch: k times the lr (Goyal et al. 2017), reached after a warm-up
    optimizer = torch.optim.SGD(model.parameters(), lr=BASE_LR * k, momentum=0.9)
    steps = EPOCHS * len(loader)
    warmup = WARMUP_EPOCHS * len(loader)
    scheduler = SequentialLR(optimizer, [LinearLR(optimizer, start_factor=1 / k, total_iters=warmup),
                                         CosineAnnealingLR(optimizer, T_max=steps - warmup)], milestones=[warmup])
    with run_writer(19, f"ddp_k{k}") as writer:
        history = fit(model, optimizer, loader, valid_loader, epochs=EPOCHS, scheduler=scheduler,
                      scheduler_interval="batch", writer=writer, log_histograms=False, device="cpu", seed=0,
                      progress=False)

    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    gathered = [torch.empty_like(flat) for _ in range(world)]
    torch.distributed.all_gather(gathered, flat)
    histories = [None] * world
    torch.distributed.all_gather_object(histories, (history.train_loss, history.valid_loss, history.valid_acc))
    if rank == 0:
        print(f"processes: {world}; batch {BATCH_PER_PROCESS} per process, {BATCH_PER_PROCESS * world} in total; "
              f"{len(loader)} steps per epoch")
        print(f"peak lr {BASE_LR * k:g} (= {BASE_LR:g} x {k}), reached after a warm-up of {warmup} steps")
        print("every process ends with the same weights:", all(torch.equal(flat, g) for g in gathered))
        print("every process's History holds the same, all-reduced figures:", all(h == histories[0] for h in histories))
        print("final validation accuracy well above chance (> 0.35; chance is 0.25):", history.valid_acc[-1] > 0.35)
    shutdown()  # wait for every process, then leave the group (camp_utils.distributed)


if __name__ == "__main__":
    main()
