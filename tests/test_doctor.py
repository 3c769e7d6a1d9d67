"""python course.py doctor: each check judged on the machines a learner has, and the command as the README writes it."""
from __future__ import annotations

import http.server
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from camp_utils import doctor
from camp_utils.doctor import (
    Finding,
    check_chinese_font,
    check_cpu_kernel,
    check_loader_workers,
    check_tensorboard_program,
    check_torch_build,
)
from camp_utils.messages import fields_of

from tb_support import closed_port

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def english_unless_told(monkeypatch):
    """English is the default: a CAMP_LANG of the shell that runs the tests does not reach them."""
    monkeypatch.delenv("CAMP_LANG", raising=False)


# ---- torch build against the machine: (cuda, cuda usable, nvidia-smi, mps) -> status, words of the verdict
@pytest.mark.parametrize(("cuda", "usable", "nvidia", "mps", "status", "words"), [
    ("12.6", True, True, False, "ok", "usable GPU"),
    ("12.6", False, True, False, "problem", "driver is probably older"),
    ("13.0", False, False, False, "note", "without an NVIDIA GPU"),
    (None, False, True, False, "problem", "CPU build, but an NVIDIA GPU is here"),
    (None, False, False, True, "ok", "Apple's GPU"),
    (None, False, False, False, "ok", "CPU build, on a machine without a GPU"),
])
def test_the_torch_build_is_judged_against_the_machine(cuda, usable, nvidia, mps, status, words):
    finding = check_torch_build("2.14.1+x", cuda, usable, nvidia, mps)
    assert finding.status == status and words in finding.detail
    if status != "ok":
        assert finding.fix
    if cuda and not nvidia:
        assert "pip install torch==2.14.1 --index-url https://download.pytorch.org/whl/cpu" in finding.fix


def test_a_forced_cpu_kernel_is_a_note_and_the_machines_own_is_fine():
    assert check_cpu_kernel("AVX2", "").status == "ok"
    forced = check_cpu_kernel("DEFAULT", "default")
    assert forced.status == "note" and "ATEN_CPU_CAPABILITY=default" in forced.detail


def test_the_tensorboard_on_path_must_be_the_courses(tmp_path):
    own, foreign = tmp_path / "venv" / "tensorboard", tmp_path / "other" / "tensorboard"
    for program in (own, foreign):
        program.parent.mkdir()
        program.write_text("")
    assert check_tensorboard_program(str(own), str(own), False).status == "ok"
    elsewhere = check_tensorboard_program(str(foreign), str(own), False)
    assert elsewhere.status == "problem" and str(foreign) in elsewhere.detail
    assert ".venv/bin/tensorboard" in elsewhere.fix
    missing = check_tensorboard_program(None, str(own), True)
    assert missing.status == "note" and ".venv\\Scripts\\tensorboard --logdir runs" in missing.fix
    assert check_tensorboard_program(None, None, False).status == "problem"


def test_a_chinese_font_is_found_by_family():
    assert check_chinese_font(["DejaVu Sans", "Noto Sans CJK JP"]).detail.endswith("(Noto Sans CJK JP)")
    none = check_chinese_font(["DejaVu Sans", "Liberation Serif"])
    assert none.status == "note" and "fonts-noto-cjk" in none.fix


@pytest.mark.parametrize(("system", "status"), [("Windows", "note"), ("Darwin", "note"), ("Linux", "ok")])
def test_dataloader_workers_by_system(system, status):
    finding = check_loader_workers(system)
    assert finding.status == status
    if status == "note":
        assert "num_workers=0" in finding.fix and "__main__" in finding.fix


def test_main_prints_every_finding_and_fails_on_a_problem(capsys):
    assert doctor.main([Finding("a", "ok", "fine"), Finding("b", "note", "so-so", "do this")]) == 0
    assert doctor.main([Finding("c", "problem", "broken", "fix it")]) == 1
    out = capsys.readouterr().out
    assert "[note   ] b: so-so\n          fix: do this" in out and out.rstrip().endswith("1 problem(s)")
    with pytest.raises(ValueError, match="status must be"):
        Finding("d", "bad", "x")
    assert all(isinstance(f, Finding) for f in doctor.run_checks())


