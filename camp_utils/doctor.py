"""``python course.py doctor``: what on this machine could get in a learner's way, each finding with its fix.

Run inside the course's environment (``course.py doctor`` does it, after its own
checks of the Python and the package index, which need no install)::

    .venv/bin/python -m camp_utils.doctor

Each check returns a :class:`Finding`: ``ok``, a ``note`` (works, but worth
knowing) or a ``problem`` (something a lesson will trip over). Every check
takes what it inspects as arguments with the machine's own values as defaults,
so the tests can hand it any machine. Nothing here opens a network connection.
"""
from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Finding", "check_torch_build", "check_cpu_kernel", "check_tensorboard_program", "check_chinese_font",
           "check_loader_workers", "run_checks", "main"]

CJK_FONT_NAMES = ("Noto Sans CJK", "Noto Serif CJK", "Source Han Sans", "Source Han Serif", "WenQuanYi",
                  "SimHei", "SimSun", "Microsoft YaHei", "PingFang", "Heiti", "Hiragino Sans GB", "STHeiti",
                  "Droid Sans Fallback", "AR PL")
"""Font families that draw Chinese; matplotlib needs one of them for Chinese labels."""


@dataclass(frozen=True)
class Finding:
    """One check's verdict: ``status`` is ``"ok"``, ``"note"`` or ``"problem"``; ``fix`` says what to do."""

    check: str
    status: str
    detail: str
    fix: str = ""

    def __post_init__(self) -> None:
        if self.status not in ("ok", "note", "problem"):
            raise ValueError(f"status must be 'ok', 'note' or 'problem', got {self.status!r}")

    def __str__(self) -> str:
        text = f"[{self.status:7}] {self.check}: {self.detail}"
        return text + (f"\n          fix: {self.fix}" if self.fix else "")


def _nvidia_gpu() -> bool:
    return shutil.which("nvidia-smi") is not None


def check_torch_build(version: str | None = None, cuda: str | None | bool = False, cuda_usable: bool | None = None,
                      nvidia_gpu: bool | None = None, mps_usable: bool | None = None) -> Finding:
    """Whether the installed torch build fits the machine: a CUDA build where an NVIDIA GPU is, else the CPU one.

    Args:
        version: ``torch.__version__``; cuda: ``torch.version.cuda`` (``None``
            for a CPU build); cuda_usable: ``torch.cuda.is_available()``;
            nvidia_gpu: whether ``nvidia-smi`` is on PATH; mps_usable: Apple's
            GPU. Each defaults to this machine's value.
    """
    import torch

    version = version if version is not None else torch.__version__
    cuda = torch.version.cuda if cuda is False else cuda
    cuda_usable = torch.cuda.is_available() if cuda_usable is None else cuda_usable
    nvidia_gpu = _nvidia_gpu() if nvidia_gpu is None else nvidia_gpu
    mps_usable = torch.backends.mps.is_available() if mps_usable is None else mps_usable
    plain = version.split("+")[0]
    cpu_wheel = f"pip install torch=={plain} --index-url https://download.pytorch.org/whl/cpu"
    if cuda and cuda_usable:
        return Finding("torch build", "ok", f"torch {version}, CUDA {cuda}, and a usable GPU: lessons train on it")
    if cuda and nvidia_gpu:
        return Finding("torch build", "problem",
                       f"torch {version} is a CUDA {cuda} build and an NVIDIA GPU is here, but CUDA is not usable: "
                       "the driver is probably older than this CUDA needs; everything runs on the CPU",
                       "update the NVIDIA driver (nvidia-smi shows the CUDA version it supports), or install the "
                       "torch wheel for that CUDA version from pytorch.org's selector")
    if cuda:
        return Finding("torch build", "note",
                       f"torch {version} is a CUDA {cuda} build on a machine without an NVIDIA GPU: it works (on "
                       "the CPU), but its download is several GB larger than the CPU build",
                       f"to save the space: {cpu_wheel} (with the matching torchvision)")
    if nvidia_gpu:
        return Finding("torch build", "problem",
                       f"torch {version} is a CPU build, but an NVIDIA GPU is here: training will not use it",
                       "install the CUDA build for your driver from pytorch.org's selector, e.g. "
                       f"pip install torch=={plain} --index-url https://download.pytorch.org/whl/cu126")
    if mps_usable:
        return Finding("torch build", "ok", f"torch {version} with Apple's GPU (MPS): fit uses it")
    return Finding("torch build", "ok", f"torch {version}, a CPU build, on a machine without a GPU: it fits")


