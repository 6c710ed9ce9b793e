"""Migrations that check what exists (issue 14, item 9): a database made by every earlier schema version, and
one whose recorded version lies (made on another line of development), reaches the current schema with its
rows kept; re-running changes nothing."""
import sqlite3
from pathlib import Path

import pytest

from models import database
from models.migrations import MIGRATIONS, migrate

SCHEMAS = Path(__file__).parent / "fixtures" / "schemas"
# (schema file, version it recorded); v3-access recorded as 4 is the database of the issue: a line whose
# migration 3 made the access tables, opened by one whose migration 3 made deployments.
CASES = [("v1", 1), ("v2", 2), ("v3-deployments", 3), ("v3-access", 3), ("v3-access", 4), ("v4", 4)]


def _shape(path: Path) -> dict:
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name NOT LIKE 'sqlite_%'")]
        return {
            "columns": {t: {r[1] for r in db.execute(f'PRAGMA table_info("{t}")')} for t in tables},
            "indexes": {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger') "
                                                 "AND sql IS NOT NULL")},
            "autoincrement": {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                       "AND sql LIKE '%AUTOINCREMENT%'")},
        }


@pytest.fixture(scope="module")
def current_shape(tmp_path_factory):
    from app import create_app
    folder = tmp_path_factory.mktemp("fresh")
    app = create_app({"project_path": folder / "data", "start_job_worker": False, "announce_password": print})
    app.extensions["jobs"].stop()
    return _shape(folder / "data" / "controller.sqlite3")


def _old_database(path: Path, schema: str, version: int) -> None:
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.executescript((SCHEMAS / f"{schema}.sql").read_text())
        db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        db.execute("INSERT INTO repository (id, name, display_name, url, ref, status, active_commit, steps, "
                   "created_at) VALUES (5, 'kept', 'Kept', 'https://example.org/k.git', NULL, 'ready', ?, '[]', "
                   "'2026-01-01 00:00:00')", ("c" * 40,))
        db.execute("INSERT INTO job (id, kind, repository_id, subject, state, phase, done, total, log, created_at) "
                   "VALUES (7, 'fetch', 5, 'kept', 'succeeded', 'done', 0, 0, 'old log', '2026-01-01 00:00:00')")
        if schema != "v1":
            db.execute("INSERT INTO device (id, name, display_name, target, modules, created_at) "
                       "VALUES (3, 'pd', 'PD', 'local', '[]', '2026-01-01 00:00:00')")
        if "deployment" in _shape(path)["columns"]:
            db.execute("INSERT INTO deployment (device_id, device_name, kind, job_id, state, started_at) "
                       "VALUES (3, 'pd', 'build', 7, 'succeeded', '2026-01-01 00:00:00')")


@pytest.mark.parametrize(("schema", "version"), CASES)
def test_every_earlier_schema_reaches_the_current_one(app_factory, tmp_path, current_shape, schema, version):
    path = tmp_path / "data" / "controller.sqlite3"
    _old_database(path, schema, version)
    app = app_factory(start_job_worker=False)
    assert _shape(path) == current_shape
    with database.connection_context():
        assert migrate() == len(MIGRATIONS)  # a second run finds everything there
        assert database.execute_sql("SELECT version FROM schema_version").fetchone() == (len(MIGRATIONS),)
    assert _shape(path) == current_shape
    from models import Device, Job, Repository
    with database.connection_context():
        kept = Repository.get(Repository.name == "kept")
        assert (kept.id, kept.active_commit) == (5, "c" * 40)
        assert Job.get_by_id(7).log == "old log" and Job.get_by_id(7).repository_id == 5
        if schema != "v1":
            assert Device.get(Device.name == "pd").id == 3
        newest = Repository.create(name="n", display_name="N", url="https://example.org/n.git")
        Repository.delete().where(Repository.id == newest.id).execute()
        assert Repository.create(name="n", display_name="N", url="https://example.org/n.git").id > newest.id
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