# ---- the learner's language: English byte for byte as before, Chinese with CAMP_LANG=zh
COURSE_TB, ELSEWHERE_TB = "/course/.venv/bin/tensorboard", "/elsewhere/bin/tensorboard"
EVERY_VERDICT = [  # (check, its arguments, the English lines doctor printed before the Chinese edition)
    (check_torch_build, ("2.14.1+cu126", "12.6", True, True, False),
     "[ok     ] torch build: torch 2.14.1+cu126, CUDA 12.6, and a usable GPU: lessons train on it"),
    (check_torch_build, ("2.14.1+cu130", "13.0", False, True, False),
     "[problem] torch build: torch 2.14.1+cu130 is a CUDA 13.0 build and an NVIDIA GPU is here, but CUDA is not "
     "usable: the driver is probably older than this CUDA needs; everything runs on the CPU\n"
     "          fix: update the NVIDIA driver (nvidia-smi shows the CUDA version it supports), or install the "
     "torch wheel for that CUDA version from pytorch.org's selector"),
    (check_torch_build, ("2.14.1+cu130", "13.0", False, False, False),
     "[note   ] torch build: torch 2.14.1+cu130 is a CUDA 13.0 build on a machine without an NVIDIA GPU: it works "
     "(on the CPU), but its download is several GB larger than the CPU build\n"
     "          fix: to save the space: pip install torch==2.14.1 --index-url https://download.pytorch.org/whl/cpu "
     "(with the matching torchvision)"),
    (check_torch_build, ("2.14.1+cpu", None, False, True, False),
     "[problem] torch build: torch 2.14.1+cpu is a CPU build, but an NVIDIA GPU is here: training will not use it\n"
     "          fix: install the CUDA build for your driver from pytorch.org's selector, e.g. "
     "pip install torch==2.14.1 --index-url https://download.pytorch.org/whl/cu126"),
    (check_torch_build, ("2.14.1", None, False, False, True),
     "[ok     ] torch build: torch 2.14.1 with Apple's GPU (MPS): fit uses it"),
    (check_torch_build, ("2.14.1+cpu", None, False, False, False),
     "[ok     ] torch build: torch 2.14.1+cpu, a CPU build, on a machine without a GPU: it fits"),
    (check_cpu_kernel, ("DEFAULT", "default"),
     "[note   ] CPU kernels: DEFAULT, forced by ATEN_CPU_CAPABILITY=default: training numbers differ from the saved "
     "outputs, as on any other CPU (the lessons' checks allow for it)\n"
     "          fix: unset ATEN_CPU_CAPABILITY unless you test portability on purpose"),
    (check_cpu_kernel, ("AVX2", ""),
     "[ok     ] CPU kernels: AVX2: numbers that come out of training differ a little from the saved outputs on "
     "other CPUs; the compared outputs and the checks do not"),
    (check_tensorboard_program, (None, None, False),
     "[problem] tensorboard: the course's environment has no tensorboard program\n"
     "          fix: python course.py setup (it installs requirements.txt again)"),
    (check_tensorboard_program, (None, COURSE_TB, True),
     "[note   ] tensorboard: no tensorboard on this shell's PATH: outside the course's terminals, call it by its "
     "path\n"
     "          fix: .venv\\Scripts\\tensorboard --logdir runs (from the project folder), or a terminal of "
     "`python course.py lab`"),
    (check_tensorboard_program, (ELSEWHERE_TB, COURSE_TB, False),
     "[problem] tensorboard: the tensorboard on PATH is /elsewhere/bin/tensorboard, not the course's "
     "(/course/.venv/bin/tensorboard): another Python's, which may not start or may read runs differently\n"
     "          fix: use .venv/bin/tensorboard, or a terminal of `python course.py lab` (its PATH starts with the "
     "course's)"),
    (check_tensorboard_program, (COURSE_TB, COURSE_TB, False),
     "[ok     ] tensorboard: the tensorboard on PATH is the course's (/course/.venv/bin/tensorboard)"),
    (check_chinese_font, (["DejaVu Sans", "Noto Sans CJK SC"],),
     "[ok     ] Chinese font: matplotlib can draw Chinese labels (Noto Sans CJK SC)"),
    (check_chinese_font, (["DejaVu Sans"],),
     "[note   ] Chinese font: matplotlib has no font that draws Chinese: Chinese text in your own plots shows as "
     "boxes (the course's plots are labelled in English and are not affected)\n"
     "          fix: Debian/Ubuntu: sudo apt install fonts-noto-cjk; Windows and macOS ship one (Microsoft YaHei, "
     "PingFang): plt.rcParams['font.sans-serif'] = ['Microsoft YaHei'] (or 'PingFang SC'); then delete "
     "matplotlib's font cache folder (matplotlib.get_cachedir()) and restart the kernel"),
    (check_loader_workers, ("Windows",),
     "[note   ] DataLoader workers: Windows starts DataLoader workers by spawn: each worker imports the code afresh, "
     "so a Dataset class defined in a notebook cannot reach them (AttributeError: Can't get attribute ... on "
     "<module '__main__'>), and a script without a main guard starts itself again\n"
     "          fix: in notebooks keep num_workers=0 (the lessons do) or move the Dataset into a .py file; in "
     "scripts put the training under `if __name__ == \"__main__\":`"),
    (check_loader_workers, ("Linux",),
     "[ok     ] DataLoader workers: Linux forks DataLoader workers: num_workers > 0 works in notebooks too"),
]


