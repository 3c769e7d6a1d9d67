"""camp_utils' learner-facing messages: English by default, Chinese with CAMP_LANG=zh."""
import re
import warnings
from pathlib import Path

import pytest
import torch
from script_loader import load_script

from camp_utils import messages
from camp_utils.homework import HomeworkResult, check_homework
from camp_utils.messages import MESSAGES, fields_of, language, say
from camp_utils.tb.install import InstallReport, check_install

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def lang(monkeypatch):
    def use(value):
        if value is None:
            monkeypatch.delenv("CAMP_LANG", raising=False)
        else:
            monkeypatch.setenv("CAMP_LANG", value)
    return use


def test_every_message_has_english_and_chinese_with_the_same_fields():
    for key, texts in MESSAGES.items():
        assert set(texts) == set(messages.LANGUAGES), key
        assert fields_of(texts["en"]) == fields_of(texts["zh"]), key
        assert CJK.search(texts["zh"]) or key in ("hw.join",), f"{key}: the Chinese text has no Chinese"
        assert not CJK.search(texts["en"]), key


@pytest.mark.parametrize(("value", "expected"), [(None, "en"), ("", "en"), ("en", "en"), ("EN_us", "en"),
                                             ("en-GB.UTF-8", "en"), ("zh", "zh"), ("zh_CN", "zh"),
                                             ("zh-Hans", "zh"), ("zh_CN.UTF-8", "zh"), (" ZH ", "zh")])
def test_the_language_comes_from_camp_lang(lang, value, expected):
    lang(value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert language() == expected


def test_an_unknown_language_falls_back_to_english_with_one_warning(lang):
    lang("fr_FR")
    messages._warned.discard("fr_FR")
    with pytest.warns(UserWarning, match=r"CAMP_LANG='fr_FR' is not a language.*using English"):
        assert say("install.all_good") == "All good: ready for the TensorBoard lessons."
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once is enough
        assert language() == "en"


def test_unknown_keys_are_a_bug_not_a_fallback():
    with pytest.raises(KeyError):
        say("no.such.message")


@pytest.mark.parametrize("value", [None, "en"])
def test_english_messages_are_the_texts_the_notebooks_compare(lang, value):
    lang(value)
    report = InstallReport("3.11.7", {"torch": None, "tensorboard": "2.21.0"}, None,
                           [say("install.missing_package", name="torch"), say("install.no_program")])
    assert str(report).splitlines()[1:] == [
        "torch        MISSING",
        "tensorboard  2.21.0",
        "tensorboard program: NOT FOUND",
        "problem: package 'torch' is not installed in this Python; run "
        "`python -m pip install -r requirements.txt` from the project folder",
        "problem: the `tensorboard` program was not found next to this Python nor on PATH; "
        "install tensorboard or set TENSORBOARD_BINARY to its full path"]
    assert str(HomeworkResult(20, True, "ok")) == "Lesson 20 homework: ok"
    assert say("models.random_weights", reason="r") == "AlexNet has RANDOM weights, not ImageNet's: r"
    assert say("hw21.missing_side", tag="Loss", missing="train", runs=["a"]) == (
        "'Loss' has no train line (runs with it: ['a']): log both, with add_scalars(tag, {'train': ...}) / "
        "{'valid': ...} or two writers")


def test_check_install_speaks_chinese_with_camp_lang_zh(lang):
    lang("zh")
    report = check_install(("torch", "no-such-package-for-the-course"))
    assert not report.ok
    assert "这个 Python 里没有安装包 'no-such-package-for-the-course'" in report.problems[-1]
    text = str(report)
    assert "问题：这个 Python 里没有安装包" in text and "未安装（MISSING）" in text
    lang("en")
    # the suite's Python has the course installed, the tensorboard program beside it: the English verdict
    assert str(check_install("torch")).splitlines()[-1] == "All good: ready for the TensorBoard lessons."


def test_the_random_weights_warning_speaks_chinese_with_camp_lang_zh(lang, monkeypatch, tmp_path):
    from camp_utils import weights

    monkeypatch.setattr(weights, "_alexnet_cache_file", lambda: tmp_path / "alexnet-owt-7be5be79.pth")
    lang("zh")
    with pytest.warns(weights.PretrainedWeightsWarning, match="AlexNet 用的是随机权重.*PyTorch 的缓存"):
        _, pretrained = weights.alexnet()
    assert pretrained is False
    lang(None)
    with pytest.warns(weights.PretrainedWeightsWarning, match="^AlexNet has RANDOM weights, not ImageNet's: they"):
        weights.alexnet()


def test_homework_verdicts_speak_chinese_with_camp_lang_zh(lang, tmp_path):
    lang("zh")
    result = check_homework(20, tmp_path / "nowhere")
    assert not result and str(result).startswith("第20课作业：作业应当写入的文件夹 'nowhere' 不存在")
    maps = torch.randn(1, 64, 55, 55)
    result = check_homework(23, captured={True: maps.clamp_min(0), False: maps})
    assert result and str(result).endswith("：正确")
    lang(None)
    result = check_homework(23, captured={True: maps.clamp_min(0), False: maps})
    assert str(result).startswith("Lesson 23 homework: with inplace=True") and str(result).endswith(": correct")


def test_course_lab_lang_zh_sets_camp_lang(monkeypatch, tmp_path):
    course = load_script("course.py", "course_script_messages")
    seen = {}
    monkeypatch.setattr(course, "copy_new_lessons", list)
    monkeypatch.setattr(course, "lab_app_dir", lambda python: tmp_path)
    monkeypatch.setattr(course, "run_foreground", lambda cmd, **kw: seen.update(env=kw["env"]) or 0)
    assert course.cmd_lab(Path("python"), [], "zh") == 0
    assert seen["env"]["CAMP_LANG"] == "zh"
    assert course.cmd_lab(Path("python"), [], "en") == 0
    assert seen["env"]["CAMP_LANG"] == "en"
