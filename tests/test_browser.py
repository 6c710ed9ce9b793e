"""A person in headless Chromium: log in, add a repository from the test git server, see it fetched, remove it.

The controller runs as the README runs it: gunicorn 'app:create_app()' in its own process.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.gitserver import git_server  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def controller(tmp_path):
    """The real controller under gunicorn; yields (base_url, admin_password)."""
    port = free_port()
    env = {**os.environ, "THYMIS_PROJECT_PATH": str(tmp_path / "data"), "THYMIS_ALLOW_LOCAL_REPOSITORIES": "1"}
    log = open(tmp_path / "gunicorn.log", "w+")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen([str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
                                "app:create_app()"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        password = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and password is None:
            log.seek(0)
            match = re.search(r"admin password: (\S+)", log.read())
            password = match.group(1) if match else None
            time.sleep(0.1)
        assert password, "gunicorn did not print an admin password:\n" + (tmp_path / "gunicorn.log").read_text()
        yield f"http://127.0.0.1:{port}", password
    finally:
        process.terminate()
        process.wait(10)
        log.seek(0)
        assert password is None or log.read().count(password) == 1, "the admin password was printed more than once"


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.set_default_timeout(30_000)
        yield context.new_page()
        browser.close()


def test_add_fetch_and_remove_a_repository(controller, page, git_server):
    from playwright.sync_api import expect
    base, password = controller
    repo = git_server.make_repo("browser-demo", {"README.md": "This repository contains thymis modules.\n",
                                                 "flake.nix": '{ outputs = { self }: { }; }\n'})
    commit = repo.rev("refs/heads/main")

    page.goto(base + "/repositories")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="External Repositories")).to_be_visible()

    page.fill("#field-url", git_server.url("browser-demo"))
    page.fill("#field-display_name", "Browser Demo")
    page.get_by_role("button", name="Add Repository").click()
    row = page.locator("#repo-browser-demo")
    expect(row).to_contain_text("Browser Demo")
    expect(row.locator(".status")).to_have_text(re.compile("fetched|ready"), timeout=60_000)
    expect(row.locator(".commit")).to_contain_text(commit[:7])

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("link", name="Remove").click()
    expect(page.locator("#repo-browser-demo")).to_have_count(0)
    page.reload()
    expect(page.locator("#repo-browser-demo")).to_have_count(0)
