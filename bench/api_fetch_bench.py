"""First fetch through the API against `git clone --bare --depth 1 --single-branch`, same repository, same server.

Run: .venv/bin/python bench/api_fetch_bench.py [--runs 3] [--commits 2000] [--files 3000] [--profile]

Generates a repository (bench/fetch_bench.py's generator: --commits on main touching a tree of --files files,
side branches and annotated tags), serves it on loopback with the test suite's smart-HTTP server
(``git http-backend``, protocol v2) and starts the controller as scripts/run.sh does (gunicorn, its job
thread). Each run, in turn:

  ours: POST /api/repositories {url, ref: release/stable} until GET /api/repositories/<name> shows its
        ``fetched_commit`` (polled every 5 ms); a new repository each run, so each is a first fetch
  git:  git clone --bare --depth 1 --single-branch --branch release/stable <same URL> into an empty directory

and it waits for the job to end before the next run (validation must not overlap a timing). Prints each
median of --runs and the ratio ours / git (issue 13: <= 1.5). ``--profile`` instead fetches once in this
process under cProfile (pipeline.fetch.fetch, the job's fetch) and prints the top of the profile.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
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
sys.path.insert(0, str(ROOT / "bench"))

from fetch_bench import BRANCH, du, generate  # noqa: E402

from tests.support.git import git_env  # noqa: E402
from tests.support.gitserver import GitServer  # noqa: E402
from tests.support.processes import Service, free_port, http_status  # noqa: E402


def seed(data: Path) -> str:
    """A fresh data folder with an API token; returns the token."""
    from app import create_app
    from auth.tokens import create_token
    from models import database
    app = create_app({"project_path": data, "start_job_worker": False, "announce_password": lambda _p: None})
    with database.connection_context():
        token = create_token("bench")
    app.extensions["jobs"].stop()
    return token


def call(base: str, token: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def api_first_fetch(base: str, token: str, url: str, name: str) -> float:
    """Seconds from the POST until the repository shows its fetched commit; then waits for the job to end."""
    start = time.perf_counter()
    created = call(base, token, "POST", "/api/repositories", {"url": url, "ref": BRANCH, "name": name,
                                                              "display_name": name})
    while True:
        repo = call(base, token, "GET", f"/api/repositories/{name}")
        if repo["fetched_commit"]:
            seconds = time.perf_counter() - start
            break
        if repo["status"] == "failed":
            raise SystemExit(f"the fetch failed: {repo['last_error']}")
        if time.perf_counter() - start > 120:
            raise SystemExit("no fetched_commit after 120 s")
        time.sleep(0.005)
    deadline = time.monotonic() + 300
    while call(base, token, "GET", f"/api/jobs/{created['job_id']}")["state"] in ("queued", "running"):
        if time.monotonic() > deadline:
            raise SystemExit("the fetch job did not end within 300 s")
        time.sleep(0.05)
    return seconds


def git_clone(url: str, dest: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["git", "clone", "--quiet", "--bare", "--depth", "1", "--single-branch", "--branch", BRANCH,
                    url, str(dest)], check=True, env=git_env(), stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def profile(url: str, work: Path) -> None:
    from pipeline.fetch import fetch
    from repos.urls import parse_remote_url
    spec = parse_remote_url(url)
    fetch(work / "warm.git", spec, BRANCH)  # imports and server caches warm
    profiler = cProfile.Profile()
    profiler.enable()
    fetch(work / "profiled.git", spec, BRANCH)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--branches", type=int, default=100)
    parser.add_argument("--tags", type=int, default=100)
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--profile", action="store_true", help="cProfile one in-process fetch instead")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="api-fetch-bench-"))
    try:
        (work / "srv").mkdir()
        generate(work / "srv" / "big.git", options.commits, options.branches, options.tags, options.files)
        print(f"repository: {options.commits} commits, {options.files} files at the tip, "
              f"{du(work / 'srv' / 'big.git') / 1e6:.1f} MB packed; branch {BRANCH}", flush=True)
        with GitServer(work / "srv") as server:
            url = server.url("big")
            if options.profile:
                profile(url, work)
                return
            data = work / "data"
            token = seed(data)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = {**os.environ, "THYMIS_PROJECT_PATH": str(data), "THYMIS_LISTEN": f"127.0.0.1:{port}"}
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            service = Service(["bash", "scripts/run.sh"], work / "run.log", name="scripts/run.sh", cwd=ROOT, env=env,
                              probe=lambda: http_status(base + "/healthz") == 200)
            ours, git = [], []
            try:
                service.wait_until_ready(180)
                api_first_fetch(base, token, url, "warmup")  # first request of the worker: imports, caches
                git_clone(url, work / "warmup.git")
                for run in range(options.runs):
                    ours.append(api_first_fetch(base, token, url, f"bench{run}"))
                    git.append(git_clone(url, work / f"clone{run}.git"))
                    print(f"run {run + 1}: ours {ours[-1] * 1000:6.0f} ms   git {git[-1] * 1000:6.0f} ms", flush=True)
            finally:
                service.stop()
        mine, theirs = statistics.median(ours), statistics.median(git)
        print(f"\nfirst fetch through the API (POST until fetched_commit)  median {mine * 1000:6.0f} ms")
        print(f"git clone --bare --depth 1 --single-branch                median {theirs * 1000:6.0f} ms")
        print(f"ratio ours / git: {mine / theirs:.2f} (target <= 1.5)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
