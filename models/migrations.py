"""Schema migrations: steps that each check what exists (tables, columns, indexes) before changing anything.

Every step runs at every start, in order, and does only what is missing, so a database made by any earlier
schema (or by another line of development that numbered its steps differently) reaches the current one.
schema_version records how many steps the database has seen; it is informative, never trusted.
Never drop the database.
"""
from __future__ import annotations

import logging
import re
import time

from peewee import OperationalError

from models import entities as e
from models.data_generation import track_changes
from models.db import database

log = logging.getLogger(__name__)


def columns(db, table: str) -> list[str]:
    return [row[1] for row in db.execute_sql(f'PRAGMA table_info("{table}")').fetchall()]


def table_sql(db, table: str) -> str | None:
    row = db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    return row[0] if row else None


def add_column(db, table: str, column: str, definition: str) -> None:
    """Add a column to an existing table unless it is there (a fresh table is created with it)."""
    if column not in columns(db, table):
        db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN {column} {definition}')


def _initial(db):
    db.create_tables(e.ALL_MODELS)  # CREATE TABLE/INDEX IF NOT EXISTS: what exists is left as it is
    # At most one unfinished job per repository, enforced by the database itself.
    db.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS job_one_active_per_repository ON job (repository_id) "
        "WHERE state IN ('queued', 'running') AND repository_id IS NOT NULL"
    )


def _devices_and_tags(db):
    db.create_tables(e.CONFIG_MODELS)


def _deployments(db):
    db.create_tables(e.DEPLOY_MODELS)
    add_column(db, "job", "parent_id", "INTEGER REFERENCES job (id) ON DELETE SET NULL")


def _repository_access(db):
    db.create_tables(e.ACCESS_MODELS)


# The module catalogue (configs/catalog.py) is cached per generation in each process; these triggers bump the
# generation whenever what it is built from changes, whoever writes (any worker, the CLI, a job).
_CATALOG_TRIGGERS = {
    "catalog_repository_insert": "AFTER INSERT ON repository WHEN NEW.active_commit IS NOT NULL",
    "catalog_repository_update": "AFTER UPDATE ON repository WHEN OLD.active_commit IS NOT NEW.active_commit "
                                 "OR OLD.display_name IS NOT NEW.display_name OR OLD.name IS NOT NEW.name",
    "catalog_repository_delete": "AFTER DELETE ON repository",
    "catalog_validation_insert": "AFTER INSERT ON commit_validation",
    "catalog_validation_update": "AFTER UPDATE ON commit_validation",
    "catalog_validation_delete": "AFTER DELETE ON commit_validation",
}


def _catalog_generation(db):
    db.execute_sql("CREATE TABLE IF NOT EXISTS catalog_generation "
                   "(id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)")
    db.execute_sql("INSERT OR IGNORE INTO catalog_generation (id, value) VALUES (1, 0)")
    for name, when in _CATALOG_TRIGGERS.items():
        db.execute_sql(f"CREATE TRIGGER IF NOT EXISTS {name} {when} "
                       "BEGIN UPDATE catalog_generation SET value = value + 1 WHERE id = 1; END")


NEVER_REUSED = ("repository", "job", "tag", "device", "deployment")


def _rebuild_with_autoincrement(db, table: str) -> None:
    """SQLite gives a new row the highest deleted id unless the table says AUTOINCREMENT, and a table's
    declaration cannot be altered: copy it into a new table that says so (foreign keys are off meanwhile)."""
    sql = table_sql(db, table)
    if sql is None or "AUTOINCREMENT" in sql.upper():
        return
    new = f"{table}__autoincrement"
    create, count = re.subn(r'^CREATE TABLE (IF NOT EXISTS )?"?%s"? ' % re.escape(table), f'CREATE TABLE "{new}" ', sql)
    create, found = re.subn(r'"id" INTEGER NOT NULL PRIMARY KEY(?! AUTOINCREMENT)',
                            '"id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT', create, count=1)
    if not (count and found):
        raise RuntimeError(f"cannot make the ids of table {table} never reused: unexpected schema {sql!r}")
    # Its indexes and triggers go with the old table: made again on the new one.
    indexes = [row[0] for row in db.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name = ? AND sql IS NOT NULL",
        (table,))]
    names = ", ".join(f'"{c}"' for c in columns(db, table))
    db.execute_sql(f'DROP TABLE IF EXISTS "{new}"')
    db.execute_sql(create)
    db.execute_sql(f'INSERT INTO "{new}" ({names}) SELECT {names} FROM "{table}"')
    db.execute_sql(f'DROP TABLE "{table}"')
    db.execute_sql(f'ALTER TABLE "{new}" RENAME TO "{table}"')
    for index in indexes:
        db.execute_sql(index)


def _ids_never_reused(db):
    for table in NEVER_REUSED:
        _rebuild_with_autoincrement(db, table)


def _allowed_signers(db):
    add_column(db, "repository", "allowed_signers", "TEXT")
    add_column(db, "commit_validation", "signers", "VARCHAR(255)")


def _secrets(db):
    db.create_tables(e.SECRET_MODELS)  # CREATE TABLE IF NOT EXISTS: an existing table is left as it is


def _review(db):
    add_column(db, "repository", "review", "VARCHAR(255) NOT NULL DEFAULT 'auto'")
    add_column(db, "repository", "candidate_commit", "VARCHAR(255)")
    db.create_tables(e.REVIEW_MODELS)


def _audit(db):
    db.create_tables(e.AUDIT_MODELS)  # CREATE TABLE/INDEX IF NOT EXISTS: an existing table is left as it is


def _updates(db):
    """Issue 17, updates on their own: the webhook secret and the refresh schedule."""
    add_column(db, "repository", "webhook_secret", "TEXT")
    add_column(db, "repository", "refresh_interval", "INTEGER")
    add_column(db, "repository", "refresh_due_at", "DATETIME")


def _followers(db):
    db.create_tables(e.FOLLOWER_MODELS)  # CREATE TABLE IF NOT EXISTS


MIGRATIONS = [_initial, _devices_and_tags, _deployments, _repository_access, _catalog_generation,
              _ids_never_reused, _allowed_signers, _secrets, _review, _audit, _updates,
              _followers]


MIGRATE_WAIT_SECONDS = 600


def migrate() -> int:
    """Bring the schema up to date. Several workers start at once: one migrates, the others wait for its
    write lock (a rebuild of a large job table can outlast SQLite's busy timeout) and then find it done."""
    deadline = time.monotonic() + MIGRATE_WAIT_SECONDS
    while True:
        try:
            return _migrate()
        except OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            log.info("waiting for another process to finish migrating the database")
            time.sleep(0.5)


def _migrate() -> int:
    db = database.obj
    # Rebuilding a table drops the old one: with foreign keys on, that would delete the rows referring to it.
    db.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        with db.atomic():
            db.execute_sql("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            if db.execute_sql("SELECT version FROM schema_version").fetchone() is None:
                db.execute_sql("INSERT INTO schema_version (version) VALUES (0)")
            for step in MIGRATIONS:
                step(db)
            track_changes(db)  # after every step: it covers the tables and columns they made
            broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
            if broken:  # not fatal: the controller still starts, and the operator learns of it
                log.warning("rows that refer to missing rows (table, rowid, parent): %s", broken[:10])
            db.execute_sql("UPDATE schema_version SET version = ?", (len(MIGRATIONS),))
    finally:
        db.execute_sql("PRAGMA foreign_keys = ON")
    return len(MIGRATIONS)
