"""camp_utils.tb.static: TensorBoard's smoothing, the static SCALARS view, and the diagnosis of a missing frame."""
import math

import matplotlib
import pytest
from torch.utils.tensorboard import SummaryWriter

from camp_utils.tb.static import diagnose_tensorboard, plot_scalars, smooth_like_tensorboard

matplotlib.use("Agg")


def test_smoothing_is_tensorboards_debiased_moving_average():
    values = [1.0, 3.0, 2.0, 6.0]
    w = 0.6
    last, expected = 0.0, []
    for n, v in enumerate(values, start=1):
        last = w * last + (1 - w) * v
        expected.append(last / (1 - w**n))
    assert smooth_like_tensorboard(values, w) == pytest.approx(expected)
    assert smooth_like_tensorboard(values, 0.6)[0] == 1.0          # debiased: the first point is the value
    assert smooth_like_tensorboard(values, 0.0) == values          # slider at 0: no smoothing
    assert smooth_like_tensorboard([5.0] * 4, 0.9) == [5.0] * 4    # a constant series is drawn as it is
    with_nan = smooth_like_tensorboard([1.0, float("nan"), 3.0], 0.5)
    assert math.isnan(with_nan[1]) and with_nan[2] == pytest.approx((0.5 * 0.5 + 0.5 * 3.0) / (1 - 0.25))
    assert smooth_like_tensorboard([], 0.6) == []
    for bad in (1.0, -0.1, "0.5"):
        with pytest.raises(ValueError, match="weight"):
            smooth_like_tensorboard(values, bad)


def _runs(tmp_path):
    for run, slope in (("a", 1.0), ("b", 2.0)):
        with SummaryWriter(tmp_path / run) as writer:
            for step in range(20):
                writer.add_scalar("loss", slope * step, step)
                writer.add_scalar("acc", 0.5, step)
    return tmp_path


def test_plot_scalars_draws_one_chart_per_tag_with_raw_and_smoothed_lines_per_run(tmp_path):
    fig = plot_scalars(_runs(tmp_path), smoothing=0.6)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["acc", "loss"]
    loss = next(ax for ax in fig.axes if ax.get_title() == "loss")
    raw_b, smooth_b = loss.lines[2], loss.lines[3]
    assert list(raw_b.get_ydata()) == [2.0 * s for s in range(20)]
    assert list(smooth_b.get_ydata()) == pytest.approx(smooth_like_tensorboard([2.0 * s for s in range(20)], 0.6))
    assert [t.get_text() for t in loss.get_legend().get_texts()] == ["a", "b"]
    only = plot_scalars(tmp_path, ["loss"])
    assert [ax.get_title() for ax in only.axes if ax.get_title()] == ["loss"]


def test_plot_scalars_names_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match="holds no TensorBoard event files"):
        plot_scalars(tmp_path)
    with pytest.raises(ValueError, match=r"tags \['lr'\] are not in"):
        plot_scalars(_runs(tmp_path), ["lr"])


def test_diagnosis_names_the_cause_that_applies(tmp_path):
    empty = diagnose_tensorboard(tmp_path / "nowhere", environ={}, modules={})
    assert empty[0][0] == "problem" and "does not exist" in empty[0][1] and "../runs/<lesson>" in empty[0][2]
    assert ("ok", "a front end that can show %tensorboard's frame (JupyterLab, Notebook)", "") in empty
    in_vscode = diagnose_tensorboard(_runs(tmp_path), environ={"VSCODE_PID": "123"}, modules={})
    assert in_vscode[0] == ("ok", f"{tmp_path} holds 2 event file(s)", "")
    assert any(status == "note" and "VS Code" in what and "plot_scalars" in fix for status, what, fix in in_vscode)
    colab = diagnose_tensorboard(None, environ={}, modules={"google.colab": object()})
    assert ("ok", "Colab, whose %tensorboard shows its frame through TensorBoard's own Colab support", "") in colab
    assert not any(status == "note" and "frame" in what for status, what, _ in colab)  # no false alarm there
    assert any(what.startswith("the tensorboard program is there") for _, what, _ in colab)
