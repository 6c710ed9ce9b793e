"""The real controller under gunicorn, for browser tests: ``controller`` yields (base_url, admin_password).

It is ready only when ``GET /login`` answers 200 and both workers have booted, so a browser's first request
cannot be refused (on a loaded machine gunicorn logs its address well before a worker answers).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from tests.support.processes import Service, http_status

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2


def _first(pattern: str, text: str) -> str | None:
    return next(iter(re.findall(pattern, text)), None)


@pytest.fixture
def controller_env() -> dict:
    """Extra environment for the ``controller`` fixture; a test module overrides this fixture to set some."""
    return {}


@pytest.fixture
def controller(tmp_path, controller_env):
    """The real controller under gunicorn; yields (base_url, admin_password)."""
    env = {**os.environ, "THYMIS_PROJECT_PATH": str(tmp_path / "data"), "THYMIS_ALLOW_LOCAL_REPOSITORIES": "1",
           **controller_env}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    found: dict[str, str] = {}

    def ready() -> bool:
        text = service.output()
        found["password"] = _first(r"admin password: (\S+)", text)
        found["base"] = _first(r"Listening at: (http://127\.0\.0\.1:\d+)", text)
        booted = len(re.findall(r"Booting worker with pid", text)) >= WORKERS
        return bool(found["password"] and found["base"] and booted) and http_status(found["base"] + "/login") == 200

    # Port 0: the kernel picks a free port and gunicorn logs it (no race with other tests for a port).
    service = Service([gunicorn, "--bind", "127.0.0.1:0", "--workers", str(WORKERS), "--threads", "4",
                       "--no-control-socket", "app:create_app()"],
                      tmp_path / "gunicorn.log", probe=ready, name="gunicorn (the controller)", cwd=ROOT, env=env)
    try:
        service.wait_until_ready(60)
        yield found["base"], found["password"]
    finally:
        service.stop()
    password = found.get("password")
    assert password is None or service.output().count(password) == 1, "the admin password was printed more than once"
