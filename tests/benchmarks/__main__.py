"""Run the benchmark suite: ``python3 -m tests.benchmarks [--quick] [--only a,b] [--out F]``.

Each benchmark measures photosort and its baseline in the same run on this machine and
prints numbers and ratios; the JSON report keeps everything. Not part of ``pytest``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback

BENCHMARKS = (
    "model",
    "indexing",
    "search",
    "retag",
    "gui",
    "sun",
    "duplicates",
    "teaching",
    "backup",
    "raw",
    "scores",
    "reindex",
    "ocr",
    "spark",
    "coldstart",
    "rclip",
    "million",
    "flat_rss",
)


def machine() -> dict:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tests.benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated subset")
    parser.add_argument("--out", default="bench-report.json", help="JSON report path")
    args = parser.parse_args()
    report: dict = {"machine": machine(), "quick": args.quick, "results": {}}
    failed = False
    for name in args.only.split(","):
        name = name.strip()
        print(f"== {name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"tests.benchmarks.bench_{name}")
            result = module.run(quick=args.quick)
        except Exception as exc:
            traceback.print_exc()
            result = {"error": f"{type(exc).__name__}: {exc}", "pass": False}
        result["wall_s"] = round(time.perf_counter() - started, 1)
        report["results"][name] = result
        failed |= not result.get("pass", False)
        print(json.dumps({name: result}, indent=2, default=float), flush=True)
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=2, default=float)
    print(f"report written to {args.out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
