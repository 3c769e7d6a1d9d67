"""camp_utils.tb.hparams: hyper-parameters in the run they describe, read back through a real TensorBoard."""
import pytest
from torch.utils.tensorboard import SummaryWriter

from camp_utils import tb
from camp_utils.tb import NullWriter, log_hparams, read_hparams, read_scalars

SCHEDULES = {"constant": (1.25, 0.51), "cosine": (0.85, 0.61), "onecycle": (0.87, 0.60)}


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    """Three runs as lesson 19 logs them: a curve each, then their hyper-parameters and final figures."""
    root = tmp_path_factory.mktemp("runs")
    for name, (loss, acc) in SCHEDULES.items():
        with SummaryWriter(root / name) as writer:
            for epoch in range(1, 4):
                writer.add_scalar("Loss/valid", loss + 1 / epoch, epoch)
            log_hparams(writer, {"schedule": name, "seed": 0, "base_lr": 0.05, "nesterov": False},
                        {"hparams/valid_loss": loss, "hparams/valid_acc": acc}, step=3)
    return root


def test_the_hparams_tab_shows_one_row_per_run_with_its_values_and_metrics(three_runs):
    with tb.TensorBoardServer(three_runs) as server:
        runs = server.runs()
        rows = read_hparams(server)
    assert runs == sorted(SCHEDULES)  # no extra sub-runs: each row is the run with the curves
    assert [row["run"] for row in rows] == sorted(SCHEDULES)
    for row in rows:
        loss, acc = SCHEDULES[row["run"]]
        assert row["hparams"] == {"schedule": row["run"], "seed": 0.0, "base_lr": 0.05, "nesterov": False}
        assert row["metrics"] == pytest.approx({"hparams/valid_loss": loss, "hparams/valid_acc": acc})


def test_the_metrics_are_scalars_of_the_same_run_beside_its_curves(three_runs):
    assert sorted(read_scalars(three_runs, tag="hparams/valid_loss")) == sorted(SCHEDULES)
    cosine = read_scalars(three_runs)["cosine"]
    assert cosine["hparams/valid_acc"].steps == [3] and cosine["Loss/valid"].steps == [1, 2, 3]


def test_add_hparams_puts_the_row_in_a_sub_run_without_the_curves(tmp_path):
    # what log_hparams avoids: torch's add_hparams writes a second run, and the tab pairs the values with it
    with SummaryWriter(tmp_path / "cosine") as writer:
        writer.add_scalar("Loss/valid", 1.0, 1)
        writer.add_hparams({"schedule": "cosine"}, {"hparams/valid_loss": 0.85})
    with tb.TensorBoardServer(tmp_path) as server:
        runs = server.runs()
        rows = read_hparams(server)
    assert len(runs) == 2 and runs[0] == "cosine" and runs[1].startswith("cosine/")
    assert [row["run"] for row in rows] == [runs[1]]  # the row is the sub-run, not "cosine"


def test_a_null_writer_writes_nothing_and_bad_values_are_named(tmp_path):
    log_hparams(NullWriter(tmp_path / "rank1"), {"lr": 0.1}, {"hparams/loss": 1.0})
    assert not (tmp_path / "rank1").exists()
    writer = SummaryWriter(tmp_path / "run")
    try:
        for hparams, metrics, message in [
            ({}, {"m": 1.0}, "hparams must be a non-empty dict"),
            ({"lr": [0.1]}, {"m": 1.0}, r"hparams\['lr'\] must be a bool, str, int or float .*got list"),
            ({"": 1}, {"m": 1.0}, "every name must be a non-empty str"),
            ({"lr": 0.1}, {"m": float("nan")}, r"metrics\['m'\] must be a finite number"),
            ({"lr": 0.1}, {"m": True}, r"metrics\['m'\] must be a finite number"),
            ({"lr": 0.1}, [], "metrics must be a non-empty dict"),
        ]:
            with pytest.raises(ValueError, match=message):
                log_hparams(writer, hparams, metrics)
    finally:
        writer.close()
    with pytest.raises(ValueError, match="server must be a started"):
        read_hparams("http://127.0.0.1:6006")
