"""Every list page and JSON list costs the same number of SQL queries at 10 and at 200 rows (no N+1), both when it
is built and when it is reused from views/cached.py."""
from __future__ import annotations

import threading

from models import Deployment, Device, database
from tests.conftest import login
from tests.support.fleet import seed_fleet
from views import cached

PATHS = ["/repositories", "/api/repositories", "/modules", "/api/modules", "/devices", "/api/devices",
         "/tags", "/api/tags", "/devices/device1", "/api/devices/device1", "/api/tags/tag1",
         "/repositories/fleet0/row", "/jobs", "/api/jobs"]
KEPT = ["/repositories", "/api/repositories", "/modules", "/api/modules", "/devices", "/api/devices", "/tags",
        "/api/tags", "/jobs", "/api/jobs"]


class QueryCounter:
    """Counts the statements peewee sends from this thread (the test client runs the app in it)."""

    def __init__(self, db):
        self.db, self.count, self.thread = db, 0, threading.get_ident()
        self._execute = db.execute_sql

    def __enter__(self):
        def counted(sql, params=None, *args, **kwargs):
            if threading.get_ident() == self.thread:
                self.count += 1
            return self._execute(sql, params, *args, **kwargs)
        self.db.execute_sql = counted
        return self

    def __exit__(self, *exc):
        del self.db.execute_sql


def _deployments():
    """Each device deployed twice (the last one failed or still running) and built once since."""
    for device in Device.select():
        for kind, state in (("deploy", "succeeded"), ("deploy", "failed" if device.id % 2 else "running"),
                            ("build", "succeeded")):
            Deployment.create(device=device, device_name=device.name, kind=kind, state=state)


def _counts(app_factory, tmp_path, announced, size: int) -> dict[tuple[str, bool], int]:
    app = app_factory(project_path=tmp_path / f"data-{size}", start_job_worker=False)
    with database.connection_context():
        seed_fleet(size, modules_per_repo=5, devices=size, modules_per_device=10)
        _deployments()
    client = app.test_client()
    assert login(client, announced[-1]).status_code == 302
    counts = {}
    for path in PATHS:
        assert client.get(path).status_code == 200, path  # the first request may warm caches
        for built in (True, False):
            if built:
                cached.clear()  # the lists kept per data generation: built again
            with QueryCounter(database.obj) as counter:
                response = client.get(path)
            assert response.status_code == 200, path
            counts[path, built] = counter.count
    listed = client.get("/devices").get_data(as_text=True)  # the columns the counts cover: tags and last deploy
    assert 'data-status="failed">failed' in listed and 'data-status="running">running' in listed
    assert ">Tag 0</a>" in listed and "never deployed" not in listed
    shown = {d["last_deploy"]["state"] for d in client.get("/api/devices").get_json()}  # the API's last deploy too
    assert shown == {"failed", "running"}
    body = client.get("/api/repositories").get_json()
    assert len(body) == min(size, 200) or len(body) <= 100  # a page of them (pagination may cap it)
    return counts


def test_queries_do_not_grow_with_the_fleet(app_factory, tmp_path, announced):
    small = _counts(app_factory, tmp_path, announced, 10)
    large = _counts(app_factory, tmp_path, announced, 200)
    grown = {key: (small[key], large[key]) for key in small if small[key] != large[key]}
    assert not grown, f"queries per request ((path, built), 10 rows, 200 rows): {grown}"
    assert all(small.values())
    fewer = {path: (large[path, True], large[path, False]) for path in KEPT if large[path, False] >= large[path, True]}
    assert not fewer, f"a kept list costs as many queries as building it (built, kept): {fewer}"
