"""python course.py doctor: each check judged on the machines a learner has, and the command as the README writes it."""
from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

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

from tb_support import closed_port

ROOT = Path(__file__).resolve().parent.parent


# ---- torch build against the machine: (cuda, cuda usable, nvidia-smi, mps) -> status, words of the verdict
@pytest.mark.parametrize("cuda, usable, nvidia, mps, status, words", [
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


@pytest.mark.parametrize("system, status", [("Windows", "note"), ("Darwin", "note"), ("Linux", "ok")])
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


def test_course_py_doctor_as_the_readme_writes_it(local_index):
    env = {**os.environ, "PIP_INDEX_URL": local_index}
    done = subprocess.run([sys.executable, "course.py", "doctor"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    for check in ("Python", f"the package index {local_index} answers", "torch build:", "CPU kernels:",
                  "tensorboard:", "Chinese font:", "DataLoader workers:"):
        assert check in done.stdout, done.stdout
    assert done.returncode == ("[problem]" in done.stdout)
