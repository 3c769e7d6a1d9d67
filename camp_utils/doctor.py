"""``python course.py doctor``: what on this machine could get in a learner's way, each finding with its fix.

Run inside the course's environment (``course.py doctor`` does it, after its own
checks of the Python and the package index, which need no install)::

    .venv/bin/python -m camp_utils.doctor

Each check returns a :class:`Finding`: ``ok``, a ``note`` (works, but worth
knowing) or a ``problem`` (something a lesson will trip over). Every check
takes what it inspects as arguments with the machine's own values as defaults,
so the tests can hand it any machine. Nothing here opens a network connection.

What a learner reads is in :mod:`camp_utils.messages` (keys ``doctor.*``):
English, or Chinese with ``CAMP_LANG=zh`` (``python course.py doctor --lang zh``).
"""
from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .messages import say

__all__ = ["Finding", "check_torch_build", "check_cpu_kernel", "check_tensorboard_program", "check_chinese_font",
           "check_loader_workers", "run_checks", "main"]

CJK_FONT_NAMES = ("Noto Sans CJK", "Noto Serif CJK", "Source Han Sans", "Source Han Serif", "WenQuanYi",
                  "SimHei", "SimSun", "Microsoft YaHei", "PingFang", "Heiti", "Hiragino Sans GB", "STHeiti",
                  "Droid Sans Fallback", "AR PL")
"""Font families that draw Chinese; matplotlib needs one of them for Chinese labels."""


@dataclass(frozen=True)
class Finding:
    """One check's verdict: ``status`` is ``"ok"``, ``"note"`` or ``"problem"``; ``fix`` says what to do.

    ``check``, ``detail`` and ``fix`` are in the learner's language (made with
    :func:`~camp_utils.messages.say`); ``status`` stays one of the three English words.
    """

    check: str
    status: str
    detail: str
    fix: str = ""

    def __post_init__(self) -> None:
        if self.status not in ("ok", "note", "problem"):
            raise ValueError(f"status must be 'ok', 'note' or 'problem', got {self.status!r}")

    def __str__(self) -> str:
        text = say(f"doctor.line_{self.status}", check=self.check, detail=self.detail)
        return text + ("\n" + say("doctor.fix", fix=self.fix) if self.fix else "")


def _nvidia_gpu() -> bool:
    return shutil.which("nvidia-smi") is not None


def check_torch_build(version: str | None = None, cuda: str | bool | None = False, cuda_usable: bool | None = None,
                      nvidia_gpu: bool | None = None, mps_usable: bool | None = None) -> Finding:
    """Whether the installed torch build fits the machine: a CUDA build where an NVIDIA GPU is, else the CPU one.

    Args:
        version: ``torch.__version__``.
        cuda: ``torch.version.cuda`` (``None`` for a CPU build).
        cuda_usable: ``torch.cuda.is_available()``.
        nvidia_gpu: whether ``nvidia-smi`` is on PATH.
        mps_usable: whether Apple's GPU (MPS) can be used.

    Each argument left out is this machine's value.
    """
    import torch

    version = version if version is not None else torch.__version__
    cuda = torch.version.cuda if cuda is False else cuda
    cuda_usable = torch.cuda.is_available() if cuda_usable is None else cuda_usable
    nvidia_gpu = _nvidia_gpu() if nvidia_gpu is None else nvidia_gpu
    mps_usable = torch.backends.mps.is_available() if mps_usable is None else mps_usable
    plain = version.split("+")[0]
    cpu_wheel = f"pip install torch=={plain} --index-url https://download.pytorch.org/whl/cpu"
    check = say("doctor.torch_build")
    if cuda and cuda_usable:
        return Finding(check, "ok", say("doctor.torch_cuda_ok", version=version, cuda=cuda))
    if cuda and nvidia_gpu:
        return Finding(check, "problem", say("doctor.torch_old_driver", version=version, cuda=cuda),
                       say("doctor.torch_old_driver_fix"))
    if cuda:
        return Finding(check, "note", say("doctor.torch_cuda_without_gpu", version=version, cuda=cuda),
                       say("doctor.torch_cuda_without_gpu_fix", cpu_wheel=cpu_wheel))
    if nvidia_gpu:
        return Finding(check, "problem", say("doctor.torch_cpu_with_gpu", version=version),
                       say("doctor.torch_cpu_with_gpu_fix", plain=plain))
    if mps_usable:
        return Finding(check, "ok", say("doctor.torch_mps", version=version))
    return Finding(check, "ok", say("doctor.torch_cpu", version=version))


