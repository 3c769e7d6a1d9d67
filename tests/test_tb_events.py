"""camp_utils.tb.events (and its reader core _reader/_records): scalars and histograms read back, damage reported."""

import numpy as np
import pytest
import torch

from camp_utils import tb

from tb_support import write_line


def test_read_scalars_returns_every_point_exactly(tmp_path):
    # 12,000 points: more than the 10,000 EventAccumulator keeps by default.
    folder = write_line(tmp_path, n=12_000)
    series = tb.read_scalars(folder, "y=2x")["."]["y=2x"]
    assert series.steps == list(range(12_000))
    assert series.values == [2.0 * x for x in range(12_000)]
    assert len(series.wall_times) == 12_000


def test_read_scalars_walks_sub_runs_of_add_scalars(tmp_path):
    with tb.run_writer(21, "group", root=tmp_path) as writer:
        for step in range(5):
            writer.add_scalars("Loss", {"train": 1.0 / (step + 1), "valid": 2.0}, step)
            writer.add_scalar("lr", 0.1, step)
    data = tb.read_scalars(tmp_path / "21")
    assert sorted(data) == ["group", "group/Loss_train", "group/Loss_valid"]
    assert data["group/Loss_valid"]["Loss"].values == [2.0] * 5
    only_loss = tb.read_scalars(tmp_path / "21", tag="Loss")
    assert sorted(only_loss) == ["group/Loss_train", "group/Loss_valid"]


def test_read_scalars_missing_folder_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        tb.read_scalars(tmp_path / "nowhere")


def test_read_scalars_folder_without_events(tmp_path):
    with pytest.raises(ValueError, match="no TensorBoard event files"):
        tb.read_scalars(tmp_path)


def test_read_scalars_unknown_tag_names_it_and_lists_known_tags(tmp_path):
    folder = write_line(tmp_path, n=3)
    with pytest.raises(ValueError, match=r"tag 'y=3x' was never written.*y=2x"):
        tb.read_scalars(folder, tag="y=3x")


def test_read_histograms_round_trip(tmp_path):
    values = torch.linspace(-1, 1, 1001)
    with tb.run_writer(21, "hist", root=tmp_path) as writer:
        for step in range(3):
            writer.add_histogram("w", values * (step + 1), step)
    records = tb.read_histograms(tmp_path / "21" / "hist", "w")["."]["w"]
    assert [r.step for r in records] == [0, 1, 2]
    last = records[-1]
    assert last.num == 1001 and last.counts.sum() == 1001
    assert len(last.edges) == len(last.counts) + 1
    assert last.min == pytest.approx(-3.0) and last.max == pytest.approx(3.0)
    assert np.all(np.diff(last.edges) >= 0)


def test_read_histograms_unknown_tag(tmp_path):
    folder = write_line(tmp_path, n=3)
    with pytest.raises(ValueError, match="tag 'w' was never written as histograms"):
        tb.read_histograms(folder, "w")


def test_a_flipped_byte_is_reported_with_the_file_and_the_lost_records(tmp_path):
    folder = write_line(tmp_path, n=100)
    event_file = next(folder.glob("events.out.tfevents.*"))
    data = bytearray(event_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    event_file.write_bytes(bytes(data))
    with pytest.warns(tb.DamagedEventFileWarning, match=rf"{event_file.name}' is damaged at byte \d+: "
                      r"1 record\(s\) fail their checksum.*so 52 of its 101 records were not read"):
        steps = tb.read_scalars(folder)["."]["y=2x"].steps
    assert steps == list(range(48))


def test_a_garbage_file_is_named_not_silently_skipped(tmp_path):
    write_line(tmp_path, n=3, experiment="good")
    bad = tmp_path / "20" / "bad"
    bad.mkdir()
    (bad / "events.out.tfevents.123.host").write_bytes(b"not an event file" * 20)
    with pytest.warns(tb.DamagedEventFileWarning, match="bad/events.out.tfevents.123.host' is not readable"):
        assert sorted(tb.read_scalars(tmp_path / "20")) == ["good"]
    with pytest.warns(tb.DamagedEventFileWarning), \
            pytest.raises(ValueError, match=r"no scalars could be read under .*is not readable"):
        tb.read_scalars(bad)


def test_a_file_still_being_written_is_not_damaged(tmp_path):
    import warnings

    folder = write_line(tmp_path, n=10)
    event_file = next(folder.glob("events.out.tfevents.*"))
    event_file.write_bytes(event_file.read_bytes()[:-5])  # the last record is incomplete
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tb.read_scalars(folder)["."]["y=2x"].steps == list(range(9))



def test_the_reader_keeps_every_record_of_the_kind_asked_for_and_one_of_the_others():
    from tensorboard.backend.event_processing import event_accumulator as ea

    from camp_utils.tb import _reader

    # 0: keep every record of histograms; 1 of each other kind (so reading them costs nothing)
    assert _reader._size_guidance(ea.HISTOGRAMS) == {"histograms": 0, "scalars": 1, "images": 1, "audio": 1,
                                                     "tensors": 1, "distributions": 1}
    with pytest.raises(ValueError, match="kind must be one of"):
        _reader._size_guidance("pictures")


def test_records_are_counted_by_their_framing_and_a_sound_file_has_no_report(tmp_path):
    from camp_utils.tb import _records

    folder = write_line(tmp_path, n=10)
    event_file = next(folder.glob("events.out.tfevents.*"))
    data = event_file.read_bytes()
    assert _records.count_records(data) == (11, False)  # the file-version event + 10 points
    assert _records.count_records(data[:-5]) == (10, False)  # the last record still being written
    assert _records.damage_report(event_file) is None
    assert _records.damaged_files(folder, events_read=11) == []
