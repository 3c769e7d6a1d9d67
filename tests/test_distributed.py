"""fit, lr_find and run_writer under torchrun: two processes on CPU (gloo), checked against one process."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from script_loader import load_script

from camp_utils.tb import read_scalars

SCRIPT = Path(__file__).resolve().parent / "ddp" / "two_processes.py"


def _script():
    return load_script(SCRIPT)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CAMP_PROGRESS": "0"}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           str(SCRIPT), str(out), "ddp"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    _script().main(out, "single")  # one process, batch 2B, same sample order
    load = lambda name: torch.load(out / name, weights_only=False)  # noqa: E731
    return out, [load("ddp-rank0.pt"), load("ddp-rank1.pt")], load("single-rank0.pt")


def test_both_ranks_end_with_identical_weights_and_histories(runs):
    _, (r0, r1), _ = runs
    assert all(torch.equal(r0["state"][k], r1["state"][k]) for k in r0["state"])
    assert r0["history"] == r1["history"]  # losses and accuracies all-reduced: global on every rank


def test_two_processes_with_batch_b_match_one_process_with_batch_2b(runs):
    _, (r0, _), single = runs
    for k, v in single["state"].items():
        assert torch.allclose(r0["state"][k], v, atol=1e-6, rtol=1e-5), k
    for key in ("train_loss", "train_acc", "valid_loss", "valid_acc"):
        assert np.allclose(r0["history"][key], single["history"][key], atol=1e-6), key


def test_the_sampler_gave_the_ranks_disjoint_halves_of_every_epoch(runs):
    _, (r0, r1), _ = runs
    epochs = sorted(r0["seen"])
    assert epochs == [0, 1, 2]  # set_epoch was called with 0, 1, 2
    for e in epochs:
        a, b = set(r0["seen"][e]), set(r1["seen"][e])
        assert len(a) == len(b) == 32 and not a & b and a | b == set(range(64))
    assert r0["seen"][0] != r0["seen"][1]  # another shuffle every epoch


def test_only_rank_0_wrote_one_run_and_it_logged_the_all_reduced_loss(runs):
    out, (r0, _), _ = runs
    folder = out / "runs" / "ddp" / "ddp"
    event_files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("events.out.tfevents*"))
    folders = {Path(p).parent.as_posix() for p in event_files}
    assert len(event_files) == len(folders)  # one event file per run folder: nobody but rank 0 wrote
    assert folders == {".", "Loss_train", "Loss_valid", "Accuracy_train", "Accuracy_valid"}
    logged = read_scalars(folder, tag="Loss")
    assert logged["Loss_train"]["Loss"].values == [np.float32(v) for v in r0["history"]["train_loss"]]


def test_lr_find_sweeps_once_for_both_ranks_and_restores_each(runs):
    _, (r0, r1), _ = runs
    assert r0["losses"] == r1["losses"] and r0["suggestion"] == r1["suggestion"]
    assert r0["restored"] and r1["restored"]


def test_bad_set_ups_are_explained(runs):
    _, (r0, r1), _ = runs
    assert set(r0["errors"]) == set(r1["errors"]) and r0["errors"]["plain loader"] == r1["errors"]["plain loader"]
    errors = r0["errors"]
    assert ("has a RandomSampler, but under 2 processes every process would then see every sample"
            in errors["plain loader"])
    assert "63 samples do not split evenly into 2 processes" in errors["uneven dataset"]
    assert "would repeat 1 sample(s)" in errors["uneven dataset"] and "drop_last=True" in errors["uneven dataset"]
    assert "the model is on meta, but this process (rank 0) trains on cpu" in errors["model on another device"]
    assert "(rank 1)" in r1["errors"]["model on another device"]


def test_the_readmes_torchrun_command_runs_the_lessons_script(tmp_path):
    # README, "Several processes": the command as written there, from the project folder.
    root = Path(__file__).resolve().parent.parent
    [command] = [line for line in (root / "README.md").read_text(encoding="utf-8").splitlines()
                 if line.startswith(".venv/bin/python -m torch.distributed.run")]
    argv = command.split()
    env = {**os.environ, "CAMP_RUNS_DIR": str(tmp_path), "CAMP_PROGRESS": "0"}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, *argv[1:]], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "every process ends with the same weights: True" in done.stdout
    assert (tmp_path / "19" / "ddp_k2").is_dir()


def test_shutdown_does_nothing_in_a_single_process():
    # the torchrun scripts end with shutdown() (barrier, then destroy); run in one process it must be harmless
    from camp_utils.distributed import shutdown

    assert not torch.distributed.is_initialized()
    shutdown()
    assert not torch.distributed.is_initialized()
