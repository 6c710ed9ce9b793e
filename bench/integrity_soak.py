"""Soak: concurrent refreshes, edits and page loads against a real gunicorn; counts 5xx, stuck jobs, lost updates.

Run: .venv/bin/python bench/integrity_soak.py [--seconds 60] [--refreshers 20] [--pages 4] [--repositories 10]

Starts the controller under gunicorn (2 workers, 4 threads, as tests/support/controller.py does) on a fresh
data folder, and the test suite's smart-HTTP git server on loopback with ``--repositories`` repositories of
valid modules. Then, for ``--seconds``: ``--refreshers`` threads each refresh a repository (two threads share
each repository, so refreshes race), rename it (PATCH display_name) and now and then commit to its upstream;
``--pages`` threads load the repositories page, the JSON list and job pages. Afterwards it waits for every job
to end (60 s at most) and checks:

- 5xx: every answer with status >= 500 (the target is 0); 409 conflicts are expected and counted apart
- stuck: jobs still queued/running after the wait, repositories pending/fetching/validating with no job
- lost updates: a repository whose display name is not the last one its owner thread was told was saved, or
  whose active commit is not its upstream's head after one last refresh
All traffic goes to 127.0.0.1 only; every loop ends by the deadline.
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import repo_trees  # noqa: E402
from tests.support.gitserver import GitServer  # noqa: E402
from tests.support.http_api import HttpApi, make_token  # noqa: E402
from tests.support.processes import http_status  # noqa: E402


def start_controller(data: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "THYMIS_PROJECT_PATH": str(data), "THYMIS_ALLOW_LOCAL_REPOSITORIES": "1"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = open(log_path, "w")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen([gunicorn, "--bind", "127.0.0.1:0", "--workers", "2", "--threads", "4",
                             "--no-control-socket", "app:create_app()"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        text = log_path.read_text()
        found = re.findall(r"Listening at: (http://127\.0\.0\.1:\d+)", text)
        if found and len(re.findall(r"Booting worker", text)) >= 2 and http_status(found[0] + "/login") == 200:
            return proc, found[0]
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the controller did not start:\n{log_path.read_text()[-3000:]}")


def tree_files(folder: Path, package: str) -> dict[str, str]:
    root = repo_trees.valid_repo(folder / package, package=package)
    return {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--refreshers", type=int, default=20)
    parser.add_argument("--pages", type=int, default=4)
    parser.add_argument("--repositories", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="integrity-soak-"))
    server = GitServer(work / "git").start()
    proc, base = start_controller(work / "data", work / "gunicorn.log")
    statuses: collections.Counter = collections.Counter()
    errors: list[str] = []
    lock = threading.Lock()
    try:
        api = HttpApi(base, make_token(work / "data"))
        upstreams, names = {}, []
        for number in range(args.repositories):
            name = f"soak{number}"
            upstreams[name] = server.make_repo(name, tree_files(work / "trees", f"soak{number}_modules"))
            status, body = api.post("/api/repositories", {"url": server.url(name), "display_name": name,
                                                          "name": name})
            assert status == 201, body
            names.append(name)
        saved_names: dict[str, tuple[float, str]] = {}
        stop = time.monotonic() + args.seconds

        def record(status: int, what: str, body) -> None:
            with lock:
                statuses[status] += 1
                if status >= 500:
                    errors.append(f"{status} {what}: {str(body)[:300]}")

        def refresher(index: int) -> None:
            """Threads 0..n-1 own repository i (they alone rename it, so the last name they saved must stay);
            the others only refresh, racing the owners' refreshes of the same repository."""
            client = HttpApi(base, api.headers["Authorization"].split()[1])
            name = names[index % len(names)]
            owner = index < len(names)
            rounds = 0
            while time.monotonic() < stop:
                rounds += 1
                status, body = client.post(f"/api/repositories/{name}/refresh")
                record(status, f"refresh {name}", body)
                if owner:
                    label = f"{name} round {rounds}"
                    status, body = client.call("PATCH", f"/api/repositories/{name}", {"display_name": label})
                    record(status, f"patch {name}", body)
                    if status == 200:
                        saved_names[name] = (time.monotonic(), label)
                    if random.random() < 0.1:
                        with lock:
                            upstreams[name].commit({"soak_extra.txt": f"{rounds}\n"}, message=label)
                time.sleep(random.uniform(0.05, 0.3))

        def pages() -> None:
            client = HttpApi(base, api.headers["Authorization"].split()[1])
            while time.monotonic() < stop:
                for path in ("/repositories", "/api/repositories", "/api/repositories/soak0", "/jobs/1",
                             "/healthz"):
                    status, body = client.get(path)
                    record(status, f"GET {path}", body)

        threads = [threading.Thread(target=refresher, args=(i,)) for i in range(args.refreshers)]
        threads += [threading.Thread(target=pages) for _ in range(args.pages)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        # Settle: wait for every job to end, then one last refresh each, then compare with upstream.
        def busy():
            _, body = api.get("/api/repositories")
            return [r["name"] for r in body if r["job_id"]]
        deadline = time.monotonic() + 60
        while busy() and time.monotonic() < deadline:
            time.sleep(0.5)
        stuck_jobs = busy()
        lost = []
        for name in names:
            status, body = api.post(f"/api/repositories/{name}/refresh")
            if status == 202:
                api.wait(f"/api/jobs/{body['job_id']}", lambda b: b["state"] not in ("queued", "running"),
                         timeout=60)
            _, repo = api.get(f"/api/repositories/{name}")
            head = upstreams[name].rev("refs/heads/main")
            if repo["active_commit"] != head or repo["status"] != "ready":
                lost.append(f"{name}: {repo['status']} active {repo['active_commit']} upstream {head}")
            if name in saved_names and repo["display_name"] != saved_names[name][1]:
                lost.append(f"{name}: display name {repo['display_name']!r}, last saved {saved_names[name][1]!r}")
        _, listed = api.get("/api/repositories")
        stuck_rows = [r["name"] for r in listed if r["status"] in ("pending", "fetching", "validating")
                      and not r["job_id"]]
        total = sum(statuses.values())
        five = sum(n for s, n in statuses.items() if s >= 500)
        print(f"{elapsed:.0f} s, {args.refreshers} refreshers, {args.pages} page loaders, {len(names)} repositories")
        print(f"requests: {total} ({total / elapsed:.0f}/s); by status: {dict(sorted(statuses.items()))}")
        print(f"5xx: {five}")
        print(f"stuck jobs: {len(stuck_jobs)} {stuck_jobs}; stuck repositories: {len(stuck_rows)} {stuck_rows}")
        print(f"lost updates: {len(lost)}")
        for line in lost + errors[:10]:
            print("  " + line)
        return 0 if not (five or stuck_jobs or stuck_rows or lost) else 1
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
