"""Cancel (issue 14): POST /api/jobs/<id>/cancel and the page button end a queued or running job, end the
processes it started, and leave its subject as it was before the job."""
import time

import pytest

from jobs import processes
from tests.conftest import csrf_from, wait_for_job
from tests.support import repo_trees as rb
from tests.test_external_modules import serve, tree
from tests.test_job_binding import wait_for_status

SLEEPS = "import time\ntime.sleep(60)\n"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False


def test_cancelling_a_validation_ends_its_sandbox_and_restores_the_repository(api, git_server, tmp_path):
    name, upstream = serve(git_server, tree(rb.valid_repo, tmp_path, package="cancel_modules"))
    created = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": "C", "name": "cx"})
    assert wait_for_job(api, created.get_json()["job_id"])["state"] == "succeeded"
    before = api.get("/api/repositories/cx").get_json()
    upstream.commit({"cancel_modules/slow.py": SLEEPS, "cancel_modules/__init__.py": "from . import slow\n"})
    job_id = api.post("/api/repositories/cx/refresh").get_json()["job_id"]
    wait_for_status(api, "cx", "validating")
    deadline = time.monotonic() + 30
    while not processes.tracked_pids(job_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = processes.tracked_pids(job_id)
    assert pids, "the sandbox of the validation was not tracked"
    started = time.monotonic()
    answer = api.post(f"/api/jobs/{job_id}/cancel")
    assert answer.status_code == 200 and answer.get_json()["state"] == "cancelled"
    while any(_alive(pid) for pid in pids) and time.monotonic() - started < 10:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids), "the sandbox outlived its cancelled job"
    assert time.monotonic() - started < 5
    after = api.get("/api/repositories/cx").get_json()
    for key in ("status", "active_commit", "fetched_commit", "steps", "last_error", "modules"):
        assert after[key] == before[key], key
    assert after["job_id"] is None
    time.sleep(1.5)  # the job's thread has ended meanwhile and changed nothing
    assert api.get("/api/repositories/cx").get_json()["status"] == before["status"]
    assert api.get(f"/api/jobs/{job_id}").get_json()["state"] == "cancelled"
    again = api.post(f"/api/jobs/{job_id}/cancel")
    assert again.status_code == 409 and "already ended" in again.get_json()["error"]["message"]
    assert api.post("/api/jobs/999999/cancel").status_code == 404
    assert api.post("/api/repositories/cx/refresh").status_code == 202  # not blocked by the cancelled one


def test_the_job_page_has_a_cancel_button_for_a_queued_job(app, client):
    from jobs import enqueue
    from models import database
    app.extensions["jobs"].stop()  # keep the job queued
    with database.connection_context():
        job = enqueue("no-such-kind")
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert f'action="/jobs/{job.id}/cancel"' in page and "Cancel this job" in page
    answer = client.post(f"/jobs/{job.id}/cancel", data={"csrf_token": csrf_from(page)})
    assert answer.status_code == 303
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "<strong>cancelled</strong>" in page and "cancelled by an operator" in page
    assert "Cancel this job" not in page
    bar = client.post(f"/jobs/{job.id}/cancel", data={"csrf_token": csrf_from(page)})
    assert bar.status_code == 409


def test_a_cancelled_jobs_command_and_what_it_started_end_with_it(tmp_path):
    """jobs.processes.run (nix flake lock, the activation command): a cancel ends the command and its children."""
    import subprocess
    import threading

    marker = tmp_path / "grandchild.pid"
    answers = {}

    def job():
        processes.bind_thread(4242)
        try:
            answers["done"] = processes.run(["sh", "-c", f"sleep 60 & echo $! > {marker}; wait"],
                                            capture_output=True, text=True, timeout=90)
        finally:
            processes.bind_thread(None)

    thread = threading.Thread(target=job)
    started = time.monotonic()
    thread.start()
    while not (marker.exists() and marker.read_text().strip()) and time.monotonic() - started < 10:
        time.sleep(0.05)
    grandchild = int(marker.read_text())
    assert processes.end([4242]) == 1
    thread.join(10)
    assert not thread.is_alive() and answers["done"].returncode == -9
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild), "the command's child outlived the cancel"
    assert time.monotonic() - started < 15
    with pytest.raises(subprocess.TimeoutExpired):
        processes.run(["sleep", "5"], timeout=0.2)
