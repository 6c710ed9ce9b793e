"""The registry of job kinds: create_app registers each kind once, a second registration is an error, a job
of an unknown kind fails naming it; with start_job_worker=False jobs run inline, in the caller's thread."""
from __future__ import annotations

import threading

import pytest

from jobs import DuplicateJobKind, JobFailed, JobKinds, UnknownJobKind, enqueue
from models import Job, database


def test_create_app_registers_every_kind(app):
    kinds = app.extensions["jobs"].kinds
    assert list(kinds) == ["build", "deploy", "deploy-tag", "fetch", "rollback"]
    with pytest.raises(DuplicateJobKind, match="job kind 'fetch' is registered twice"):
        kinds.register("fetch", lambda ctx: None)


def test_a_kind_registered_twice_is_an_error():
    kinds = JobKinds()

    def first(ctx):
        pass

    def second(ctx):
        pass

    kinds.register("sync", first)
    with pytest.raises(DuplicateJobKind) as raised:
        kinds.register("sync", second)
    assert "first" in str(raised.value) and "second" in str(raised.value)
    assert kinds.handler_for("sync") is first
    with pytest.raises(ValueError):
        kinds.register("", first)


def test_an_unknown_kind_is_named():
    kinds = JobKinds()
    kinds.register("sync", lambda ctx: None)
    with pytest.raises(UnknownJobKind) as raised:
        kinds.handler_for("synk")
    assert str(raised.value) == "no handler for jobs of kind 'synk' (registered: sync)"
    assert "synk" not in kinds and "sync" in kinds


def test_inline_mode_runs_a_job_in_the_callers_thread(app_factory):
    app = app_factory(start_job_worker=False)
    runner = app.extensions["jobs"]
    threads = []

    def work(ctx):
        threads.append(threading.current_thread())
        ctx.log(f"payload {ctx.payload['n']}")

    def fails(ctx):
        raise JobFailed("expected failure")

    runner.kinds.register("test-inline", work)
    runner.kinds.register("test-fails", fails)
    with database.connection_context():
        job = enqueue("test-inline", payload={"n": 7})
        assert Job.get_by_id(job.id).state == "queued"  # nothing runs in the background
        assert runner.run_now(job) is True
        done = Job.get_by_id(job.id)
        assert done.state == "succeeded" and "payload 7" in done.log
        assert threads == [threading.current_thread()]
        assert runner.run_now(job) is False  # it ran already

        failing = enqueue("test-fails")
        runner.run_now(failing)
        assert Job.get_by_id(failing.id).state == "failed"
        assert Job.get_by_id(failing.id).error == "expected failure"

        unknown = enqueue("no-such-kind")
        runner.run_now(unknown)
        unknown = Job.get_by_id(unknown.id)
    assert unknown.state == "failed"
    assert unknown.error.startswith("no handler for jobs of kind 'no-such-kind' (registered: ")
