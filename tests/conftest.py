"""Shared fixtures: a controller app on a temporary data folder, a logged-in browser session, an API token."""
from __future__ import annotations

import os
import re
import time

import pytest

from tests.support import openapi_check

# The shared fixtures (git servers, sshd, the controller, the browser, nix stand-ins): see tests/support/.
pytest_plugins = [
    "tests.support.gitserver",
    "tests.support.sshd",
    "tests.support.nix",
    "tests.support.deploy",
    "tests.support.controller",
    "tests.support.browser",
    "tests.support.gpg",
]

# Real nix runs offline here: no binary cache to ask, flakes enabled.
os.environ.setdefault("NIX_CONFIG", "experimental-features = nix-command flakes\nsubstituters =\n")


@pytest.fixture(autouse=True)
def fresh_login_throttle():
    """Failed logins of one test must not count against the next (the throttle lives in the process)."""
    from auth.throttle import login_throttle
    login_throttle._failures.clear()
    yield


@pytest.fixture
def announced():
    """Collects the admin passwords the app prints on first start."""
    return []


@pytest.fixture
def app_factory(tmp_path, announced):
    from app import create_app
    apps = []

    def make(**config):
        values = {"project_path": tmp_path / "data", "allow_local_repositories": True,
                  "announce_password": announced.append, "fetch_connect_timeout": 5.0, "fetch_transfer_timeout": 8.0,
                  # No device build may reach for the real nixpkgs (the network): tests name a stand-in.
                  "thymis_flake_url": ""}
        values.update(config)
        app = create_app(values)
        app.config["TESTING"] = True
        openapi_check.install(app)  # every response the tests get is checked against /api/openapi.json
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["jobs"].stop()


@pytest.fixture
def app_config():
    """Extra settings for the `app` fixture; a test module overrides this fixture to change them."""
    return {}


@pytest.fixture
def app(app_factory, app_config):
    return app_factory(**app_config)


@pytest.fixture
def admin_password(app, announced):
    return announced[0]


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


def login(client, password: str):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"username": "admin", "password": password, "csrf_token": csrf_from(page)})


@pytest.fixture
def client(app, admin_password):
    """A browser-like client that has logged in; .csrf holds its form token."""
    client = app.test_client()
    response = login(client, admin_password)
    assert response.status_code == 302
    client.csrf = csrf_from(client.get("/repositories").get_data(as_text=True))
    return client


@pytest.fixture
def token(app):
    from auth.tokens import create_token
    from models import database
    with database.connection_context():
        return create_token("tests")


@pytest.fixture
def api(app, token):
    """A curl-like client: JSON with a bearer token, no cookies."""
    class Api:
        def __init__(self):
            self.client = app.test_client(use_cookies=False)
            self.headers = {"Authorization": f"Bearer {token}"}

        def __getattr__(self, method):
            def call(path, **kwargs):
                return getattr(self.client, method)(path, headers=self.headers, **kwargs)
            return call

    return Api()


def wait_for_job(api, job_id: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.get(f"/api/jobs/{job_id}").get_json()
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s: {job}")
