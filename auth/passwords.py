"""The admin password: from THYMIS_AUTH_BASIC_PASSWORD_FILE, or generated on first start and stored hashed."""
from __future__ import annotations

import secrets
import sys

from peewee import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from models import ControllerSetting, database

PASSWORD_KEY = "admin_password_hash"


def ensure_admin_password(settings, announce=None) -> None:
    """Create the admin password once; print it only in the process that created it."""
    if settings.password_file is not None:
        return
    if ControllerSetting.select().where(ControllerSetting.key == PASSWORD_KEY).exists():
        return  # every later start (each worker, each CLI command): no hashing (scrypt costs 0.1 s and 32 MB)
    password = secrets.token_urlsafe(12)
    try:
        with database.atomic():
            ControllerSetting.create(key=PASSWORD_KEY, value=generate_password_hash(password))
    except IntegrityError:
        return
    (announce or _print_banner)(password)


def _print_banner(password: str) -> None:
    # Printed straight to the terminal (or journal) once; never through the logging system.
    print("\n" + "=" * 64 + f"\n  Thymis controller admin password: {password}\n"
          "  (shown once; change it with: flask --app app admin set-password)\n" + "=" * 64 + "\n",
          file=sys.stderr, flush=True)


def set_admin_password(password: str) -> None:
    ControllerSetting.insert(key=PASSWORD_KEY, value=generate_password_hash(password)).on_conflict_replace().execute()


def check_login(settings, username: str, password: str) -> bool:
    """The login form's check: the configured user name (THYMIS_AUTH_BASIC_USERNAME) and the admin password.
    Both are always checked, so a wrong user name takes as long, and reads the same, as a wrong password."""
    expected = settings.auth_basic_username.encode()
    name_ok = secrets.compare_digest(expected, (username or "").strip().encode())
    password_ok = check_admin_password(settings, password)
    return name_ok and password_ok


def check_admin_password(settings, candidate: str) -> bool:
    if not candidate:
        return False
    if settings.password_file is not None:
        try:
            expected = settings.password_file.read_text().strip()
        except OSError:
            return False
        return secrets.compare_digest(expected.encode(), candidate.encode())
    row = ControllerSetting.get_or_none(ControllerSetting.key == PASSWORD_KEY)
    return bool(row) and check_password_hash(row.value, candidate)