def check_cpu_kernel(capability: str | None = None, forced: str | None = None) -> Finding:
    """Which vectorised CPU kernels PyTorch picked, and whether ``ATEN_CPU_CAPABILITY`` forces them."""
    import torch

    capability = capability if capability is not None else torch.backends.cpu.get_cpu_capability()
    forced = forced if forced is not None else os.environ.get("ATEN_CPU_CAPABILITY", "")
    check = say("doctor.cpu_kernels")
    if forced:
        return Finding(check, "note", say("doctor.cpu_forced", capability=capability, forced=forced),
                       say("doctor.cpu_forced_fix"))
    return Finding(check, "ok", say("doctor.cpu_own", capability=capability))


def check_tensorboard_program(on_path: str | bool | None = False, course_program: str | bool | None = False,
                              windows: bool | None = None) -> Finding:
    """Whether the ``tensorboard`` a terminal finds is the course's (a foreign one may not even start)."""
    from .tb import find_tensorboard_program

    on_path = shutil.which("tensorboard") if on_path is False else on_path
    if course_program is False:
        try:
            course_program = str(find_tensorboard_program())
        except Exception:  # a broken install is a finding, not a crash
            course_program = None
    windows = (os.name == "nt") if windows is None else windows
    own = ".venv\\Scripts\\tensorboard" if windows else ".venv/bin/tensorboard"
    check = say("doctor.tensorboard")
    if course_program is None:
        return Finding(check, "problem", say("doctor.tb_missing"), say("doctor.tb_missing_fix"))
    if on_path is None:
        return Finding(check, "note", say("doctor.tb_not_on_path"), say("doctor.tb_not_on_path_fix", own=own))
    if Path(on_path).resolve() != Path(course_program).resolve():
        return Finding(check, "problem", say("doctor.tb_foreign", on_path=on_path, course_program=course_program),
                       say("doctor.tb_foreign_fix", own=own))
    return Finding(check, "ok", say("doctor.tb_ok", on_path=on_path))


def check_chinese_font(families: list[str] | None = None) -> Finding:
    """Whether matplotlib has a font that draws Chinese (for your own plots with Chinese labels)."""
    if families is None:
        from matplotlib import font_manager

        families = sorted({f.name for f in font_manager.fontManager.ttflist})
    found = [f for f in families if any(f.startswith(name) for name in CJK_FONT_NAMES)]
    if found:
        return Finding(say("doctor.chinese_font"), "ok", say("doctor.font_found", family=found[0]))
    return Finding(say("doctor.chinese_font"), "note", say("doctor.font_missing"), say("doctor.font_missing_fix"))


def check_loader_workers(system: str | None = None) -> Finding:
    """What ``DataLoader(num_workers > 0)`` does here: fork (Linux) or spawn (Windows, macOS)."""
    system = system or platform.system()
    if system in ("Windows", "Darwin"):
        return Finding(say("doctor.loader_workers"), "note", say("doctor.loader_spawn", system=system),
                       say("doctor.loader_spawn_fix"))
    return Finding(say("doctor.loader_workers"), "ok", say("doctor.loader_fork", system=system))


def run_checks() -> list[Finding]:
    """Every check of this module, on this machine."""
    return [check_torch_build(), check_cpu_kernel(), check_tensorboard_program(), check_chinese_font(),
            check_loader_workers()]


def main(findings: list[Finding] | None = None) -> int:
    """Print the findings; exit status 1 if any is a problem."""
    findings = run_checks() if findings is None else findings
    for finding in findings:
        print(finding)
    problems = sum(f.status == "problem" for f in findings)
    print(say("doctor.problems", count=problems) if problems else say("doctor.no_problems"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