def check_cpu_kernel(capability: str | None = None, forced: str | None = None) -> Finding:
    """Which vectorised CPU kernels PyTorch picked, and whether ``ATEN_CPU_CAPABILITY`` forces them."""
    import torch

    capability = capability if capability is not None else torch.backends.cpu.get_cpu_capability()
    forced = forced if forced is not None else os.environ.get("ATEN_CPU_CAPABILITY", "")
    if forced:
        return Finding("CPU kernels", "note",
                       f"{capability}, forced by ATEN_CPU_CAPABILITY={forced}: training numbers differ from the "
                       "saved outputs, as on any other CPU (the lessons' checks allow for it)",
                       "unset ATEN_CPU_CAPABILITY unless you test portability on purpose")
    return Finding("CPU kernels", "ok",
                   f"{capability}: numbers that come out of training differ a little from the saved outputs on "
                   "other CPUs; the compared outputs and the checks do not")


def check_tensorboard_program(on_path: str | None | bool = False, course_program: str | None | bool = False,
                              windows: bool | None = None) -> Finding:
    """Whether the ``tensorboard`` a terminal finds is the course's (a foreign one may not even start)."""
    from .tb import find_tensorboard_program

    on_path = shutil.which("tensorboard") if on_path is False else on_path
    if course_program is False:
        try:
            course_program = str(find_tensorboard_program())
        except Exception:  # noqa: BLE001 -- a broken install is a finding, not a crash
            course_program = None
    windows = (os.name == "nt") if windows is None else windows
    own = ".venv\\Scripts\\tensorboard" if windows else ".venv/bin/tensorboard"
    if course_program is None:
        return Finding("tensorboard", "problem", "the course's environment has no tensorboard program",
                       "python course.py setup (it installs requirements.txt again)")
    if on_path is None:
        return Finding("tensorboard", "note",
                       "no tensorboard on this shell's PATH: outside the course's terminals, call it by its path",
                       f"{own} --logdir runs (from the project folder), or a terminal of `python course.py lab`")
    if Path(on_path).resolve() != Path(course_program).resolve():
        return Finding("tensorboard", "problem",
                       f"the tensorboard on PATH is {on_path}, not the course's ({course_program}): another "
                       "Python's, which may not start or may read runs differently",
                       f"use {own}, or a terminal of `python course.py lab` (its PATH starts with the course's)")
    return Finding("tensorboard", "ok", f"the tensorboard on PATH is the course's ({on_path})")


def check_chinese_font(families: list[str] | None = None) -> Finding:
    """Whether matplotlib has a font that draws Chinese (for your own plots with Chinese labels)."""
    if families is None:
        from matplotlib import font_manager

        families = sorted({f.name for f in font_manager.fontManager.ttflist})
    found = [f for f in families if any(f.startswith(name) for name in CJK_FONT_NAMES)]
    if found:
        return Finding("Chinese font", "ok", f"matplotlib can draw Chinese labels ({found[0]})")
    return Finding("Chinese font", "note",
                   "matplotlib has no font that draws Chinese: Chinese text in your own plots shows as boxes "
                   "(the course's plots are labelled in English and are not affected)",
                   "Debian/Ubuntu: sudo apt install fonts-noto-cjk; Windows and macOS ship one (Microsoft YaHei, "
                   "PingFang): plt.rcParams['font.sans-serif'] = ['Microsoft YaHei'] (or 'PingFang SC'); then "
                   "delete matplotlib's font cache folder (matplotlib.get_cachedir()) and restart the kernel")


def check_loader_workers(system: str | None = None) -> Finding:
    """What ``DataLoader(num_workers > 0)`` does here: fork (Linux) or spawn (Windows, macOS)."""
    system = system or platform.system()
    if system in ("Windows", "Darwin"):
        return Finding("DataLoader workers", "note",
                       f"{system} starts DataLoader workers by spawn: each worker imports the code afresh, so a "
                       "Dataset class defined in a notebook cannot reach them (AttributeError: Can't get attribute "
                       "... on <module '__main__'>), and a script without a main guard starts itself again",
                       "in notebooks keep num_workers=0 (the lessons do) or move the Dataset into a .py file; in "
                       "scripts put the training under `if __name__ == \"__main__\":`")
    return Finding("DataLoader workers", "ok",
                   f"{system} forks DataLoader workers: num_workers > 0 works in notebooks too")


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
    print(f"{problems} problem(s)" if problems else "no problems found")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
