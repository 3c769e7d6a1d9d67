"""camp_utils.schedules.resume.audit_resume: resuming after every epoch, with state dicts and with last_epoch=."""
import pytest
import torch
from torch import nn
from torch.optim.lr_scheduler import (
    ChainedScheduler,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)

from camp_utils.schedules import ResumeAudit, audit_resume


def test_state_dicts_resume_steplr_everywhere_and_last_epoch_breaks_it_at_its_boundaries():
    audit = audit_resume(lambda opt, last: StepLR(opt, 5, 0.5, last_epoch=last), 20)
    assert audit.name == "StepLR" and audit.epochs == 20 and not audit.error
    assert audit.state_dict_breaks == []
    assert audit.last_epoch_breaks == [5, 10, 15]
    assert audit.summary(10) == "StepLR     exact at all 19           3 break (5, 10, 15)"


def test_a_closed_form_schedule_resumes_either_way():
    audit = audit_resume(lambda opt, last: LambdaLR(opt, lambda e: 0.9**e, last_epoch=last), 12, name="decay")
    assert audit.state_dict_breaks == audit.last_epoch_breaks == []
    assert audit.summary(6).startswith("decay  exact at all 11")


def test_a_schedule_whose_state_the_state_dict_misses_is_caught():
    def build(opt, last):
        calls = []   # state in a closure: LambdaLR's state_dict cannot save it

        def factor(epoch):
            calls.append(epoch)
            return 0.9 ** len(calls)
        return LambdaLR(opt, factor, last_epoch=last)
    audit = audit_resume(build, 8)
    # every resume point but the last breaks (the last epoch's lr comes from the loaded optimizer)
    assert audit.state_dict_breaks == list(range(1, 7))


def test_schedulers_without_last_epoch_say_so_and_sequential_lr_breaks_everywhere():
    chained = audit_resume(lambda opt, last: ChainedScheduler([LinearLR(opt, 0.1, 1.0, 5), ExponentialLR(opt, 0.9)]),
                           10)
    assert chained.last_epoch_breaks is None and chained.last_epoch_note == "no last_epoch argument"
    assert chained.state_dict_breaks == [] and "no last_epoch argument" in chained.summary()
    sequential = audit_resume(lambda opt, last: SequentialLR(opt, [LinearLR(opt, 0.01, 1.0, 4),
                                                                   ExponentialLR(opt, 0.9)], [4], last_epoch=last), 10)
    assert sequential.state_dict_breaks == [] and sequential.last_epoch_breaks == list(range(1, 10))


def test_reduce_on_plateau_needs_one_metric_per_epoch_and_resumes_with_its_state_dict():
    metrics = [1.0] * 12
    audit = audit_resume(lambda opt, last: ReduceLROnPlateau(opt, factor=0.5, patience=1), 12, metrics=metrics)
    assert audit.state_dict_breaks == [] and audit.last_epoch_breaks is None
    with pytest.raises(ValueError, match="metrics must hold one value per epoch"):
        audit_resume(lambda opt, last: ReduceLROnPlateau(opt), 12, metrics=[1.0] * 5)


def test_a_schedule_that_cannot_run_through_is_reported_not_raised():
    def nested(opt, last):
        inner = SequentialLR(opt, [LinearLR(opt, 0.5, 1.0, 2), ExponentialLR(opt, 0.9)], [2])
        return SequentialLR(opt, [LinearLR(opt, 0.1, 1.0, 3), inner], [3])
    audit = audit_resume(nested, 8, name="nested")
    assert isinstance(audit, ResumeAudit) and audit.error.startswith("fails in epoch 2: NotImplementedError")
    assert audit.summary(6) == "nested " + audit.error


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"epochs": 1}, "epochs"),
    ({"epochs": 10, "lr": 0}, "lr"),
    ({"epochs": 10, "build": lambda opt, last: StepLR(torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1), 2)},
     "build must return a scheduler built on the optimizer it is given"),
    ({"epochs": 10, "build": lambda opt, last: None}, "build must return a scheduler"),
])
def test_bad_arguments_are_named(kwargs, message):
    build = kwargs.pop("build", lambda opt, last: StepLR(opt, 2, last_epoch=last))
    with pytest.raises(ValueError, match=message):
        audit_resume(build, **kwargs)
