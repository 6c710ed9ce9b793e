"""List endpoints at fleet scale: 10 against 200 repositories, each against /healthz in the same run.

    .venv/bin/python bench/scale_bench.py [--duration 10] [--rounds 3] [--connections 8] [--saves 20]
                                          [--only /repositories,/api/repositories]

It seeds two temporary data folders directly (tests/support/fleet.py: N repositories with 5 modules each,
N devices with 10 modules, 5 tags; N = 10 and 200, so 50 and 1000 modules) and starts a controller on each as
scripts/run.sh does (both run for the whole bench). Then, --rounds times, for every endpoint in turn, `wrk`
(Debian package `wrk`; --latency) drives it for --duration seconds at 10 and right after at 200, /healthz
included, so each pair is measured close together on a shared, noisy machine. Reported per endpoint: the
median req/s and the median p99 of the rounds at each size, the ratio of the 200 median to the /healthz 200
median and the ratio of the 200 median to the 10 median. It also times a device save (PATCH of a device
with the built-in core module, median of --saves; see device_save) at both sizes.

Targets (issue 13): every list >= 40% of /healthz at 200 and >= 80% of its own throughput at 10;
a device save at 200 within 2x of the same save at 10.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.processes import Service, free_port, http_status  # noqa: E402

ENDPOINTS = ["/healthz", "/repositories", "/api/repositories", "/modules", "/api/modules", "/devices",
             "/api/devices", "/tags", "/api/tags", "/jobs", "/api/jobs", "/devices/device1"]
SIZES = (10, 200)


def seed(data: Path, size: int) -> str:
    """The fleet of ``size`` repositories in a fresh data folder; returns an API token."""
    from app import create_app
    from auth.tokens import create_token
    from models import database
    from tests.support.fleet import seed_fleet
    app = create_app({"project_path": data, "start_job_worker": False, "announce_password": lambda _p: None})
    with database.connection_context():
        seed_fleet(size, modules_per_repo=5, devices=size, modules_per_device=10)
        token = create_token("bench")
    app.extensions["jobs"].stop()
    return token


def _seconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def wrk(url: str, token: str, duration: int, connections: int) -> tuple[float, float]:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "30s",
                          "-H", f"Authorization: Bearer {token}", url],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = _seconds(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise SystemExit(f"{url}: {non_2xx.group(1)} error responses\n{out}")
    return rate, p99


def _call(base: str, token: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


CORE = "thymis_controller.modules.thymis.ThymisDevice"


def device_save(base: str, token: str, saves: int) -> float | str:
    """A device saved again with one setting changed (PATCH), the median time, or why the save was refused.

    Saves are checked by the module itself in the sandbox, and the fleet's modules are stand-ins with no code, so
    the device saved uses the built-in core module; the catalogue and every other device are the fleet's."""
    device = {"name": "bench-save", "display_name": "Bench save", "target": "local",
              "modules": [{"type": CORE, "settings": {"device_name": "bench"}}]}
    times = []
    try:
        _call(base, token, "POST", "/api/devices", device)
        for number in range(saves):
            device["modules"][0]["settings"]["device_name"] = f"bench-{number}"
            start = time.perf_counter()
            _call(base, token, "PATCH", "/api/devices/bench-save", {"modules": device["modules"]})
            times.append(time.perf_counter() - start)
    except urllib.error.HTTPError as error:
        return f"refused ({error.code}): {json.load(error).get('error', {}).get('message')}"
    return statistics.median(times)


class Controller:
    """A seeded data folder and the controller serving it, started as scripts/run.sh does."""

    def __init__(self, size: int):
        self.size = size
        self.tmp = Path(tempfile.mkdtemp(prefix=f"scale-bench-{size}-"))
        data = self.tmp / "data"
        self.token = seed(data, size)
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "THYMIS_PROJECT_PATH": str(data), "THYMIS_LISTEN": f"127.0.0.1:{port}"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.service = Service(["bash", "scripts/run.sh"], self.tmp / "run.log", name="scripts/run.sh", cwd=ROOT,
                               env=env, probe=lambda: http_status(self.base + "/healthz") == 200)

    def stop(self) -> None:
        self.service.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def measure(controllers: dict[int, Controller], endpoints: list[str], options) -> dict:
    """{size: {path: [(req/s, p99), ...one per round]}}, the sizes of one endpoint measured one after the other."""
    results = {size: {path: [] for path in endpoints} for size in controllers}
    for path in endpoints:  # warm-up: caches, templates
        for c in controllers.values():
            wrk(c.base + path, c.token, 2, options.connections)
    for number in range(1, options.rounds + 1):
        for path in endpoints:
            for size, c in controllers.items():
                rate, p99 = wrk(c.base + path, c.token, options.duration, options.connections)
                results[size][path].append((rate, p99))
                print(f"  round {number}  {size:>3} repositories  {path:<20} {rate:8.1f} req/s   "
                      f"p99 {p99 * 1000:7.1f} ms", flush=True)
    return results


def _median(rounds: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r for r, _ in rounds), statistics.median(p for _, p in rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--only", default="", help="comma-separated endpoints (/healthz is always measured)")
    options = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    endpoints = ENDPOINTS if not options.only else ["/healthz"] + [
        p for p in options.only.split(",") if p and p != "/healthz"]
    controllers: dict[int, Controller] = {}
    try:
        for size in SIZES:
            controllers[size] = Controller(size)
        for c in controllers.values():
            c.service.wait_until_ready(180)
        results = measure(controllers, endpoints, options)
        saves = {size: device_save(c.base, c.token, options.saves) for size, c in controllers.items()}
    finally:
        for c in controllers.values():
            c.stop()
    small, large = ({path: _median(rounds) for path, rounds in results[size].items()} for size in SIZES)
    print(f"\nmedians of {options.rounds} rounds of {options.duration} s, {options.connections} connections")
    print(f"{'endpoint':<20} {'10: req/s':>10} {'p99':>8} {'200: req/s':>11} {'p99':>8} "
          f"{'vs /healthz':>12} {'vs 10 repos':>12}")
    for path in endpoints:
        (rate10, p10), (rate200, p200) = small[path], large[path]
        print(f"{path:<20} {rate10:10.1f} {p10 * 1000:6.0f}ms {rate200:11.1f} {p200 * 1000:6.0f}ms "
              f"{rate200 / large['/healthz'][0]:11.0%} {rate200 / rate10:11.0%}")
    if all(isinstance(t, float) for t in saves.values()):
        print(f"device save: {saves[10] * 1000:.1f} ms at 10, {saves[200] * 1000:.1f} ms at 200 "
              f"(ratio {saves[200] / saves[10]:.2f}, target <= 2)")
    else:
        print(f"device save: at 10 {saves[10]}; at 200 {saves[200]}")
    print("targets: vs /healthz >= 40%, vs 10 repos >= 80%")


if __name__ == "__main__":
    main()
