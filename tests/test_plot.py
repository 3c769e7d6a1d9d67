"""camp_utils.plot: re-binning histograms and the plotting helpers' errors."""
import matplotlib

matplotlib.use("Agg")  # tests draw off-screen; notebooks keep their inline backend

import matplotlib.pyplot as plt
import numpy as np
import pytest

from camp_utils.plot import plot_histogram_ridges, plot_series, rebin
from camp_utils.tb import Histogram, Scalars


def hist(edges, counts, step=0):
    edges, counts = np.asarray(edges, float), np.asarray(counts, float)
    return Histogram(step, edges, counts, edges[0], edges[-1], counts.sum(), 0.0, 0.0)


def test_rebin_by_hand():
    h = hist([0, 1, 3], [2, 4])  # 2 values in [0,1], 4 spread over [1,3]
    assert rebin(h, np.array([0, 1, 2, 3])).tolist() == [2, 2, 2]
    assert rebin(h, np.array([0.5, 2.0])).tolist() == [1 + 2]


def test_rebin_keeps_the_total():
    rng = np.random.default_rng(0)
    edges = np.sort(rng.uniform(-1, 1, 31))
    h = hist(edges, rng.integers(0, 50, 30))
    assert rebin(h, np.linspace(edges[0], edges[-1], 7)).sum() == pytest.approx(h.counts.sum())


def test_ridges_draw_one_row_per_record():
    records = [hist([-1, 0, 1], [1, 3], step=s) for s in range(4)]
    fig, ax = plt.subplots()
    plot_histogram_ridges(records, ax, label="epoch")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["3", "2", "1", "0"]
    assert len(ax.collections) == 4
    plt.close(fig)


def test_empty_inputs_are_explained():
    with pytest.raises(ValueError, match="records is empty"):
        plot_histogram_ridges([])
    with pytest.raises(ValueError, match="series is empty"):
        plot_series({})
    with pytest.raises(ValueError, match="2 steps but 3 values"):
        plot_series({"a": ([0, 1], [1, 2, 3])})


def test_plot_series_accepts_scalars_and_pairs():
    fig, ax = plt.subplots()
    plot_series({"train": Scalars([1, 2], [0.5, 0.4], [0, 0]), "valid": ([1, 2], [0.6, 0.5])}, ax)
    assert [line.get_label() for line in ax.lines] == ["train", "valid"]
    plt.close(fig)


# ----------------------------------------------------------------- issue 6
@pytest.mark.parametrize("edges", [[3, 2, 1], [0, 0, 1], [0], [0, float("nan")]])
def test_rebin_refuses_edges_that_do_not_increase(edges):
    with pytest.raises(ValueError, match="edges must be at least 2 strictly increasing finite numbers"):
        rebin(hist([0, 1, 3], [2, 4]), np.array(edges, dtype=float))


def test_plot_series_takes_plain_values_at_steps_0_1_2():
    fig, ax = plt.subplots()
    plot_series({"a": [1, 2, 3]}, ax)
    assert ax.lines[0].get_xdata().tolist() == [0, 1, 2]
    assert ax.lines[0].get_ydata().tolist() == [1, 2, 3]
    plt.close(fig)


@pytest.mark.parametrize("bins", [True, 2.5, 0])
def test_ridges_check_bins_like_every_integer(bins):
    with pytest.raises(ValueError, match="bins must be a positive int"):
        plot_histogram_ridges([hist([0, 1], [1])], bins=bins)


def test_ridges_accept_numpy_bins():
    fig, ax = plt.subplots()
    plot_histogram_ridges([hist([0, 1], [1])], ax, bins=np.int64(5))
    ridge_x = np.unique(ax.collections[0].get_paths()[0].vertices[:, 0])
    plt.close(fig)
    assert np.allclose(ridge_x, [0, 0.2, 0.4, 0.6, 0.8, 1])  # 5 equal buckets over the record's range [0, 1]
