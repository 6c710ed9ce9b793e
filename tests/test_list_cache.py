"""Lists kept per data generation (views/cached.py): never stale after a write, in this process or another
worker; no session's CSRF token is kept or shown to another session; what is kept is still escaped."""
from __future__ import annotations

import re
import urllib.request

from models import Job, JobState, Repository, Tag, database, open_database
from models.data_generation import data_generation
from models.migrations import migrate
from tests.conftest import csrf_from, login
from tests.support.fleet import seed_fleet
from views import cached

LISTS = ["/api/repositories", "/api/devices", "/api/tags", "/api/jobs", "/api/modules",
         "/repositories", "/devices", "/tags", "/jobs", "/modules", "/devices/device1"]


def _get(base: str, token: str, path: str) -> str:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:  # a new connection: either worker answers
        assert response.status == 200, path
        return response.read().decode()


def _write_everywhere() -> None:
    """Changes each list shows, made by another process (this one), straight into the database."""
    Repository.update(display_name="Renamed repository").where(Repository.name == "fleet1").execute()
    Tag.update(display_name="Renamed tag").where(Tag.name == "tag1").execute()
    database.execute_sql("UPDATE device SET display_name = 'Renamed device' WHERE name = 'device1'")
    Job.create(kind="fetch", subject="newly-queued-subject", state=JobState.SUCCEEDED)


EXPECTED = {"/api/repositories": "Renamed repository", "/repositories": "Renamed repository",
            "/api/devices": "Renamed device", "/devices": "Renamed device", "/devices/device1": "Renamed device",
            "/api/tags": "Renamed tag", "/tags": "Renamed tag", "/api/jobs": "newly-queued-subject",
            "/jobs": "newly-queued-subject", "/modules": "Renamed repository"}


def test_every_worker_sees_a_write_made_elsewhere(controller, tmp_path):
    base, _password = controller
    open_database(tmp_path / "data" / "controller.sqlite3")
    from auth.tokens import create_token
    with database.connection_context():
        token = create_token("lists")
        seed_fleet(3, modules_per_repo=2, devices=3)
    rounds = 12  # two workers: each answers some of them (all by one worker: odds of 1 in 2000 per list)
    for path in LISTS:
        assert all(EXPECTED.get(path, "\0") not in _get(base, token, path) for _ in range(rounds)), path
    with database.connection_context():
        _write_everywhere()
    for path, text in EXPECTED.items():
        assert all(text in _get(base, token, path) for _ in range(rounds)), path


def _without_csrf(text: str) -> str:
    return re.sub(r'(csrf_token" value="|X-CSRF-Token": ")[^"]+', r"\1", text)


def test_a_write_in_this_process_is_seen_at_once(app, api):
    with database.connection_context():
        seed_fleet(3, modules_per_repo=2, devices=3)
    before = {path: api.get(path).get_data(as_text=True) for path in EXPECTED}
    for path in EXPECTED:  # kept: the same answer (pages differ only in the new session's CSRF token)
        again = api.get(path).get_data(as_text=True)
        assert _without_csrf(again) == _without_csrf(before[path]), path
    with database.connection_context():
        _write_everywhere()
    for path, text in EXPECTED.items():
        assert text not in before[path] and text in api.get(path).get_data(as_text=True), path


def test_job_progress_counts_its_log_and_heartbeat_do_not(app):
    with database.connection_context():
        # An ended job: the app's own job runner would claim a queued one and change it under the test.
        job = Job.create(kind="fetch", subject="x", state=JobState.SUCCEEDED)
        start = data_generation()
        Job.update(log=Job.log.concat("a line\n"), heartbeat_at=job.created_at).where(Job.id == job.id).execute()
        assert data_generation() == start
        Job.update(phase="fetching", done=1, total=3).where(Job.id == job.id).execute()
        assert data_generation() == start + 1
        Job.update(phase="fetching", done=1, total=3).where(Job.id == job.id).execute()  # nothing changed
        assert data_generation() == start + 1
        job.delete_instance()
        assert data_generation() == start + 2