@pytest.mark.parametrize("value", [None, "en", "en_US.UTF-8"])
def test_the_english_output_is_the_one_before_the_chinese_edition(monkeypatch, capsys, value):
    if value is not None:
        monkeypatch.setenv("CAMP_LANG", value)
    findings = [check(*args) for check, args, _ in EVERY_VERDICT]
    assert [str(f) for f in findings] == [english for _, _, english in EVERY_VERDICT]
    assert [f.check for f in findings[::5]] == ["torch build", "torch build", "tensorboard", "DataLoader workers"]
    assert doctor.main(findings) == 1
    assert capsys.readouterr().out == "\n".join(english for _, _, english in EVERY_VERDICT) + "\n4 problem(s)\n"
    assert doctor.main([Finding("a", "ok", "fine"), Finding("b", "note", "so-so", "do this")]) == 0
    assert doctor.main([Finding("c", "problem", "broken", "fix it")]) == 1
    assert capsys.readouterr().out == ("[ok     ] a: fine\n[note   ] b: so-so\n          fix: do this\n"
                                       "no problems found\n"
                                       "[problem] c: broken\n          fix: fix it\n1 problem(s)\n")


@pytest.mark.parametrize(("check", "args", "english"), EVERY_VERDICT)
def test_every_verdict_speaks_chinese_with_camp_lang_zh(monkeypatch, check, args, english):
    monkeypatch.setenv("CAMP_LANG", "zh")
    finding = check(*args)
    lines = str(finding).splitlines()
    assert finding.status in english.split("]")[0]  # the status stays the English word, shown translated
    assert lines[0].startswith({"ok": "[正常] ", "note": "[提示] ", "problem": "[问题] "}[finding.status])
    assert CJK.search(finding.check) and CJK.search(finding.detail) and not CJK.search(english)
    assert lines[0] == f"{lines[0][:4]} {finding.check}：{finding.detail}"
    assert len(lines) == len(english.splitlines()) == 1 + bool(finding.fix)
    if finding.fix:
        assert CJK.search(finding.fix) and lines[1] == f"       解决办法：{finding.fix}"


def test_commands_paths_and_names_stay_as_they_are_in_chinese(monkeypatch, capsys):
    monkeypatch.setenv("CAMP_LANG", "zh_CN.UTF-8")
    assert str(check_torch_build("2.14.1+cpu", None, False, False, False)) == (
        "[正常] torch 构建版本：torch 2.14.1+cpu，CPU 版，这台机器没有 GPU：正合适")
    fat = check_torch_build("2.14.1+cu130", "13.0", False, False, False)
    assert fat.status == "note" and "没有 NVIDIA GPU" in fat.detail
    assert "pip install torch==2.14.1 --index-url https://download.pytorch.org/whl/cpu" in fat.fix
    assert "ATEN_CPU_CAPABILITY=default" in check_cpu_kernel("DEFAULT", "default").detail
    missing = check_tensorboard_program(None, COURSE_TB, True)
    assert ".venv\\Scripts\\tensorboard --logdir runs" in missing.fix and "`python course.py lab`" in missing.fix
    assert "/elsewhere/bin/tensorboard" in check_tensorboard_program(ELSEWHERE_TB, COURSE_TB, False).detail
    font = check_chinese_font(["DejaVu Sans"])
    assert "sudo apt install fonts-noto-cjk" in font.fix and "matplotlib.get_cachedir()" in font.fix
    spawn = check_loader_workers("Darwin")
    assert "AttributeError: Can't get attribute ... on <module '__main__'>" in spawn.detail
    assert "num_workers=0" in spawn.fix and '`if __name__ == "__main__":`' in spawn.fix
    assert doctor.main([Finding("a", "ok", "fine")]) == 0
    assert doctor.main([Finding("b", "problem", "broken", "fix it"), Finding("c", "problem", "broken")]) == 1
    assert capsys.readouterr().out == ("[正常] a：fine\n没有发现问题\n"
                                       "[问题] b：broken\n       解决办法：fix it\n[问题] c：broken\n发现 2 个问题\n")


# ---- course.py's own checks (they need no install), and the command as the README writes it
@pytest.fixture
def local_index():
    class Index(http.server.BaseHTTPRequestHandler):   # answers every page, as an index's root does
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html><body>simple</body></html>")

        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Index)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    server.shutdown()


def test_the_package_index_is_pip_index_url_first(course):
    assert course.package_index({"PIP_INDEX_URL": "https://mirror.example/simple"}) == "https://mirror.example/simple"


