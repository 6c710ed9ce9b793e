"""Rows never stuck after a crash (issue 14, item 4): the reaper and start-up restore each subject from its
job: the repository shows its active commit, the failed step and "the controller stopped during …";
deployment records end failed; what the dead worker's job started is ended."""
import os
import signal
import socket
import time

from jobs import reap_orphans
from models import Deployment, Job, Repository, database, utcnow
from tests.support import repo_trees as rb
from tests.support.http_api import HttpApi, make_token
from tests.test_external_modules import serve, tree

DEAD = f"{socket.gethostname()}:999999999"


def test_reaping_a_dead_workers_jobs_restores_their_subjects(app):
    kinds = app.extensions["jobs"].kinds
    with database.connection_context():
        repo = Repository.create(name="r", display_name="R", url="https://example.org/r.git", status="validating",
                                 active_commit="a" * 40, steps=[
                                     {"step": "fetch", "state": "passed", "detail": "main at 1234567"},
                                     {"step": "marker", "state": "passed", "detail": ""},
                                     {"step": "modules", "state": "running", "detail": ""},
                                     {"step": "unique", "state": "pending", "detail": ""}])
        fetch = Job.create(kind="fetch", repository=repo, subject="r", state="running", worker=DEAD,
                           phase="validating: modules", started_at=utcnow(), heartbeat_at=utcnow())
        build = Job.create(kind="build", subject="pd", state="running", worker=DEAD, phase="building",
                           started_at=utcnow(), heartbeat_at=utcnow(), payload={"device": "pd"})
        record = Deployment.create(device_name="pd", kind="build", job=build)
        stray = Repository.create(name="s", display_name="S", url="https://example.org/s.git", status="fetching",
                                  steps=[{"step": "fetch", "state": "running", "detail": "asking"}])
        lost = Deployment.create(device_name="pd", kind="deploy", job=None)
        assert reap_orphans(kinds) == 2
        fetch, repo = Job.get_by_id(fetch.id), Repository.get_by_id(repo.id)
        assert fetch.state == "failed" and fetch.error == "the controller stopped during validating (modules)"
        assert repo.status == "failed" and repo.active_commit == "a" * 40
        assert repo.last_error == "the controller stopped during the modules step; still using aaaaaaa"
        states = {s["step"]: (s["state"], s["detail"]) for s in repo.steps}
        assert states["modules"] == ("failed", "the controller stopped during the modules step")
        assert states["unique"][0] == "skipped" and states["fetch"][0] == "passed"
        assert Deployment.get_by_id(record.id).state == "failed"
        assert Deployment.get_by_id(record.id).error == "the controller stopped during the build"
        assert Job.get_by_id(build.id).error == "the controller stopped during building"
        stray = Repository.get_by_id(stray.id)
        assert stray.status == "failed" and stray.last_error == "the controller stopped during the fetch step"
        assert Deployment.get_by_id(lost.id).state == "failed"
        assert reap_orphans(kinds) == 0


SLEEPS = "import time\ntime.sleep(120)\n"


def _sandbox_pids(data_dir) -> list[int]:
    pids = []
    for path in (data_dir / "run").glob("processes-*"):
        pids += [int(line.split()[0]) for line in path.read_text().splitlines() if line.strip()]
    return pids


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_kill_9_of_the_worker_during_a_validation(controller, git_server, tmp_path):
    """A real gunicorn worker killed with -9 while a module sleeps at import: the restarted worker reaps the
    job, the repository shows where it stopped, the sandbox the job started is ended, a refresh works."""
    base, _password = controller
    data = tmp_path / "data"
    api = HttpApi(base, make_token(data))
    name, upstream = serve(git_server, tree(rb.single_module_repo, tmp_path, package="killed_sleepy", body=SLEEPS))
    status, created = api.post("/api/repositories", {"url": git_server.url(name), "display_name": "K", "name": "k"})
    assert status == 201, created
    api.wait("/api/repositories/k", lambda b: b["status"] == "validating", what="validating")
    job = api.wait(f"/api/jobs/{created['job_id']}", lambda b: "modules" in b["progress"]["phase"], what="modules")
    deadline = time.monotonic() + 20
    while not _sandbox_pids(data) and time.monotonic() < deadline:
        time.sleep(0.1)
    sandboxes = _sandbox_pids(data)
    assert sandboxes, "the job's sandbox was not listed"
    with database.connection_context():
        worker = int(Job.get_by_id(job["id"]).worker.rpartition(":")[2])
    os.kill(worker, signal.SIGKILL)
    ended = api.wait(f"/api/jobs/{job['id']}", lambda b: b["state"] != "running", timeout=90, what="reaped")
    assert ended["state"] == "failed" and ended["error"] == "the controller stopped during validating (modules)"
    _, repo = api.get("/api/repositories/k")
    assert repo["status"] == "failed" and repo["job_id"] is None
    assert repo["last_error"] == "the controller stopped during the modules step"
    modules = next(s for s in repo["steps"] if s["step"] == "modules")
    assert modules == {"step": "modules", "state": "failed", "detail": "the controller stopped during the modules step"}
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in sandboxes) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(pid) for pid in sandboxes), "the sandbox outlived the killed worker"
    upstream.commit({"killed_sleepy/modules.py": "X = 1\n"}, message="no more sleep")
    status, refreshed = api.post("/api/repositories/k/refresh")
    assert status == 202, refreshed
    done = api.wait(f"/api/jobs/{refreshed['job_id']}", lambda b: b["state"] not in ("queued", "running"))
    assert done["state"] == "succeeded", done
    _, repo = api.get("/api/repositories/k")
    assert repo["status"] == "ready" and repo["last_error"] is None