def test_tables_and_columns_added_later_are_tracked(app):
    with database.connection_context():
        database.execute_sql("CREATE TABLE later_feature (id INTEGER PRIMARY KEY, note TEXT)")
        database.execute_sql('ALTER TABLE job ADD COLUMN later_column TEXT')
        migrate()
        migrate()  # again: nothing to do, nothing doubled
        job = Job.create(kind="fetch", subject="x")
        start = data_generation()
        database.execute_sql("INSERT INTO later_feature (note) VALUES ('x')")
        database.execute_sql("UPDATE job SET later_column = 'y' WHERE id = ?", (job.id,))
        assert data_generation() == start + 2


def test_no_session_gets_or_leaves_another_sessions_csrf_token(app, admin_password):
    with database.connection_context():
        seed_fleet(3, modules_per_repo=2, devices=3)
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        assert login(client, admin_password).status_code == 302
    tokens = set()
    for path in ["/repositories", "/devices", "/devices/device1", "/tags", "/jobs", "/modules"]:
        a, b = first.get(path).get_data(as_text=True), second.get(path).get_data(as_text=True)  # built, kept
        token_a, token_b = csrf_from(a), csrf_from(b)
        assert token_a != token_b
        assert set(re.findall(r'name="csrf_token" value="([^"]+)"', a)) == {token_a}, path
        assert set(re.findall(r'name="csrf_token" value="([^"]+)"', b)) == {token_b}, path
        assert cached.CSRF_PLACEHOLDER not in a + b, path
        tokens |= {token_a, token_b}
    assert len(tokens) == 2
    kept = "".join(repr(entry[1]) for entry in cached._entries.values())
    assert kept and not any(token in kept for token in tokens)
    # The token on a kept page is the one the session's own form posts are checked against.
    mine, theirs = (csrf_from(c.get("/repositories").get_data(as_text=True)) for c in (second, first))
    assert second.post("/theme", data={"csrf_token": mine, "theme": "dark", "next": "/"}).status_code == 302
    assert second.post("/theme", data={"csrf_token": theirs, "theme": "dark", "next": "/"}).status_code == 400


def test_kept_lists_stay_escaped(client, api):
    with database.connection_context():
        seed_fleet(2, modules_per_repo=1, devices=2)
        Repository.update(display_name="<script>alert(1)</script>").where(Repository.name == "fleet1").execute()
        database.execute_sql("UPDATE device SET display_name = '<img src=x onerror=alert(1)>' WHERE name = 'device1'")
    for _ in range(2):  # built, then kept
        repositories = client.get("/repositories").get_data(as_text=True)
        devices = client.get("/devices").get_data(as_text=True)
        assert "<script>alert(1)</script>" not in repositories
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in repositories
        assert "<img src=x" not in devices and "&lt;img src=x onerror=alert(1)&gt;" in devices
        assert api.get("/api/repositories").get_json()[1]["display_name"] == "<script>alert(1)</script>"


def test_lists_need_authentication_even_when_kept(app, api):
    with database.connection_context():
        seed_fleet(2, modules_per_repo=1, devices=2)
    anonymous = app.test_client(use_cookies=False)
    for path in LISTS:
        assert api.get(path).status_code == 200
        response = anonymous.get(path)
        assert response.status_code in (302, 401), path
        assert b"fleet1" not in response.data


def test_what_is_kept_stays_within_its_bound(app, monkeypatch):
    monkeypatch.setattr(cached, "MAX_BYTES", 100)
    cached.clear()
    with database.connection_context():
        for number in range(5):
            assert cached.reuse(("bound", number), lambda n=number: str(n) * 40) == str(number) * 40
        assert cached._size <= 100 and [key[-1] for key in cached._entries] == [3, 4]  # the oldest went first
        assert cached.reuse(("bound", "huge"), lambda: "x" * 500) == "x" * 500  # too large to keep: not kept
        assert ("bound", "huge") not in [key[1:] for key in cached._entries]
        built = []
        cached.reuse(("bound", 4), lambda: built.append(1) or "again")
        assert built == []  # still kept
        Repository.create(name="r", display_name="R", url="https://example.com/r.git")
        assert cached.reuse(("bound", 4), lambda: "rebuilt") == "rebuilt"  # a write: built again
