"""Benchmark: pipeline.fetch (Dulwich) against the git CLI on a generated repository served on loopback.

Run: .venv/bin/python bench/fetch_bench.py [--commits 4000] [--branches 400] [--tags 400] [--files 3000] [--runs 5]

Generates a repository with a few thousand commits and hundreds of branches and
tags (git fast-import), serves it with the test suite's smart-HTTP server
(``git http-backend`` behind a threaded CGI bridge, tests/support/gitserver.py) and
times, each the median of ``--runs`` runs, in the same process:

  (a) first fetch of one branch:  fetch(mirror, spec, branch)  vs  git clone --depth 1 --single-branch --branch X
      (also shown: our fetch + export_tree, which writes the files like git's checkout does,
      and git clone --bare, which writes no files like our fetch)
  (b) no-op refresh:              fetch() again                vs  git fetch (in that clone)
  (c) refresh after one new commit on the branch (same pair)

and prints times, ratios (ours / git) and bytes stored on disk.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.export import export_tree
from pipeline.fetch import fetch
from repos.urls import parse_remote_url
from tests.support.git import git_env
from tests.support.gitserver import GitServer

BRANCH = "release/stable"


def generate(repo: Path, commits: int, branches: int, tags: int, files: int) -> None:
    """Write a fast-import stream: ``commits`` on main touching a tree of ``files`` files,
    ``branches`` side branches with a unique commit each, ``tags`` annotated tags."""
    rng = random.Random(42)
    words = [f"word{i}" for i in range(2000)]

    def blob_text(n: int) -> bytes:
        return (" ".join(rng.choice(words) for _ in range(n)) + "\n").encode()

    out = []

    def data(raw: bytes) -> None:
        out.append(b"data %d\n" % len(raw))
        out.append(raw)
        out.append(b"\n")

    when = 1_600_000_000
    mark = 0
    main_marks = []
    for i in range(commits):
        mark += 1
        when += 60
        out.append(b"commit refs/heads/main\nmark :%d\n" % mark)
        out.append(b"committer Bench <bench@example.com> %d +0000\n" % when)
        data(b"commit %d" % i)
        if i == 0:
            for f in range(files):
                out.append(b"M 100644 inline src/mod%03d/file%04d.nix\n" % (f % 50, f))
                data(blob_text(300))
        else:
            for f in rng.sample(range(files), 3):
                out.append(b"M 100644 inline src/mod%03d/file%04d.nix\n" % (f % 50, f))
                data(blob_text(300))
        main_marks.append(mark)
    for b in range(branches):
        mark += 1
        when += 60
        base = main_marks[rng.randrange(len(main_marks))]
        name = BRANCH.encode() if b == 0 else b"feature/%04d" % b
        out.append(b"commit refs/heads/" + name + b"\nmark :%d\n" % mark)
        out.append(b"committer Bench <bench@example.com> %d +0000\n" % when)
        data(b"branch %d" % b)
        out.append(b"from :%d\n" % (main_marks[-1] if b == 0 else base))
        out.append(b"M 100644 inline branch-only-%04d.txt\n" % b)
        data(blob_text(2000))
    for t in range(tags):
        out.append(b"tag v0.%d\nfrom :%d\n" % (t, main_marks[rng.randrange(len(main_marks))]))
        out.append(b"tagger Bench <bench@example.com> %d +0000\n" % when)
        data(b"tag %d" % t)
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch", "main", str(repo)],
                   check=True, env=git_env())
    subprocess.run(["git", "--git-dir", str(repo), "fast-import", "--quiet"], input=b"".join(out), check=True,
                   env=git_env())
    subprocess.run(["git", "--git-dir", str(repo), "repack", "-a", "-d", "-q"], check=True, env=git_env())
    subprocess.run(["git", "--git-dir", str(repo), "pack-refs", "--all"], check=True, env=git_env())


def du(path: Path) -> int:
    return sum(os.lstat(os.path.join(root, f)).st_size for root, _, fs in os.walk(path) for f in fs)


def git(*args: str | Path, cwd: Path | None = None) -> None:
    subprocess.run(["git", *map(str, args)], cwd=cwd, check=True, env=git_env(), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def add_commit(repo: Path, n: int) -> None:
    stream = (b"commit refs/heads/" + BRANCH.encode() + b"\ncommitter Bench <b@example.com> %d +0000\n"
              b"data 3\nnew\nfrom refs/heads/" + BRANCH.encode() + b"^0\n"
              b"M 100644 inline src/mod000/file0000.nix\ndata 9\nchange%02d\n\n") % (1_700_000_000 + n, n)
    subprocess.run(["git", "--git-dir", str(repo), "fast-import", "--quiet", "--force"], input=stream, check=True,
                   env=git_env())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=4000)
    parser.add_argument("--branches", type=int, default=400)
    parser.add_argument("--tags", type=int, default=400)
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="fetch-bench-"))
    try:
        root = work / "srv"
        root.mkdir()
        t = timed(lambda: generate(root / "big.git", args.commits, args.branches, args.tags, args.files))
        refs = subprocess.run(["git", "--git-dir", str(root / "big.git"), "for-each-ref"], capture_output=True,
                              env=git_env(), check=True).stdout.count(b"\n")
        print(f"generated {args.commits} commits, {refs} refs, {du(root / 'big.git') / 1e6:.1f} MB packed "
              f"in {t:.1f} s; branch fetched: {BRANCH}; median of {args.runs} runs\n")
        rows: dict[str, list[float]] = {}
        sizes: dict[str, int] = {}
        received = 0
        with GitServer(root) as server:
            url = server.url("big")
            spec = parse_remote_url(url)
            for run in range(args.runs):
                d = work / f"run{run}"
                mirror, clone, bare = d / "mirror.git", d / "clone", d / "bare.git"

                def ours_first():
                    nonlocal received
                    received = fetch(mirror, spec, BRANCH).bytes_received

                def record(key: str, seconds: float) -> None:
                    rows.setdefault(key, []).append(seconds)

                record("a ours fetch", timed(ours_first))
                record("a git clone --depth 1 --single-branch", timed(
                    lambda: git("clone", "--quiet", "--depth", "1", "--single-branch", "--branch", BRANCH, url, clone)))
                commit = subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True,
                                        text=True, check=True).stdout.strip()
                record("a ours fetch + export_tree", rows["a ours fetch"][-1] + timed(
                    lambda: export_tree(mirror, commit, d / "checkout")))
                record("a git clone --bare (no checkout)", timed(
                    lambda: git("clone", "--quiet", "--bare", "--depth", "1", "--single-branch", "--branch", BRANCH,
                                url, bare)))
                record("b ours no-op refresh", timed(lambda: fetch(mirror, spec, BRANCH)))
                record("b git fetch (no-op)", timed(lambda: git("-C", clone, "fetch", "--quiet")))
                add_commit(root / "big.git", run)
                record("c ours refresh, 1 new commit", timed(lambda: fetch(mirror, spec, BRANCH)))
                record("c git fetch, 1 new commit", timed(lambda: git("-C", clone, "fetch", "--quiet")))
                if run == 0:
                    sizes = {"ours: mirror": du(mirror), "git: clone/.git": du(clone / ".git"),
                             "git: bare clone": du(bare), "checkout (ours)": du(d / "checkout")}
                shutil.rmtree(d)

        med = {k: statistics.median(v) for k, v in rows.items()}
        pairs = [("a ours fetch", "a git clone --depth 1 --single-branch"),
                 ("a ours fetch", "a git clone --bare (no checkout)"),
                 ("a ours fetch + export_tree", "a git clone --depth 1 --single-branch"),
                 ("b ours no-op refresh", "b git fetch (no-op)"),
                 ("c ours refresh, 1 new commit", "c git fetch, 1 new commit")]
        print(f"{'measurement':42} {'median':>9} {'min':>9} {'max':>9}")
        for key, values in rows.items():
            print(f"{key:42} {med[key] * 1000:7.0f}ms {min(values) * 1000:7.0f}ms {max(values) * 1000:7.0f}ms")
        print(f"\n{'ratio (ours / git)':76} {'x':>6}")
        for ours, theirs in pairs:
            print(f"{ours[2:] + '  vs  ' + theirs[2:]:76} {med[ours] / med[theirs]:6.2f}")
        print(f"\nbytes received by our first fetch: {received / 1e6:.2f} MB")
        for key, size in sizes.items():
            print(f"bytes stored, {key:22} {size / 1e6:8.2f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
