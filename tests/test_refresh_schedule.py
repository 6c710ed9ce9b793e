"""A repository's refresh interval (issue 17), run by the job system's scheduler and observed through the job
list: in the app, and under real gunicorn with two workers (each runs a scheduler; a refresh is queued once)."""
import datetime as dt
import threading
import time

import pytest

from tests.conftest import wait_for_job
from tests.support.http_api import HttpApi, make_token

README = "# Demo\nThis repository contains thymis modules.\n"
FLAKE = '{ description = "demo"; outputs = { self }: { }; }\n'
SCHEDULED = "started by the refresh schedule"


@pytest.fixture
def app_config():
    # A minute of refresh_interval lasts one second here; the scheduler looks five times a second.
    return {"refresh_minute_seconds": 1.0, "scheduler_seconds": 0.2}


def served(git_server) -> str:
    name = git_server.new_name("scheduled")
    git_server.make_repo(name, {"README.md": README, "flake.nix": FLAKE})
    return name


def fetch_jobs(api, name: str) -> list[dict]:
    return api.get(f"/api/jobs?kind=fetch&subject={name}").get_json()


def scheduled(api, name: str) -> list[dict]:
    """The repository's fetch jobs the schedule started (its first line of log says so), oldest first."""
    jobs = [api.get(f"/api/jobs/{job['id']}").get_json() for job in fetch_jobs(api, name)]
    return sorted((job for job in jobs if SCHEDULED in job["log"].partition("\n")[0]), key=lambda job: job["id"])


def test_interval_refreshes_through_the_job_list_and_off_stops_it(api, git_server):
    name = served(git_server)
    created = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": name,
                                                  "refresh_interval": 2})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["refresh_interval"] == 2 and body["next_refresh_at"] is not None
    wait_for_job(api, body["job_id"])
    deadline = time.monotonic() + 20
    while len(scheduled(api, name)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    jobs = scheduled(api, name)
    assert len(jobs) >= 2, fetch_jobs(api, name)
    assert all(job["state"] in ("succeeded", "queued", "running") for job in jobs)
    first, second = (dt.datetime.fromisoformat(job["created_at"].rstrip("Z")) for job in jobs[:2])
    assert (second - first).total_seconds() >= 1  # two seconds apart, at whole-second precision

    changed = api.patch(f"/api/repositories/{name}", json={"refresh_interval": "off"}).get_json()
    assert changed["refresh_interval"] == "off" and changed["next_refresh_at"] is None
    for job in fetch_jobs(api, name):
        wait_for_job(api, job["id"])
    count = len(fetch_jobs(api, name))
    time.sleep(3)
    assert len(fetch_jobs(api, name)) == count, "a refresh was queued after the interval was turned off"


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "often", "5", 10 ** 9])
def test_a_bad_interval_is_refused_naming_the_field(api, git_server, value):
    name = served(git_server)
    response = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": name,
                                                   "refresh_interval": value})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == "refresh_interval" and "'off' or a whole number of minutes" in error["message"]


def test_concurrent_schedulers_queue_one_refresh(app, api, git_server):
    """Several processes' scheduler ticks at the same moment: the claim lets exactly one queue it."""
    from models import Repository, database, utcnow
    from repos.updates import enqueue_due_refreshes
    name = served(git_server)
    created = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": name}).get_json()
    wait_for_job(api, created["job_id"])
    app.extensions["jobs"].scheduler.stop()  # only the ticks below
    settings = app.config["THYMIS"]
    with database.connection_context():
        Repository.update(refresh_interval=60, refresh_due_at=utcnow() - dt.timedelta(seconds=1)).where(
            Repository.name == name).execute()
    queued, start = [], threading.Barrier(4)

    def tick():
        start.wait()
        with database.connection_context():
            queued.extend(enqueue_due_refreshes(settings))

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(queued) == 1
    assert [job["id"] for job in fetch_jobs(api, name)] == [queued[0].id, created["job_id"]]
    wait_for_job(api, queued[0].id)
    with database.connection_context():
        assert enqueue_due_refreshes(settings) == []  # next due in an hour


def test_a_refresh_claimed_and_done_by_another_process_is_not_queued_again(app, api, git_server):
    """Process B read the due row; process A claimed it, queued it and the fetch ended before B went on: B's
    claim fails (no fetch running any more is not enough to queue it twice)."""
    from models import Repository, database, utcnow
    from repos.updates import claim_refresh, due_refreshes
    name = served(git_server)
    created = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": name}).get_json()
    wait_for_job(api, created["job_id"])
    app.extensions["jobs"].scheduler.stop()
    settings = app.config["THYMIS"]
    with database.connection_context():
        repo_id = Repository.get(Repository.name == name).id
        Repository.update(refresh_interval=60, refresh_due_at=utcnow() - dt.timedelta(seconds=1)).where(
            Repository.id == repo_id).execute()
        [seen_by_b] = [row for row in due_refreshes() if row.id == repo_id]
        [seen_by_a] = [row for row in due_refreshes() if row.id == repo_id]
        job = claim_refresh(settings, seen_by_a)
    assert job is not None
    assert wait_for_job(api, job.id)["state"] == "succeeded"
    with database.connection_context():
        assert claim_refresh(settings, seen_by_b) is None
    assert len(fetch_jobs(api, name)) == 2


@pytest.fixture
def controller_env():
    return {"THYMIS_REFRESH_MINUTE_SECONDS": "1", "THYMIS_SCHEDULER_SECONDS": "0.2"}


def test_two_gunicorn_workers_queue_each_scheduled_refresh_once(controller, tmp_path, git_server):
    base, _password = controller
    api = HttpApi(base, make_token(tmp_path / "data"))
    name = served(git_server)
    status, body = api.post("/api/repositories", {"url": git_server.url(name), "display_name": name,
                                                  "refresh_interval": 3})
    assert status == 201, body
    api.wait(f"/api/jobs?kind=fetch&subject={name}", lambda jobs: len(jobs) >= 4, timeout=40,
             what="four fetch jobs (the first and three scheduled ones)")
    _, jobs = api.get(f"/api/jobs?kind=fetch&subject={name}")
    created = sorted(dt.datetime.fromisoformat(job["created_at"].rstrip("Z")) for job in jobs)
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(created[1:], created[2:])]
    # Each worker's scheduler ticks five times a second: without the claim, both would queue (a gap of about
    # a fetch's duration); with it, the scheduled refreshes are three seconds apart (whole-second precision).
    assert all(gap >= 2 for gap in gaps), gaps
