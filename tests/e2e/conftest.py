"""End-to-end tests: the course as a learner uses it, in JupyterLab in a real (headless) Chromium.

The ``lab`` fixture starts JupyterLab the way ``python course.py lab`` does
(the same environment and command, the learner's copies made from
``notebooks/``, the course's JupyterLab settings) on a temporary copy of the
course, with a token on a free localhost port, and drives it with Playwright
through the system's Chromium (Debian's ``chromium``).

Nothing here outlives the tests, even when one fails: every process that
JupyterLab started -- kernels and the TensorBoard servers of ``%tensorboard``
-- carries a marker in its environment and is stopped by process id, and
TensorBoard's instance records live in the JupyterLab's own ``TMPDIR``, which
is deleted.

Without a Chromium (or without Playwright) the tests are skipped, with one line
saying how to enable them; under CI (``CI=true``) they fail instead.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from script_loader import load_script

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "e2e-screenshots"  # git-ignored (build/)
MARKER = "CAMP_E2E_RUN"  # environment marker of every process the test JupyterLab starts
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-quic", "--no-first-run", "--disable-sync", "--disable-dev-shm-usage",
]
ENABLE_HINT = ("install Debian's `chromium` (apt-get install chromium) or set CAMP_CHROMIUM=/path/to/chrome, "
               "and run them with `python course.py test tests/e2e` (it installs Playwright)")
# What a traceback looks like in a rendered error output.
ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|^\s*\w*(Error|Exception)\b", re.MULTILINE)

_skip_reason: str | None = None


def _load_course():
    return load_script("course.py", "course_script")


def find_chromium() -> str | None:
    """``$CAMP_CHROMIUM`` or the first Chromium/Chrome program on ``PATH``."""
    explicit = os.environ.get("CAMP_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _unavailable() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed"
    if find_chromium() is None:
        return "no Chromium found"
    return None


def pytest_collection_modifyitems(config, items):
    global _skip_reason
    e2e = [item for item in items if Path(str(item.fspath)).is_relative_to(Path(__file__).parent)]
    missing = _unavailable() if e2e else None
    if missing is None:
        return
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        raise pytest.UsageError(f"CI must run the browser tests (tests/e2e), but {missing}: {ENABLE_HINT}")
    _skip_reason = f"browser tests (tests/e2e) skipped: {missing}; to run them, {ENABLE_HINT}"
    marker = pytest.mark.skip(reason=_skip_reason)
    for item in e2e:
        item.add_marker(marker)


def pytest_terminal_summary(terminalreporter):
    if _skip_reason:
        terminalreporter.write_line(_skip_reason)
    elif SCREENSHOTS.is_dir() and any(SCREENSHOTS.iterdir()) and _Lab.started:
        terminalreporter.write_line(f"browser tests: screenshots in {SCREENSHOTS}")


# --------------------------------------------------------------------------- processes


def _marked_pids(marker_value: str) -> list[int]:
    """Processes whose environment carries ``MARKER=marker_value`` (Linux /proc)."""
    needle = f"{MARKER}={marker_value}".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return [pid for pid in found if pid != os.getpid()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited; it only waits for its parent
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def _stop_pids(pids: set[int], grace: float = 10.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.1)
        pids = {p for p in pids if _alive(p)}
        if not pids:
            return


def _tensorboard_records(tmpdir: Path) -> list[dict]:
    records = []
    for path in (tmpdir / ".tensorboard-info").glob("pid-*.info"):
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return records


# --------------------------------------------------------------------------- the lab


class _Lab:
    """A running JupyterLab on a temporary copy of the course, and a browser for it."""

    started = False

    def __init__(self, base: Path, browser, python: str) -> None:
        self.base = base
        self.course = base / "notebooks"
        self.learner = base / "my_notebooks"
        self.tmpdir = base / "tmp"
        self.runs = base / "runs"
        self.port: int | None = None  # the port Jupyter Server was given by the OS (--port=0), once started
        self.token = secrets.token_hex(16)
        self.run_id = uuid.uuid4().hex
        self.url = ""
        self.browser = browser
        self.python = python
        self.process: subprocess.Popen | None = None
        self.log_path = base / "jupyterlab.log"
        self.env: dict[str, str] = {}
        self.pages: list = []

    # -- start / stop

    def start(self, course) -> None:
        shutil.copytree(ROOT / "notebooks", self.course,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        course.copy_new_lessons(self.course, self.learner)  # what `course.py lab` does on first use
        self.course_files = self._snapshot(self.course)
        course.write_lab_settings(course.lab_app_dir(Path(self.python)))  # news pop-up off
        for folder in (self.tmpdir, self.runs, self.base / "data", self.base / "jupyter-config",
                       self.base / "lab-settings", self.base / "lab-workspaces", self.base / "ipython"):
            folder.mkdir(parents=True, exist_ok=True)
        env = course.course_env()
        for name in ("CAMP_PROGRESS", "CAMP_SESSION", "TENSORBOARD_PROXY_URL", "CAMP_TENSORBOARD_PROXY",
                     "JUPYTERHUB_SERVICE_PREFIX"):
            env.pop(name, None)  # a learner's session: progress bars on, no test-suite markers
        env.update({
            MARKER: self.run_id,
            "TMPDIR": str(self.tmpdir),  # TensorBoard's instance records go here, and go away with it
            "CAMP_RUNS_DIR": str(self.runs),
            "CAMP_DATA_DIR": str(self.base / "data"),
            # nobody's own Jupyter configuration, settings or workspaces change what is tested
            "JUPYTER_CONFIG_DIR": str(self.base / "jupyter-config"),
            "JUPYTERLAB_SETTINGS_DIR": str(self.base / "lab-settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.base / "lab-workspaces"),
            "IPYTHONDIR": str(self.base / "ipython"),
        })
        env = course.terminal_env(Path(self.python), env)  # as `course.py lab`: terminals run the course's programs
        self.env = env
        # --port=0: the operating system gives Jupyter Server a free port when it binds; the server says which
        # in its runtime file (jpserver-<pid>.json). No port is chosen here first for anyone else to take.
        runtime = self.base / "jupyter-runtime"
        runtime.mkdir(exist_ok=True)
        env["JUPYTER_RUNTIME_DIR"] = str(runtime)
        command = course.lab_command(Path(self.python), self.learner, [
            "--no-browser", "--ip=127.0.0.1", "--port=0", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}", *course.terminal_args(env),
        ])
        log = open(self.log_path, "wb")  # noqa: SIM115 -- JupyterLab writes to it until stop() closes it
        self.process = subprocess.Popen(command, cwd=self.learner, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True,
                                        **course.interruptible())  # as course.py lab: Ctrl+C works in terminals
        log.close()
        server_file = runtime / f"jpserver-{self.process.pid}.json"
        deadline = time.monotonic() + 90
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.process.returncode}:\n{self.log()}")
            try:
                if self.port is None:
                    self.port = int(json.loads(server_file.read_text())["port"])
                    self.url = f"http://127.0.0.1:{self.port}/"
                self.api("GET", "api/status")
                break
            except (OSError, ValueError, KeyError, urllib.error.URLError) as err:  # no file yet, half written
                if time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not answer in 90 s (port {self.port}):\n{self.log()}") from err
                time.sleep(0.3)
        _Lab.started = True

    @staticmethod
    def _snapshot(folder: Path) -> dict[str, bytes]:
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    def course_changed(self) -> list[str]:
        """Files of the course copy that changed since JupyterLab started (should be none)."""
        now = self._snapshot(self.course)
        return sorted(name for name in set(now) | set(self.course_files)
                      if now.get(name) != self.course_files.get(name))

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def api(self, method: str, path: str, timeout: float = 10.0):
        request = urllib.request.Request(self.url + path, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            body = reply.read()
        return json.loads(body) if body else None

    def api_json(self, method: str, path: str, body: dict, timeout: float = 10.0):
        """Send ``body`` as JSON to JupyterLab's REST API, as its frontend does; return the decoded answer."""
        request = urllib.request.Request(self.url + path, method=method, data=json.dumps(body).encode(),
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return json.loads(reply.read() or b"null")

    def terminal_output(self, name: str, typed: str, until: str | None, timeout: float = 30.0) -> str:
        """Type ``typed`` into JupyterLab's terminal ``name`` through its websocket, as the browser's terminal
        does, and return what the shell wrote until ``until`` appears in it (``None``: return at once).
        """
        import asyncio

        from tornado.websocket import websocket_connect

        async def talk() -> str:
            url = f"ws://127.0.0.1:{self.port}/terminals/websocket/{name}?token={self.token}"
            connection = await websocket_connect(url)
            # Wait until the message is sent: closing the connection at once (until=None) could drop it.
            await connection.write_message(json.dumps(["stdin", typed]))
            seen = ""
            while until is not None and until not in seen:
                message = await asyncio.wait_for(connection.read_message(), timeout)
                if message is None:
                    break
                kind, *content = json.loads(message)
                if kind == "stdout":
                    seen += content[0]
            connection.close()
            return seen

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:  # its own event loop, away from the browser's
            return pool.submit(asyncio.run, talk()).result()

    def shell_folders(self) -> dict[int, Path]:
        """The working folder of every shell this JupyterLab's terminals run, by process id (Linux /proc)."""
        folders = {}
        for pid in _marked_pids(self.run_id):
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() in {"bash", "sh", "dash", "zsh", "fish"}:
                    folders[pid] = Path(os.readlink(f"/proc/{pid}/cwd"))
            except OSError:
                continue
        return folders

    def shutdown_kernels(self) -> None:
        """Stop every kernel through JupyterLab (as its "Shut Down All Kernels" does)."""
        try:
            for kernel in self.api("GET", "api/kernels"):
                try:
                    self.api("DELETE", f"api/kernels/{kernel['id']}", timeout=30)
                except (OSError, urllib.error.URLError):
                    pass
        except (OSError, urllib.error.URLError, ValueError):
            pass

    def stop(self) -> list[str]:
        """Stop JupyterLab, its kernels and every TensorBoard they started; return what had to be killed."""
        if self.process is None:
            return []
        self.shutdown_kernels()
        pids = {self.process.pid}
        pids.update(_marked_pids(self.run_id))  # kernels, TensorBoards, anything orphaned
        pids.update(int(r["pid"]) for r in _tensorboard_records(self.tmpdir) if r.get("pid"))
        _stop_pids({p for p in pids if _alive(p)})
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        left = [pid for pid in _marked_pids(self.run_id) if _alive(pid)]
        shutil.rmtree(self.tmpdir / ".tensorboard-info", ignore_errors=True)
        self.process = None
        return [str(pid) for pid in left]

    # -- the browser

    def new_page(self):
        context = self.browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(60_000)
        page = context.new_page()
        self.pages.append(page)
        return page

    def close_pages(self, failed_test: str | None = None) -> None:
        """Close the test's pages; after a failure keep a picture of each first."""
        for number, page in enumerate(self.pages):
            if failed_test:
                name = re.sub(r"[^\w.-]+", "_", failed_test)[:120]
                try:
                    print(f"screenshot: {self.screenshot(page, f'FAILED_{name}_{number}.png')}")
                except Exception:  # the picture is a help, never a second failure
                    pass
            try:
                page.context.close()
            except Exception:
                pass
        self.pages = []

    def open_notebook(self, name: str):
        """A new browser page with ``name`` (a file in the learner's folder) open and its kernel idle."""
        page = self.new_page()
        # ?reset: a fresh workspace, so only this notebook opens
        page.goto(f"{self.url}lab/tree/{name}?reset&token={self.token}")
        page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(state="visible", timeout=90_000)
        kernel_name = page.locator(".jp-NotebookPanel .jp-KernelName").first
        deadline = time.monotonic() + 90
        while kernel_name.inner_text().strip() in {"", "No Kernel", "Kernel"} and not self.dialogs(page):
            if time.monotonic() > deadline:
                raise AssertionError(f"no kernel started for {name} in 90 s")
            page.wait_for_timeout(250)
        if not self.dialogs(page):
            self.wait_kernel_idle(page, timeout=90)
        return page

    @staticmethod
    def kernel_status(page) -> str:
        return page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator").first.get_attribute(
            "data-status") or ""

    def wait_kernel_idle(self, page, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while self.kernel_status(page) != "idle":
            if time.monotonic() > deadline:
                raise AssertionError(f"the kernel did not become idle in {timeout} s "
                                     f"(status {self.kernel_status(page)!r})")
            page.wait_for_timeout(250)

    @staticmethod
    def code_prompts(page) -> list[str]:
        return [t.strip() for t in page.locator(".jp-CodeCell .jp-InputPrompt").all_text_contents()]

    @staticmethod
    def code_prompts_above(page, count: int) -> list[str]:
        """The prompts of the code cells among the notebook's first ``count`` cells."""
        return page.locator(".jp-Notebook .jp-Cell").first.evaluate(
            """(first, count) => [...first.parentElement.children].slice(0, count)
                .filter(cell => cell.classList.contains('jp-CodeCell'))
                .map(cell => (cell.querySelector('.jp-InputPrompt')?.textContent || '').trim())""", count)

    def run_all(self, page, timeout: float = 300, above=None) -> float:
        """Run > Run All Cells through the menu; wait until every code cell has run. Returns seconds.

        With ``above`` (a cell locator): select that cell and Run > Run All Above Selected Cell instead,
        and wait for the cells above it.
        """
        start = time.monotonic()
        if above is None:
            self.run_menu(page, "runmenu:run-all")
            count = None
        else:
            count = above.evaluate("cell => [...cell.parentElement.children].indexOf(cell)")
            self.select_cell(page, above)
            self.run_menu(page, "notebook:run-all-above")
        deadline = start + timeout
        while True:
            prompts = self.code_prompts(page) if count is None else self.code_prompts_above(page, count)
            # a cell whose input is collapsed (metadata jupyter.source_hidden) shows no prompt text: ''
            shown = [p for p in prompts if p]
            done = shown and all(re.fullmatch(r"\[\d+\]:", p) for p in shown)
            if done and self.kernel_status(page) == "idle":
                return time.monotonic() - start
            if time.monotonic() > deadline:
                raise AssertionError(f"Run All did not finish in {timeout} s; prompts: {prompts}; "
                                     f"kernel: {self.kernel_status(page)!r}")
            page.wait_for_timeout(500)

    def run_menu(self, page, command: str) -> None:
        """Click Run > the menu item of JupyterLab command ``command`` (e.g. ``notebook:run-cell``)."""
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(f'.lm-Menu-item[data-command="{command}"]').click()

    def select_cell(self, page, cell) -> None:
        """Select the code cell ``cell`` (a locator) as a learner does: click its prompt, leave edit mode."""
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputPrompt").click()
        page.keyboard.press("Escape")

    def run_cell(self, page, cell, timeout: float = 120) -> None:
        """Select ``cell`` and Run > Run Selected Cell; wait until it has run and the kernel is idle."""
        self.select_cell(page, cell)
        self.run_menu(page, "notebook:run-cell")  # the prompt turns to [*]: at once, then to the new number
        deadline = time.monotonic() + timeout
        while True:
            prompt = cell.locator(".jp-InputPrompt").inner_text().strip()
            if re.fullmatch(r"\[\d+\]:", prompt) and self.kernel_status(page) == "idle":
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the cell did not run in {timeout} s (prompt {prompt!r})")
            page.wait_for_timeout(300)

    @staticmethod
    def error_outputs(page) -> list[str]:
        texts = page.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').all_text_contents()
        return [t for t in texts if ERROR_TEXT.search(t)]

    @staticmethod
    def dialogs(page) -> list[str]:
        return page.locator(".jp-Dialog").all_text_contents()

    def save(self, page, name: str) -> dict:
        """Save the notebook (Ctrl+S) and return it as JupyterLab wrote it to disk."""
        page.locator(".jp-NotebookPanel .jp-Notebook").first.click(position={"x": 5, "y": 5})
        page.keyboard.press("Control+s")
        deadline = time.monotonic() + 30
        path = self.learner / name
        before = path.stat().st_mtime_ns
        while time.monotonic() < deadline:
            dirty = page.locator(".jp-mod-dirty").count()
            if path.stat().st_mtime_ns != before and not dirty:
                break
            page.wait_for_timeout(200)
        return json.loads(path.read_text(encoding="utf-8"))

    def screenshot(self, locator_or_page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / name
        locator_or_page.screenshot(path=str(path))
        return path


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """A JupyterLab for the course, started as ``course.py lab`` does, and a headless Chromium."""
    from playwright.sync_api import sync_playwright

    course = _load_course()

    def interrupted(signum, frame):  # e.g. `timeout` sent SIGTERM: still clean up below
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupted)
    if SCREENSHOTS.is_dir():
        shutil.rmtree(SCREENSHOTS)
    playwright = sync_playwright().start()
    browser = None
    instance = None
    try:
        browser = playwright.chromium.launch(executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS)
        instance = _Lab(tmp_path_factory.mktemp("e2e-course"), browser, sys.executable)
        instance.start(course)
        yield instance
    finally:
        left = instance.stop() if instance is not None else []
        if browser is not None:
            browser.close()
        playwright.stop()
        signal.signal(signal.SIGTERM, previous)
        assert not left, f"processes of the test JupyterLab still running after clean-up: {left}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.e2e_failed = report.failed


@pytest.fixture
def stop_kernels_after(lab, request):
    """After the test: a picture of each page if it failed, close them, shut every kernel down."""
    yield
    lab.close_pages(request.node.name if getattr(request.node, "e2e_failed", False) else None)
    lab.shutdown_kernels()
