"""SIGTERM (issue 14, item 8): a real gunicorn worker told to stop lets its running job finish for the grace
period (THYMIS_JOB_GRACE_SECONDS) and queues again a job that does not, which a worker then runs to its end.
(Temporary files of stopped processes are swept at start-up: pipeline/leftovers.py, tests/test_fetch_limits.py.)"""
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

from models import Job, database
from tests.support import repo_trees as rb
from tests.support.http_api import HttpApi, make_token
from tests.support.processes import Service, http_status
from tests.test_external_modules import serve, tree

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def one_worker(tmp_path):
    """gunicorn with one worker (so the job runs where the signal goes) and a grace of 3 s."""
    env = {**os.environ, "THYMIS_PROJECT_PATH": str(tmp_path / "data"), "THYMIS_ALLOW_LOCAL_REPOSITORIES": "1",
           "THYMIS_JOB_GRACE_SECONDS": "3"}
    found = {}

    def ready() -> bool:
        text = service.output()
        base = re.findall(r"Listening at: (http://127\.0\.0\.1:\d+)", text)
        found["base"] = base[0] if base else None
        return bool(base) and "Booting worker" in text and http_status(base[0] + "/login") == 200

    service = Service([Path(sys.executable).with_name("gunicorn"), "--bind", "127.0.0.1:0", "--workers", "1",
                       "--threads", "4", "--no-control-socket", "app:create_app()"], tmp_path / "gunicorn.log",
                      probe=ready, name="gunicorn", cwd=ROOT, env=env)
    try:
        service.wait_until_ready(60)
        yield service, HttpApi(found["base"], make_token(tmp_path / "data"))
    finally:
        service.stop()


def _worker(job_id: int) -> int:
    with database.connection_context():
        return int(Job.get_by_id(job_id).worker.rpartition(":")[2])


def _add(api, git_server, tmp_path, package, seconds, name):
    body = f"import time\ntime.sleep({seconds})\n"
    repo_name, upstream = serve(git_server, tree(rb.single_module_repo, tmp_path, package=package, body=body))
    status, created = api.post("/api/repositories", {"url": git_server.url(repo_name), "display_name": name,
                                                      "name": name})
    assert status == 201, created
    api.wait(f"/api/jobs/{created['job_id']}", lambda b: "modules" in b["progress"]["phase"], what="validating")
    return created["job_id"], upstream


def test_a_job_shorter_than_the_grace_period_finishes(one_worker, git_server, tmp_path):
    service, api = one_worker
    job_id, _ = _add(api, git_server, tmp_path, "graceful_short", 1.5, "short")
    worker = _worker(job_id)
    os.kill(worker, signal.SIGTERM)
    job = api.wait(f"/api/jobs/{job_id}", lambda b: b["state"] not in ("queued", "running"), timeout=60)
    assert job["state"] == "succeeded", job
    _, repo = api.get("/api/repositories/short")
    assert repo["status"] == "ready"
    assert f"Worker exiting (pid: {worker})" in service.output()


def test_a_job_longer_than_the_grace_period_is_queued_again_and_runs(one_worker, git_server, tmp_path):
    service, api = one_worker
    job_id, upstream = _add(api, git_server, tmp_path, "graceful_long", 12, "long")
    worker = _worker(job_id)
    os.kill(worker, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _worker_or_none(job_id) in (worker, None):
        time.sleep(0.1)
    assert _worker_or_none(job_id) not in (worker, None), "no other worker took the job up again"
    job = api.wait(f"/api/jobs/{job_id}", lambda b: b["state"] not in ("queued", "running"), timeout=90)
    assert job["state"] == "succeeded", job
    assert "queued again" in job["log"]
    _, repo = api.get("/api/repositories/long")
    assert repo["status"] == "ready" and repo["last_error"] is None


def _worker_or_none(job_id: int) -> int | None:
    with database.connection_context():
        worker = Job.get_by_id(job_id).worker
    return int(worker.rpartition(":")[2]) if worker else None
