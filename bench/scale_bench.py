"""List endpoints at fleet scale: 10 against 200 repositories, each against /healthz in the same run.

    .venv/bin/python bench/scale_bench.py [--duration 10] [--connections 8] [--saves 20]

For each size it seeds a temporary data folder directly (tests/support/fleet.py: N repositories with 5
modules each, N devices with 10 modules, 5 tags; 200 -> 1000 modules), starts the controller as
scripts/run.sh does, and drives each endpoint with `wrk` (Debian package `wrk`; --latency) for --duration
seconds: req/s and p99, the ratio to /healthz of the same run and the ratio to the 10-repository run.
It also times a device save (its 10 modules' settings, PATCH /api/devices/device1, median of --saves).

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
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.processes import Service, free_port, http_status  # noqa: E402

ENDPOINTS = ["/healthz", "/repositories", "/api/repositories", "/modules", "/api/modules", "/devices",
             "/api/devices", "/tags", "/api/tags", "/devices/device1"]


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


def device_save(base: str, token: str, saves: int) -> float:
    """A device's 10 module settings saved again with one value changed (PATCH), the median time."""
    modules = [{"type": m["type"], "settings": m["settings"]} for m in _call(base, token, "GET",
                                                                              "/api/devices/device1")["modules"]]
    times = []
    for number in range(saves):
        modules[0]["settings"]["greeting"] = f"hello {number}"
        start = time.perf_counter()
        _call(base, token, "PATCH", "/api/devices/device1", {"modules": modules})
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(size: int, options) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"scale-bench-{size}-"))
    try:
        data = tmp / "data"
        token = seed(data, size)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "THYMIS_PROJECT_PATH": str(data), "THYMIS_LISTEN": f"127.0.0.1:{port}"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        service = Service(["bash", "scripts/run.sh"], tmp / "run.log", name="scripts/run.sh", cwd=ROOT, env=env,
                          probe=lambda: http_status(base + "/healthz") == 200)
        try:
            service.wait_until_ready(180)
            results = {}
            for path in ENDPOINTS:
                wrk(base + path, token, 2, options.connections)  # warm-up: caches, templates
                results[path] = wrk(base + path, token, options.duration, options.connections)
                print(f"  {size:>3} repositories  {path:<20} {results[path][0]:8.1f} req/s   "
                      f"p99 {results[path][1] * 1000:7.1f} ms", flush=True)
            results["save"] = device_save(base, token, options.saves)
            print(f"  {size:>3} repositories  device save (PATCH) median {results['save'] * 1000:.1f} ms", flush=True)
            return results
        finally:
            service.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per endpoint")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--saves", type=int, default=20)
    options = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    small, large = measure(10, options), measure(200, options)
    print(f"\n{'endpoint':<20} {'10: req/s':>10} {'p99':>8} {'200: req/s':>11} {'p99':>8} "
          f"{'vs /healthz':>12} {'vs 10 repos':>12}")
    for path in ENDPOINTS:
        (rate10, p10), (rate200, p200) = small[path], large[path]
        print(f"{path:<20} {rate10:10.1f} {p10 * 1000:6.0f}ms {rate200:11.1f} {p200 * 1000:6.0f}ms "
              f"{rate200 / large['/healthz'][0]:11.0%} {rate200 / rate10:11.0%}")
    print(f"device save: {small['save'] * 1000:.1f} ms at 10, {large['save'] * 1000:.1f} ms at 200 "
          f"(ratio {large['save'] / small['save']:.2f}, target <= 2)")
    print("targets: vs /healthz >= 40%, vs 10 repos >= 80%")


if __name__ == "__main__":
    main()
