"""Shared plumbing of the benchmarks: the machine, timing side by side, tables, the record.

Every benchmark returns a :class:`Result`: a table (printed, and appended to
``benchmarks/RESULTS.md``) and its targets, each met or missed. The machine
(CPU model, cores, torch version and threads, device) is written above each
run so figures from different machines are never mixed up.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS_MD = HERE / "RESULTS.md"
RESULTS_JSON = HERE / "results.jsonl"


class Skip(Exception):
    """Raised by a benchmark that cannot run here (e.g. the lesson's code has not landed)."""


@dataclass
class Target:
    """One target of the issue: ``value`` against ``limit`` (smaller is better)."""

    name: str
    value: float
    limit: float
    unit: str = ""

    @property
    def met(self) -> bool:
        return self.value <= self.limit

    def line(self) -> str:
        fmt = (lambda v: f"{v:.3g}") if self.unit in ("x", "") else (lambda v: f"{v:.3g} {self.unit}")
        verdict = "met" if self.met else "MISSED"
        return f"{verdict:6s} {self.name}: {fmt(self.value)} (target <= {fmt(self.limit)})"


@dataclass
class Result:
    """What a benchmark measured: a table, targets, and notes (one line each)."""

    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


# ------------------------------------------------------------------ the machine
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """Facts that decide the figures: CPU, cores, torch and its threads, the device."""
    import torch

    from camp_utils.train import pick_device

    device = pick_device()
    device_name = f"cuda ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else device.type
    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
        memory = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except Exception:  # psutil is optional for this line
        physical, memory = None, "?"
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "physical_cores": physical,
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": device_name,
    }


def machine_line(m: dict) -> str:
    return (f"{m['cpu']}, {m['cores']} cores, {m['memory']} RAM, {m['os']}, Python {m['python']}, "
            f"torch {m['torch']} ({m['threads']} threads), device {m['device']}")


# ------------------------------------------------------------------ timing
def now() -> float:
    return time.perf_counter()


def calibrate(fn: Callable[[], object], seconds: float = 0.2, most: int = 1000) -> int:
    """How many calls of ``fn`` take about ``seconds`` (at least 1): short calls are timed in blocks."""
    start = now()
    fn()
    once = max(now() - start, 1e-6)
    return max(1, min(most, round(seconds / once)))


def block_time(fn: Callable[[], object], calls: int) -> float:
    """Seconds per call of ``fn``, timed over ``calls`` calls in a row."""
    start = now()
    for _ in range(calls):
        fn()
    return (now() - start) / calls


def side_by_side(sides: dict[str, Callable[[], object]], repeats: int, calls: dict[str, int] | None = None,
                 warmup: bool = True) -> dict[str, list[float]]:
    """Time every side once per repeat, rotating the order each repeat; seconds per call, per repeat.

    Rotating (A B C, B C A, C A B, ...) spreads slow drifts of a shared
    machine (another process, clock changes) evenly over the sides, so the
    per-repeat ratios and their median compare like with like.
    """
    names = list(sides)
    calls = calls or dict.fromkeys(names, 1)
    if warmup:
        for name in names:
            sides[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        if r % 2:
            order.reverse()
        for name in order:
            times[name].append(block_time(sides[name], calls[name]))
    return times


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def median_ratio(times: dict[str, list[float]], side: str, base: str) -> float:
    """Median over repeats of ``side / base`` (each ratio from the same repeat)."""
    return statistics.median(a / b for a, b in zip(times[side], times[base]))


def spread(values: Sequence[float]) -> str:
    """``min-max`` of a list, for a note on how noisy a figure was."""
    return f"{min(values):.3g}-{max(values):.3g}"


# ------------------------------------------------------------------ output
def _cell(value) -> str:
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def table(columns: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A Markdown table (readable as plain text too)."""
    cells = [[str(c) for c in columns]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells[1:]]
    return "\n".join(lines)


def render(name: str, result: Result) -> str:
    parts = [f"### {name} — {result.title}", "", table(result.columns, result.rows)]
    if result.targets:
        parts += ["", "Targets:", ""] + [f"- {t.line()}" for t in result.targets]
    if result.notes:
        parts += [""] + [f"- {n}" for n in result.notes]
    parts += ["", f"({name} took {result.seconds:.0f} s)"]
    return "\n".join(parts)


class Recorder:
    """Appends one run (a header with date and machine, then each benchmark) to RESULTS.md and results.jsonl."""

    def __init__(self, enabled: bool, argv: Sequence[str], m: dict) -> None:
        self.enabled = enabled
        self.machine = m
        self.started = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
        self.run_id = self.started.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.command = "python -m benchmarks" + "".join(f" {a}" for a in argv)
        if enabled:
            new = not RESULTS_MD.exists()
            with RESULTS_MD.open("a", encoding="utf-8") as f:
                if new:
                    f.write("# Benchmark results\n\nAppended by `python -m benchmarks` (see `benchmarks/__init__.py`); "
                            "newest run last. Machine-readable copy: `results.jsonl`.\n")
                f.write(f"\n## Run {self.started:%Y-%m-%d %H:%M} UTC\n\n"
                        f"`{self.command}` on {machine_line(m)}\n")

    def add(self, name: str, result: Result | None, skipped: str | None = None) -> None:
        if not self.enabled:
            return
        with RESULTS_MD.open("a", encoding="utf-8") as f:
            if result is None:
                f.write(f"\n### {name} — skipped: {skipped}\n")
            else:
                f.write("\n" + render(name, result) + "\n")
        record = {"run": self.run_id, "command": self.command, "machine": self.machine, "benchmark": name}
        if result is None:
            record["skipped"] = skipped
        else:
            record.update(title=result.title, columns=result.columns, rows=result.rows, notes=result.notes,
                          seconds=round(result.seconds, 1),
                          targets=[{**asdict(t), "met": t.met} for t in result.targets])
        with RESULTS_JSON.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=str) + "\n")

    def finish(self, seconds: float, summary: list[str]) -> None:
        if not self.enabled:
            return
        with RESULTS_MD.open("a", encoding="utf-8") as f:
            f.write(f"\n### Summary — whole run {seconds:.0f} s\n\n" + "\n".join(f"- {s}" for s in summary) + "\n")
