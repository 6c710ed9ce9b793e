"""One counter, ``data_generation``, that changes whenever anything in the database changes.

Triggers on every table bump it in the same transaction as the insert, update or delete, whoever writes (any
worker, the CLI, a job), so a value built after reading generation N is current for as long as the counter
reads N. Only a job's log and heartbeat do not count (they change many times a second while a job runs, and
no list shows them). ``track_changes`` runs at every start after the migrations and covers every table that
exists then, including columns and tables added later.
"""
from __future__ import annotations

from models.db import database

UNTRACKED_TABLES = {"data_generation", "catalog_generation", "schema_version"}
UNTRACKED_COLUMNS = {"job": {"log", "heartbeat_at"}}
BUMP = "UPDATE data_generation SET value = value + 1 WHERE id = 1"


def data_generation() -> int:
    row = database.execute_sql("SELECT value FROM data_generation WHERE id = 1").fetchone()
    return row[0] if row else 0


def _triggers(db, table: str) -> dict[str, str]:
    """trigger name -> its CREATE statement, for one table."""
    base = f"data_generation_{table}"
    update = f'AFTER UPDATE ON "{table}"'
    ignored = UNTRACKED_COLUMNS.get(table)
    if ignored:
        counted = [row[1] for row in db.execute_sql(f'PRAGMA table_info("{table}")') if row[1] not in ignored]
        update += " WHEN " + " OR ".join(f'OLD."{c}" IS NOT NEW."{c}"' for c in counted)
    events = {"insert": f'AFTER INSERT ON "{table}"', "update": update, "delete": f'AFTER DELETE ON "{table}"'}
    return {f"{base}_{event}": f'CREATE TRIGGER "{base}_{event}" {when} BEGIN {BUMP}; END'
            for event, when in events.items()}


def track_changes(db) -> None:
    db.execute_sql("CREATE TABLE IF NOT EXISTS data_generation "
                   "(id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)")
    db.execute_sql("INSERT OR IGNORE INTO data_generation (id, value) VALUES (1, 0)")
    existing = dict(db.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall())
    tables = [row[0] for row in db.execute_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    for table in tables:
        if table in UNTRACKED_TABLES:
            continue
        for name, sql in _triggers(db, table).items():
            if existing.get(name) == sql:
                continue
            if name in existing:  # the table's columns changed since it was made
                db.execute_sql(f'DROP TRIGGER "{name}"')
            db.execute_sql(sql)