def test_an_index_that_answers_is_ok_and_one_that_does_not_is_a_problem_with_the_mirror_fix(course, local_index):
    assert course.index_finding(local_index)[0] == "ok"
    with closed_port() as port:
        status, detail, fix = course.index_finding(f"http://127.0.0.1:{port}/simple", timeout=3)
    assert status == "problem" and "does not answer" in detail and "pypi.tuna.tsinghua.edu.cn" in fix


def test_course_py_doctors_own_lines_are_english_as_before_or_chinese(course, local_index, monkeypatch):
    assert course.index_finding(local_index) == ("ok", f"the package index {local_index} answers", "")
    with closed_port() as port:
        url = f"http://127.0.0.1:{port}/simple"
        status, detail, fix = course.index_finding(url, timeout=3)
        assert detail.startswith(f"the package index {url} does not answer (") and detail.endswith(
            "): setup and new installs need it; the course, once installed, runs offline")
        assert fix == ("connect, or use a mirror you can reach, e.g. PIP_INDEX_URL=https://pypi.tuna.tsinghua.edu.cn/"
                       "simple (README.zh-CN.md shows it for bash/zsh, cmd and PowerShell)")
        assert course.doctor_line("problem", "broken", fix) == f"[problem] broken\n          fix: {fix}"
        assert course.doctor_line("ok", "fine") == "[ok     ] fine"
        monkeypatch.setenv("CAMP_LANG", "zh-Hans")
        status, detail, fix = course.index_finding(url, timeout=3)
    assert status == "problem" and detail.startswith(f"包索引 {url} 连不上（")
    assert "PIP_INDEX_URL=https://pypi.tuna.tsinghua.edu.cn/simple" in fix and "README.zh-CN.md" in fix
    assert course.doctor_line("note", "还行", "这样做", "zh") == "[提示] 还行\n       解决办法：这样做"
    for key, texts in course.DOCTOR_TEXTS.items():  # as tests/test_messages.py checks camp_utils' messages
        assert set(texts) == {"en", "zh"}, key
        assert CJK.search(texts["zh"]) or key == "python_ok", key  # "Python {version}（{executable}）"
        assert fields_of(texts["en"]) == fields_of(texts["zh"]) and not CJK.search(texts["en"]), key


@pytest.mark.parametrize(("camp_lang", "lang", "expected"), [
    (None, None, "en"), (None, "zh", "zh"), ("zh_CN", None, "zh"), ("zh", "en", "en"), ("fr", None, "en")])
def test_course_py_doctor_lang_sets_camp_lang_for_the_environments_checks(course, local_index, monkeypatch, capsys,
                                                                         camp_lang, lang, expected):
    seen = {}
    if camp_lang is not None:
        monkeypatch.setenv("CAMP_LANG", camp_lang)
    monkeypatch.setattr(course, "package_index", lambda env=None: local_index)
    monkeypatch.setattr(course, "subprocess", SimpleNamespace(call=lambda cmd, **kw: seen.update(kw) or 0))
    assert course.cmd_doctor(False, lang) == 0
    version = sys.version.split()[0]
    assert capsys.readouterr().out == {
        "en": f"[ok     ] Python {version} ({sys.executable})\n[ok     ] the package index {local_index} answers\n",
        "zh": f"[正常] Python {version}（{sys.executable}）\n[正常] 包索引 {local_index} 可以连上\n"}[expected]
    assert seen["env"].get("CAMP_LANG") == (lang or camp_lang)  # --lang wins; without it, the shell's setting


@pytest.mark.parametrize(("argv", "lang"), [(["doctor"], None), (["doctor", "--lang", "zh"], "zh"),
                                        (["--lang", "en", "doctor", "--no-venv"], "en")])
def test_course_py_passes_lang_to_doctor(course, monkeypatch, argv, lang):
    seen = {}
    monkeypatch.setattr(course, "cmd_doctor", lambda use_venv, lang=None: seen.update(lang=lang) or 0)
    monkeypatch.setattr(sys, "argv", ["course.py", *argv])
    assert course.main() == 0 and seen == {"lang": lang}


def test_course_py_doctor_as_the_readme_writes_it(local_index):
    env = {**os.environ, "PIP_INDEX_URL": local_index}
    env.pop("CAMP_LANG", None)  # the README's command as an English learner runs it
    done = subprocess.run([sys.executable, "course.py", "doctor"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    for check in ("Python", f"the package index {local_index} answers", "torch build:", "CPU kernels:",
                  "tensorboard:", "Chinese font:", "DataLoader workers:"):
        assert check in done.stdout, done.stdout
    assert done.returncode == ("[problem]" in done.stdout)
