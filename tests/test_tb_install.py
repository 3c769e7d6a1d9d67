"""camp_utils.tb.install: check_install says what is there and what is missing."""

import pytest
import torch

from camp_utils import tb


def test_check_install_reports_versions():
    report = tb.check_install()
    assert report.ok, report.problems
    assert set(report.versions) == {"torch", "torchvision", "tensorboard"}
    assert report.versions["torch"].split("+")[0] == torch.__version__.split("+")[0]
    assert "All good" in str(report)


def test_check_install_explains_a_missing_package():
    report = tb.check_install(("torch", "no-such-package-xyz"))
    assert not report.ok
    assert report.versions["no-such-package-xyz"] is None
    assert "no-such-package-xyz" in report.problems[0] and "requirements.txt" in report.problems[0]
    assert "MISSING" in str(report)


def test_check_install_takes_one_name_as_one_package():
    report = tb.check_install("torch")
    assert list(report.versions) == ["torch"] and report.ok
    with pytest.raises(ValueError, match="packages must be names"):
        tb.check_install(["torch", 3])

