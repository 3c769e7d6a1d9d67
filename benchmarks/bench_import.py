"""import: what ``import camp_utils`` adds to ``import torch`` (every notebook pays it).

Fresh interpreters, alternating "torch only" and "torch + camp_utils" over the
repeats. Two figures: the whole process's wall time per side (difference of
the medians) and, inside the second kind of process, the time of the
``import camp_utils`` line alone (median). The note lists the heavy packages
the import loaded that ``import torch`` had not, and ``python -X importtime``'s
slowest camp_utils modules -- the places to make lazy when the target is missed.
"""
from __future__ import annotations

import json
import subprocess
import sys

from ._common import ROOT, Result, Target, median, now, spread

NAME = "import"
TITLE = "import camp_utils on top of import torch (fresh processes)"

_HEAVY = ("tensorboard", "torchvision", "matplotlib", "ipywidgets", "IPython", "PIL", "tqdm", "numpy",
          "google", "grpc", "scipy", "pandas", "nbformat", "jupyter_client")

_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
before = set(sys.modules)
if WITH:
    import camp_utils
t2 = time.perf_counter()
new = sorted({m.split('.')[0] for m in set(sys.modules) - before})
print(json.dumps({"torch": t1 - t0, "camp": t2 - t1, "new": new}))
"""


def _probe(with_camp: bool) -> tuple[float, dict]:
    code = _PROBE.replace("WITH", "True" if with_camp else "False")
    start = now()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return now() - start, json.loads(out.stdout.strip().splitlines()[-1])


def importtime_top(limit: int = 6) -> list[tuple[str, float, float]]:
    """``(module, cumulative s, self s)`` of the slowest modules imported by ``import camp_utils`` after torch."""
    code = "import torch; import camp_utils"
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    torch_done = False
    rows = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.split(":", 1)[1].split("|")
        stripped = name.strip()
        if stripped == "torch" and name.startswith(" torch"):
            torch_done = True  # everything after torch's own line is camp_utils' part
            continue
        if torch_done:
            depth = (len(name) - len(name.lstrip())) // 2
            rows.append((stripped, int(cumulative_us) / 1e6, int(self_us) / 1e6, depth))
    # Top-level entries first (depth 0-1 below camp_utils), slowest cumulative first.
    rows.sort(key=lambda r: -r[1])
    return [(n, c, s) for n, c, s, _ in rows[:limit]]


def run(args) -> Result:
    """Time what ``import camp_utils`` adds to ``import torch``, in fresh interpreters (alternated)."""
    repeats = max(3, args.repeats + 2)
    walls = {False: [], True: []}
    inner = []
    torch_inner = []
    new: list[str] = []
    _probe(True)  # warm the OS file cache for both sides
    for r in range(repeats):
        for with_camp in ((False, True) if r % 2 == 0 else (True, False)):
            wall, info = _probe(with_camp)
            walls[with_camp].append(wall)
            torch_inner.append(info["torch"])
            if with_camp:
                inner.append(info["camp"])
                new = info["new"]
    added_wall = median(walls[True]) - median(walls[False])
    added_inner = median(inner)
    result = Result(TITLE, ["measure", "median s", "range s"])
    result.rows = [
        ["process: python -c 'import torch'", median(walls[False]), spread(walls[False])],
        ["process: python -c 'import torch, camp_utils'", median(walls[True]), spread(walls[True])],
        ["difference of the medians", added_wall, ""],
        ["`import torch` line alone", median(torch_inner), spread(torch_inner)],
        ["`import camp_utils` line alone (after torch)", added_inner, spread(inner)],
    ]
    heavy = [m for m in new if m in _HEAVY]
    result.notes.append(f"{repeats} processes per side, alternating. Packages first loaded by `import camp_utils`: "
                        f"{', '.join(heavy) if heavy else 'none of the heavy ones'} "
                        f"(all new top-level modules: {len(new)}).")
    top = importtime_top()
    result.notes.append("python -X importtime, slowest under `import camp_utils` (cumulative / self ms): "
                        + "; ".join(f"{n} {c * 1e3:.0f}/{s * 1e3:.0f}" for n, c, s in top))
    result.targets.append(Target("import camp_utils adds (the line alone)", added_inner, 0.3, "s"))
    result.targets.append(Target("import camp_utils adds (whole process, difference of medians)",
                                 max(added_wall, 0.0), 0.3, "s"))
    return result
