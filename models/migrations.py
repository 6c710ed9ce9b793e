"""Schema migrations: numbered steps applied in order, recorded in schema_version. Never drop the database."""
from __future__ import annotations

from models import entities as e
from models.db import database


def add_column(db, table: str, column: str, definition: str) -> None:
    """Add a column to an existing table (a fresh database already has it: tables are created from the models)."""
    existing = {row[1] for row in db.execute_sql(f"PRAGMA table_info({table})").fetchall()}
    if column not in existing:
        db.execute_sql(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


def _initial(db):
    db.create_tables(e.ALL_MODELS)
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


MIGRATIONS = [_initial, _devices_and_tags, _deployments, _repository_access, _catalog_generation]


def migrate() -> int:
    db = database.obj
    with db.atomic():
        db.execute_sql("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = db.execute_sql("SELECT version FROM schema_version").fetchone()
        version = row[0] if row else 0
        if not row:
            db.execute_sql("INSERT INTO schema_version (version) VALUES (0)")
        for number, step in enumerate(MIGRATIONS, start=1):
            if number > version:
                step(db)
                db.execute_sql("UPDATE schema_version SET version = ?", (number,))
        return len(MIGRATIONS)
