"""Times the validation pipeline (marker + flake + modules + unique) on a checkout with 4 modules.

Usage: .venv/bin/python bench/pipeline_bench.py [--runs N] [--checkout DIR]
Without --checkout a repository with four modules (two current-API, two 2024-API)
is written to a temporary folder. Prints per-step medians and the total median;
the target is a total below 0.5 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.validate import validate_checkout  # noqa: E402
from tests.support.repo_trees import four_module_repo  # noqa: E402

TARGET_SECONDS = 0.5


def run_once(checkout: Path) -> tuple[float, dict[str, float], object]:
    started: dict[str, float] = {}
    durations: dict[str, float] = {}

    def on_step(result):
        now = time.perf_counter()
        if result.state == "running":
            started[result.step] = now
        else:
            durations[result.step] = now - started.get(result.step, now)

    t0 = time.perf_counter()
    report = validate_checkout(checkout, on_step=on_step)
    total = time.perf_counter() - t0
    return total, durations, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--checkout", type=Path)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="thymis-bench-") as tmp:
        checkout = args.checkout or four_module_repo(Path(tmp) / "repo")
        total, _, report = run_once(checkout)  # warm-up (page cache, .pyc of the SDK)
        for step in report.steps:
            print(f"  {step.step:8} {step.state:8} {step.detail.splitlines()[0][:90]}")
        if not report.ok or (args.checkout is None and len(report.modules) != 4):
            print("benchmark repository did not validate as expected", file=sys.stderr)
            return 1
        totals, per_step = [], {}
        for _ in range(args.runs):
            total, durations, _ = run_once(checkout)
            totals.append(total)
            for step, seconds in durations.items():
                per_step.setdefault(step, []).append(seconds)

    print(f"\n{args.runs} runs, {len(report.modules)} modules; median (min-max) in ms:")
    for step, values in per_step.items():
        print(f"  {step:8} {statistics.median(values) * 1000:7.1f}  "
              f"({min(values) * 1000:.1f}-{max(values) * 1000:.1f})")
    median = statistics.median(totals)
    print(f"  {'total':8} {median * 1000:7.1f}  ({min(totals) * 1000:.1f}-{max(totals) * 1000:.1f})")
    verdict = "meets" if median < TARGET_SECONDS else "MISSES"
    print(f"\nmedian total {median:.3f} s {verdict} the target of {TARGET_SECONDS} s")
    return 0 if median < TARGET_SECONDS else 2


if __name__ == "__main__":
    sys.exit(main())
