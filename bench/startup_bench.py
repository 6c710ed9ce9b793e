"""Start-up costs: an operator command against `flask --version`, and the idle memory of the controller as
scripts/run.sh starts it (gunicorn master + workers, RSS summed over the processes, and PSS, which counts
pages the processes share once).

    .venv/bin/python bench/startup_bench.py [--rounds 5] [--skip-memory]

Targets (issue 13): `flask --app app tokens create` within 1.5x of `flask --version`; idle memory <= 80 MB RSS.
Commands run with bytecode caching on (PYTHONDONTWRITEBYTECODE removed), as an installed package runs.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.processes import Service, free_port, http_status  # noqa: E402

FLASK = ROOT / ".venv" / "bin" / "flask"


def _timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system of the command), the second steadier on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cli(rounds: int, data: Path) -> None:
    env = {**os.environ, "THYMIS_PROJECT_PATH": str(data)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    _timed([str(FLASK), "--app", "app", "tokens", "list"], env)  # first start: database, password, keys
    version, tokens = [], []
    for number in range(rounds):
        version.append(_timed([str(FLASK), "--version"], env))
        tokens.append(_timed([str(FLASK), "--app", "app", "tokens", "create", f"bench-{number}"], env))
    for what, index in (("wall", 0), ("CPU", 1)):
        v, t = statistics.median(x[index] for x in version), statistics.median(x[index] for x in tokens)
        print(f"flask --version                      median {v * 1000:6.0f} ms {what}")
        print(f"flask --app app tokens create        median {t * 1000:6.0f} ms {what}   ratio {t / v:.2f} "
              "(target <= 1.5)")


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        children = Path(f"/proc/{current}/task/{current}/children")
        if children.exists():
            todo += [int(p) for p in children.read_text().split()]
    return pids


def _kb(path: str, field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path(path).read_text(), re.MULTILINE)
    return int(match.group(1)) if match else 0


def memory(data: Path, idle: float) -> None:
    data.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "THYMIS_PROJECT_PATH": str(data), "THYMIS_LISTEN": f"127.0.0.1:{port}"}
    base = f"http://127.0.0.1:{port}"
    service = Service(["bash", "scripts/run.sh"], data.parent / "run.log", name="scripts/run.sh", cwd=ROOT, env=env,
                      probe=lambda: http_status(base + "/healthz") == 200)
    try:
        service.wait_until_ready(180)
        for _ in range(20):
            http_status(base + "/login")
        time.sleep(idle)
        pids = _tree(service.process.pid)
        rss = {pid: _kb(f"/proc/{pid}/status", "VmRSS") for pid in pids}
        pss = {pid: _kb(f"/proc/{pid}/smaps_rollup", "Pss") for pid in pids}
        for pid in pids:
            name = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
            print(f"  pid {pid:>7} {Path(name).name:<12} RSS {rss[pid] / 1024:6.1f} MB   PSS {pss[pid] / 1024:6.1f} MB")
        total = sum(rss.values()) / 1024
        print(f"idle memory, {len(pids)} processes: RSS {total:.1f} MB total (target <= 80), "
              f"PSS {sum(pss.values()) / 1024:.1f} MB")
    finally:
        service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds to wait before measuring memory")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as tmp:
        cli(args.rounds, Path(tmp) / "cli")
        if not args.skip_memory:
            memory(Path(tmp) / "run" / "data", args.idle)


if __name__ == "__main__":
    main()
