"""The job table: one job per repository at a time, jobs of a stopped controller are failed on the next start."""
import pytest

from jobs import JobConflict, enqueue, reap_orphans
from models import Job, Repository, database, utcnow


@pytest.fixture
def repo(app):
    with database.connection_context():
        return Repository.create(name="r", display_name="R", url="https://example.org/r.git")


def test_second_job_for_a_repository_is_a_conflict(app_factory, tmp_path):
    app_factory(start_job_worker=False)
    with database.connection_context():
        repo = Repository.create(name="r", display_name="R", url="https://example.org/r.git")
        first = enqueue("fetch", repository=repo)
        with pytest.raises(JobConflict) as raised:
            enqueue("fetch", repository=repo)
        assert raised.value.job.id == first.id
        Job.update(state="succeeded").where(Job.id == first.id).execute()
        assert enqueue("fetch", repository=repo).id != first.id


def test_running_job_of_a_dead_process_is_failed_on_next_start(app_factory):
    app_factory(start_job_worker=False)
    with database.connection_context():
        job = Job.create(kind="fetch", state="running", worker="%s:999999999" % __import__("socket").gethostname(),
                         started_at=utcnow(), heartbeat_at=utcnow())
    app_factory()  # the next start reaps it
    with database.connection_context():
        job = Job.get_by_id(job.id)
    assert job.state == "failed"
    assert "controller stopped" in job.error


def test_running_job_of_a_live_process_is_left_alone(app_factory):
    app_factory(start_job_worker=False)
    with database.connection_context():
        job = Job.create(kind="fetch", state="running", worker="%s:%d" % (__import__("socket").gethostname(),
                         __import__("os").getpid()), started_at=utcnow(), heartbeat_at=utcnow())
        assert reap_orphans() == 0
        assert Job.get_by_id(job.id).state == "running"


def test_unknown_job_kind_fails_with_a_reason(app, api):
    from tests.conftest import wait_for_job
    with database.connection_context():
        job = enqueue("no-such-kind")
    finished = wait_for_job(api, job.id)
    assert finished["state"] == "failed"
    assert "no handler" in finished["error"]
    assert api.get("/api/jobs/999999").status_code == 404


def test_a_silent_job_keeps_beating_and_is_not_reaped(app, api, monkeypatch):
    import threading
    import time

    from jobs import runner
    from tests.conftest import wait_for_job
    monkeypatch.setattr(runner, "HEARTBEAT_SECONDS", 0.1)
    release = threading.Event()

    def silent(ctx):
        release.wait(10)

    app.extensions["jobs"].kinds.register("test-silent", silent)

    with database.connection_context():
        job = enqueue("test-silent")
    time.sleep(0.5)
    with database.connection_context():
        before = Job.get_by_id(job.id).heartbeat_at
    time.sleep(1.2)  # heartbeat timestamps have one-second resolution
    with database.connection_context():
        assert Job.get_by_id(job.id).heartbeat_at > before
        assert reap_orphans() == 0
    release.set()
    assert wait_for_job(api, job.id)["state"] == "succeeded"


def test_a_long_log_keeps_its_end(app):
    from jobs.context import JobContext
    from jobs.queue import LOG_LIMIT
    with database.connection_context():
        job = Job.create(kind="fetch", state="running")
        ctx = JobContext(job, app.config["THYMIS"])
        for number in range(LOG_LIMIT // 50):
            ctx.log(f"line {number:06d} " + "x" * 40)
        ctx.log("the outcome")
        ctx.flush()
        log = Job.get_by_id(job.id).log
    assert len(log) == LOG_LIMIT and log.rstrip().endswith("the outcome")
