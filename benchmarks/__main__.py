"""``python -m benchmarks [NAME ...]``: run the course's benchmarks (see ``benchmarks/__init__.py``)."""
from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

from . import __doc__ as PACKAGE_DOC
from ._common import Recorder, Skip, machine, machine_line, render

ORDER = ["import", "data", "fit", "cam", "models", "notebooks"]


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line of ``python -m benchmarks``: the benchmarks to run and how."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=PACKAGE_DOC,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: all): {', '.join(ORDER)}")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of each timed comparison (default 5)")
    parser.add_argument("--quick", action="store_true",
                        help="a first look: 2 repeats, 1 fit epoch, notebooks cold only")
    parser.add_argument("--no-record", action="store_true",
                        help="print only; do not append to RESULTS.md / results.jsonl")
    parser.add_argument("--fit-epochs", type=int, default=2, help="epochs per fit side (default 2)")
    parser.add_argument("--notebook", action="append", metavar="TEXT",
                        help="notebooks: only those whose file name contains TEXT (repeatable)")
    parser.add_argument("--cold-only", action="store_true", help="notebooks: skip the warm pass")
    parser.add_argument("--notebook-timeout", type=int, default=600, help="notebooks: seconds per cell (default 600)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in ORDER]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    if args.quick:
        args.repeats, args.fit_epochs, args.cold_only = 2, 1, True
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks (all by default), print each table, return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    if args.list:
        for name in ORDER:
            module = importlib.import_module(f".bench_{name}", __package__)
            print(f"{name:10s} {module.TITLE}")
        return 0
    names = [n for n in ORDER if n in args.names] if args.names else ORDER
    m = machine()
    print(f"Machine: {machine_line(m)}", flush=True)
    recorder = Recorder(not args.no_record, argv, m)
    start = time.perf_counter()
    summary: list[str] = []
    failed = False
    for name in names:
        print(f"\n== {name} ...", flush=True)
        module = importlib.import_module(f".bench_{name}", __package__)
        began = time.perf_counter()
        try:
            result = module.run(args)
        except Skip as why:
            print(f"{name}: skipped -- {why}", flush=True)
            recorder.add(name, None, skipped=str(why))
            summary.append(f"{name}: skipped ({why})")
            continue
        except Exception as err:  # report and go on: one broken benchmark must not hide the others
            traceback.print_exc()
            recorder.add(name, None, skipped=f"failed: {type(err).__name__}: {err}")
            summary.append(f"{name}: FAILED ({type(err).__name__}: {err})")
            failed = True
            continue
        result.seconds = time.perf_counter() - began
        print(render(name, result), flush=True)
        recorder.add(name, result)
        summary += [f"{name}: {t.line()}" for t in result.targets]
    total = time.perf_counter() - start
    recorder.finish(total, summary)
    print(f"\n== summary (whole run {total:.0f} s)")
    print("\n".join(summary))
    if recorder.enabled:
        print("\nAppended to benchmarks/RESULTS.md and benchmarks/results.jsonl")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
