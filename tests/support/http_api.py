"""A small JSON client for the real controller under gunicorn (tests/support/controller.py): a bearer token
made in its database, urllib requests, (status, body) answers."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path


def make_token(data_dir: Path, name: str = "tests") -> str:
    """An API token in the controller's database (the test process opens it like the CLI would)."""
    from auth.tokens import create_token
    from models import database, open_database
    open_database(data_dir / "controller.sqlite3")
    with database.connection_context():
        return create_token(name)


class HttpApi:
    def __init__(self, base_url: str, token: str):
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None, timeout: float = 30) -> tuple[int, object]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {**self.headers, **({"Content-Type": "application/json"} if data is not None else {})}
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                text = response.read().decode()
                status = response.status
        except urllib.error.HTTPError as error:
            text, status = error.read().decode(), error.code
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def get(self, path: str):
        return self.call("GET", path)

    def post(self, path: str, body: dict | None = None):
        return self.call("POST", path, body if body is not None else {})

    def wait(self, path: str, check, timeout: float = 60, what: str = "") -> object:
        deadline = time.monotonic() + timeout
        body = None
        while time.monotonic() < deadline:
            status, body = self.get(path)
            if status == 200 and check(body):
                return body
            time.sleep(0.2)
        raise AssertionError(f"{what or path} not reached in {timeout} s: {body}")
