"""The database handle: SQLite in WAL mode with a busy timeout, bound to a file when the app starts."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time

from peewee import DatabaseProxy, Model, SqliteDatabase, TextField

database = DatabaseProxy()
PRAGMA_WAIT_SECONDS = 10


class _Database(SqliteDatabase):
    def _set_pragmas(self, conn):
        # Two workers opening one file at once: SQLite can answer a pragma (journal_mode while the other sets up
        # or recovers the WAL) with "database is locked" at once, without its busy handler. Try again meanwhile.
        deadline = time.monotonic() + PRAGMA_WAIT_SECONDS
        while True:
            try:
                return super()._set_pragmas(conn)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def open_database(path) -> SqliteDatabase:
    """Bind the models to the SQLite file at `path`; an app started twice in one process shares the handle."""
    current = database.obj
    if current is not None and current.database == str(path):
        return current
    db = _Database(
        str(path),
        # busy_timeout first: the others wait for it (two workers opening a new file race for journal_mode).
        pragmas={"busy_timeout": 10000, "journal_mode": "wal", "foreign_keys": 1, "synchronous": "normal"},
        check_same_thread=False,
        # Writers take the lock when their transaction begins: a read-then-write transaction that waits for
        # it later would get "database is locked" at once instead of waiting for the busy timeout.
        lock_type="IMMEDIATE",
    )
    database.initialize(db)
    return db


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def isoformat(value: dt.datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


class JSONField(TextField):
    def db_value(self, value):
        return None if value is None else json.dumps(value, sort_keys=True)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False
