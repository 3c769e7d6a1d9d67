"""camp_utils.checks: one table per rule -- good values, bad values and the message each bad one gets."""
import math
import re

import numpy as np
import pytest
import torch

from camp_utils.checks import (
    check_choice,
    check_int,
    check_number,
    check_plain_name,
    ensure_writable_folder,
    env_flag,
    existing_folder,
    folder_inside,
)

# --------------------------------------------------------------------------- check_int


@pytest.mark.parametrize(("value", "kwargs", "expected"), [
    (3, {}, 3),
    (np.int64(3), {"minimum": 1}, 3),
    (0, {"minimum": 0}, 0),
    (-5, {}, -5),
    (400, {"minimum": 1, "maximum": 400}, 400),
])
def test_check_int_accepts_integers_within_bounds(value, kwargs, expected):
    result = check_int(value, "n", **kwargs)
    assert result == expected and type(result) is int


@pytest.mark.parametrize(("value", "kwargs", "message"), [
    (True, {}, "n must be an int, got True (bool)"),
    (2.0, {}, "n must be an int, got 2.0 (float)"),
    ("3", {}, "n must be an int, got '3' (str)"),
    (0, {"minimum": 1}, "n must be a positive int, got 0 (int)"),
    (-1, {"minimum": 0}, "n must be a non-negative int, got -1 (int)"),
    (1, {"minimum": 2}, "n must be an int >= 2, got 1 (int)"),
    (401, {"minimum": 1, "maximum": 400}, "n must be an int from 1 to 400, got 401 (int)"),
    (0, {"minimum": 1, "what": "epochs"}, "n must be a positive int (epochs), got 0 (int)"),
])
def test_check_int_refuses_with_the_name_and_the_expectation(value, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_int(value, "n", **kwargs)


# --------------------------------------------------------------------------- check_number


@pytest.mark.parametrize(("value", "kwargs"), [
    (0.5, {}),
    (3, {}),
    (np.float32(0.25), {"positive": True}),
    (0.0, {"low": 0, "high": 1, "high_open": True}),          # [0, 1): 0 is in
    (1.0, {"low": 0, "high": 1, "low_open": True}),           # (0, 1]: 1 is in
    (1.5, {"low": 1, "low_open": True}),
    (-2.0, {"high": 0}),
    (math.inf, {"positive": True, "allow_inf": True}),
    (math.nan, {"allow_nan": True}),
    (math.nan, {"low": 0, "high": 1, "allow_nan": True}),     # nan passes whatever the bounds
    (1e-5, {"low": 1e-5, "high": 10}),
])
def test_check_number_accepts_numbers_within_bounds(value, kwargs):
    result = check_number(value, "x", **kwargs)
    assert type(result) is float
    assert result == float(value) or (math.isnan(result) and math.isnan(value))


@pytest.mark.parametrize(("value", "kwargs", "message"), [
    (True, {}, "x must be a finite number, got True (bool)"),
    ("0.1", {}, "x must be a finite number, got '0.1' (str)"),
    (torch.tensor(0.1), {}, "x must be a finite number, got tensor(0.1000) (Tensor)"),
    (math.nan, {}, "x must be a finite number, got nan (float)"),
    (math.inf, {}, "x must be a finite number, got inf (float)"),
    (0, {"positive": True}, "x must be a positive, finite number, got 0 (int)"),
    (-1.0, {"positive": True, "what": "seconds"}, "x must be a positive, finite number (seconds), got -1.0"),
    (math.inf, {"positive": True}, "x must be a positive, finite number, got inf"),
    (-math.inf, {"positive": True, "allow_inf": True}, "x must be a positive number, got -inf"),
    (1.0, {"low": 0, "high": 1, "high_open": True}, "x must be a finite number in [0, 1), got 1.0"),
    (0.0, {"low": 0, "high": 1, "low_open": True}, "x must be a finite number in (0, 1], got 0.0"),
    (-0.1, {"low": 0, "high": 1}, "x must be a finite number in [0, 1], got -0.1"),
    (1.0, {"low": 1, "low_open": True}, "x must be a finite number > 1, got 1.0"),
    (-1.0, {"low": 0}, "x must be a finite number >= 0, got -1.0"),
    (2.0, {"high": 1, "high_open": True}, "x must be a finite number < 1, got 2.0"),
    (50.0, {"low": 1e-5, "high": 10}, "x must be a finite number in [1e-05, 10], got 50.0"),
    (2.0, {"high": 1, "allow_nan": True}, "x must be a finite number <= 1 (or nan), got 2.0"),
])
def test_check_number_refuses_with_the_name_and_the_range(value, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_number(value, "x", **kwargs)


# --------------------------------------------------------------------------- check_choice


@pytest.mark.parametrize(("value", "choices", "expected"), [
    ("epoch", ("epoch", "batch"), "epoch"),
    (np.str_("batch"), ("epoch", "batch"), "batch"),
    (None, (None, "batch"), None),
    ("linear", {"exponential": "fastai's", "linear": "Smith's"}, "linear"),
    (2, [1, 2, 3], 2),
])
def test_check_choice_returns_the_matching_choice(value, choices, expected):
    result = check_choice(value, "x", choices)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(("value", "choices", "kwargs", "message"), [
    ("step", ("epoch", "batch"), {}, "x must be 'epoch' or 'batch', got 'step' (str)"),
    ("Epoch", ("epoch", "batch"), {}, "x must be 'epoch' or 'batch', got 'Epoch' (str)"),
    ("x", ("auto", "true", "false"), {}, "x must be one of ('auto', 'true', 'false'), got 'x' (str)"),
    ("log", {"exponential": "fastai's, the default", "linear": "Smith's"}, {},
     "x must be 'exponential' (fastai's, the default) or 'linear' (Smith's), got 'log' (str)"),
    (True, (1, 2, 3), {}, "x must be one of (1, 2, 3), got True (bool)"),
    (["epoch"], ("epoch", "batch"), {}, "x must be 'epoch' or 'batch', got ['epoch'] (list)"),
    (np.array([1, 2]), (1, 2), {}, "x must be 1 or 2, got array([1, 2]) (ndarray)"),
    ("valid", ("train", "test"), {"what": "for cifar10", "hint": "use the test split"},
     "x must be 'train' or 'test' (for cifar10), got 'valid' (str); use the test split"),
])
def test_check_choice_refuses_with_the_choices(value, choices, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_choice(value, "x", choices, **kwargs)


# --------------------------------------------------------------------------- check_plain_name


@pytest.mark.parametrize(("value", "nested", "parts"), [
    ("lenet", False, ["lenet"]),
    (20, False, ["20"]),
    (np.int64(21), False, ["21"]),
    ("lenet/train", True, ["lenet", "train"]),
])
def test_check_plain_name_splits_plain_names(value, nested, parts):
    assert check_plain_name(value, "run", nested=nested) == parts


@pytest.mark.parametrize(("value", "nested", "message"), [
    ("", False, "run '' is not a plain relative name"),
    ("..", False, "run '..' is not a plain relative name"),
    ("a/b", False, "no /); expected something like 20"),
    ("/abs", True, "run '/abs' is not a plain relative name"),
    ("a//b", True, "expected something like 'y_equals_2x' or 'lenet/train'"),
    ("a\\b", True, "is not a plain relative name"),
    ("C:x", True, "is not a plain relative name"),
    (" a", False, "is not a plain relative name"),
    (True, False, "run must be a str or an int, got True (bool)"),
    (1.5, False, "run must be a str or an int, got 1.5 (float)"),
])
def test_check_plain_name_refuses_paths_that_could_leave_the_folder(value, nested, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_plain_name(value, "run", nested=nested)


# --------------------------------------------------------------------------- existing_folder


def _layout(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.txt").write_text("x")
    return tmp_path


@pytest.mark.parametrize(("relative", "kwargs"), [
    ("folder", {}),
    ("folder", {"missing_ok": True}),
    ("missing", {"missing_ok": True}),
])
def test_existing_folder_returns_the_path(tmp_path, relative, kwargs):
    root = _layout(tmp_path)
    assert existing_folder(str(root / relative), "image folder", **kwargs) == root / relative


@pytest.mark.parametrize(("relative", "kwargs", "error", "message"), [
    ("missing", {}, FileNotFoundError, "image folder '{root}/missing' does not exist"),
    ("missing", {"hint": "expected <class>/<files>"}, FileNotFoundError,
     "image folder '{root}/missing' does not exist; expected <class>/<files>"),
    ("file.txt", {}, NotADirectoryError, "image folder '{root}/file.txt' is a file, not a folder"),
    ("file.txt", {"missing_ok": True, "hint": "pass a folder"}, NotADirectoryError,
     "image folder '{root}/file.txt' is a file, not a folder; pass a folder"),
])
def test_existing_folder_refuses_missing_folders_and_files(tmp_path, relative, kwargs, error, message):
    root = _layout(tmp_path)
    with pytest.raises(error, match=re.escape(message.format(root=root))):
        existing_folder(root / relative, "image folder", **kwargs)


@pytest.mark.parametrize("value", [None, 3, b"bytes"])
def test_existing_folder_refuses_what_is_not_a_path(value):
    with pytest.raises(ValueError, match=r"root must be a folder path \(str or os.PathLike\), got"):
        existing_folder(value, "root")


# --------------------------------------------------------------------------- folder_inside and ensure_writable_folder


def test_folder_inside_keeps_plain_parts_and_refuses_a_link_pointing_out(tmp_path):
    root, outside = tmp_path / "runs", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    assert folder_inside(root, "20", "lenet") == root / "20" / "lenet"
    (root / "escape").symlink_to(outside)
    with pytest.raises(ValueError, match="is not inside"):
        folder_inside(root, "escape")
    with pytest.raises(ValueError, match="is not inside"):
        folder_inside(root)  # the root itself is not a run folder


def test_ensure_writable_folder_creates_and_refuses_with_the_hint(tmp_path):
    assert ensure_writable_folder(tmp_path / "a" / "b").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(PermissionError, match=r"cannot write to .*file.*Pick another folder\."):
        ensure_writable_folder(tmp_path / "file" / "sub", hint="Pick another folder.")


# --------------------------------------------------------------------------- env_flag


@pytest.mark.parametrize(("raw", "default", "expected"), [
    *[(word, False, True) for word in ("1", "true", "yes", "on")],   # the words the README promises
    *[(word, True, False) for word in ("0", "false", "no", "off")],
    ("TRUE", False, True),
    (" Off ", True, False),
    ("Yes", False, True),
    (None, True, True),     # unset
    (None, False, False),
    ("", True, True),       # set but blank: the default
    ("  ", False, False),
])
def test_env_flag_reads_on_off_words_in_any_case(raw, default, expected):
    environ = {} if raw is None else {"CAMP_FLAG": raw}
    assert env_flag("CAMP_FLAG", default, environ=environ) is expected


@pytest.mark.parametrize("raw", ["2", "flase", "enabled", "y", "-1", "0.0"])
def test_env_flag_refuses_other_words_naming_the_variable(raw):
    with pytest.raises(ValueError, match=rf"environment variable CAMP_FLAG must be on or off \(1/0, true/false, "
                                         rf"yes/no, on/off, any case\), got '{re.escape(raw)}'"):
        env_flag("CAMP_FLAG", True, environ={"CAMP_FLAG": raw})


def test_env_flag_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("CAMP_FLAG", "off")
    assert env_flag("CAMP_FLAG", True) is False
    monkeypatch.delenv("CAMP_FLAG")
    assert env_flag("CAMP_FLAG", True) is True


def test_progress_bars_follow_camp_progress_and_refuse_a_typo(monkeypatch):
    from camp_utils.train import progress_enabled

    monkeypatch.setenv("CAMP_PROGRESS", "No")
    assert progress_enabled() is False and progress_enabled(True) is True
    monkeypatch.setenv("CAMP_PROGRESS", "flase")
    with pytest.raises(ValueError, match="environment variable CAMP_PROGRESS must be on or off"):
        progress_enabled()
