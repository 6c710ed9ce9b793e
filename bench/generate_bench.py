"""Benchmark: generating the project flake for many devices, then again after one setting changed.

    .venv/bin/python bench/generate_bench.py [--devices 200] [--modules 10] [--runs 3] [--keep DIR]

Each run uses a fresh temporary project folder. Timed: deploy.flake.generate_project with lock=False
(render, compare, write, stage with Dulwich, commit). ``nix flake lock`` is timed on its own (the first
generation needs it; a changed setting does not touch flake.nix, so it is not run again). Exit code 2
when a target (full < 2 s, one change < 0.2 s, medians) is missed. See bench/README_deploy.md.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deploy.flake import _run_lock, generate_project
from deploy.model import DeviceConfig, ModuleFile
from tests.support.git import pinned, work_tree
from tests.support.nix import nixpkgs_standin, thymis_standin

FULL_TARGET, ONE_TARGET = 2.0, 0.2


def devices(count: int, modules: int, changed_value: int = 0) -> list[DeviceConfig]:
    """``count`` devices with ``modules`` module files of their own each, and one module of a tag (one of
    four tags, so only four more files)."""
    out = []
    for d in range(count):
        files = []
        for m in range(modules):
            value = changed_value if (d == count // 2 and m == 0) else 0
            files.append(ModuleFile("device", f"benchpkg.modules.Module{m}",
                                    f'bench.m{m}.name = lib.mkOverride 80 "device-{d}-module-{m}";\n'
                                    f"bench.m{m}.value = lib.mkOverride 80 {value};\n"
                                    f"bench.m{m}.enable = lib.mkOverride 80 true;"))
        files.append(ModuleFile(f"tag-group{d % 4}", "benchpkg.modules.Tagged",
                                f'bench.group = lib.mkOverride 90 "group-{d % 4}";'))
        out.append(DeviceConfig(f"device-{d}", files=files))
    return out


def thymis_url(work: Path) -> str:
    """A local thymis flake (the test stand-in) so that ``nix flake lock`` works offline."""
    nixpkgs = nixpkgs_standin(work / "nixpkgs")
    return thymis_standin(work / "thymis", pinned(nixpkgs, work_tree(nixpkgs)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--modules", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="leave the last project here")
    args = parser.parse_args()
    os.environ.setdefault("NIX_CONFIG", "experimental-features = nix-command flakes\nsubstituters =\n")

    full, one, lock, same = [], [], [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="generate-bench-") as tmp:
            work = Path(tmp)
            url = thymis_url(work)
            project = work / "project"
            started = time.perf_counter()
            first = generate_project(project, devices=devices(args.devices, args.modules), inputs=[],
                                     thymis_url=url, lock=False)
            full.append(time.perf_counter() - started)

            started = time.perf_counter()
            _run_lock(project)
            lock.append(time.perf_counter() - started)
            generate_project(project, devices=devices(args.devices, args.modules), inputs=[], thymis_url=url)

            started = time.perf_counter()
            unchanged = generate_project(project, devices=devices(args.devices, args.modules), inputs=[],
                                         thymis_url=url, lock=False)
            same.append(time.perf_counter() - started)

            started = time.perf_counter()
            changed = generate_project(project, devices=devices(args.devices, args.modules, changed_value=1),
                                       inputs=[], thymis_url=url, lock=False)
            one.append(time.perf_counter() - started)
            assert first.changed and not unchanged.changed and changed.files_changed == [
                f"hosts/device-{args.devices // 2}/benchpkg.modules.Module0.nix"], changed.files_changed
            if args.keep and run == args.runs - 1:
                shutil.rmtree(args.keep, ignore_errors=True)
                shutil.copytree(project, args.keep, symlinks=True)

    files = len(first.files_changed)

    def show(label: str, values: list[float], target: float | None = None) -> str:
        text = f"{label:<34} {statistics.median(values) * 1000:8.1f} ms  (min {min(values) * 1000:.1f}, " \
               f"max {max(values) * 1000:.1f})"
        return text + (f"  target < {target * 1000:.0f} ms" if target else "")

    print(f"{args.devices} devices x {args.modules} modules: {files} files, {args.runs} runs, median")
    print(show("full generation (no lock)", full, FULL_TARGET))
    print(show("nix flake lock (separately)", lock))
    print(show("regenerate, nothing changed", same))
    print(show("regenerate, one setting changed", one, ONE_TARGET))
    missed = statistics.median(full) >= FULL_TARGET or statistics.median(one) >= ONE_TARGET
    return 2 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
