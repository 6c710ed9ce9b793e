"""API tokens for curl users: shown once on creation, stored as SHA-256 hashes."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from models import ApiToken, database, utcnow

TOKEN_PREFIX = "thy_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class TokenError(ValueError):
    pass


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(name: str) -> str:
    if not NAME_PATTERN.match(name or ""):
        raise TokenError("a token name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if ApiToken.get_or_none(ApiToken.name == name):
        raise TokenError(f"a token named {name!r} already exists")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.create(name=name, token_hash=_digest(token))
    return token


def revoke_token(name: str) -> bool:
    return ApiToken.delete().where(ApiToken.name == name).execute() > 0


def token_owner(token: str) -> ApiToken | None:
    """The token's row, or None. Every API request asks: one statement written out (peewee building the query
    cost more than SQLite running it), and at most one write a minute (curl polling a job must not take the
    database's write lock each time)."""
    found = database.execute_sql("SELECT id, name, last_used_at FROM api_token WHERE token_hash = ?",
                                 (_digest(token),)).fetchone()
    if found is None:
        return None
    row = ApiToken(id=found[0], name=found[1], last_used_at=ApiToken.last_used_at.python_value(found[2]))
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
        ApiToken.update(last_used_at=now).where(ApiToken.id == row.id).execute()
    return row
