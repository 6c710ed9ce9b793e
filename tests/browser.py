"""Fixtures for browser tests: the real controller under gunicorn and headless Debian Chromium via Playwright."""
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]



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


def log_in(page, base: str, password: str) -> None:
    from playwright.sync_api import expect
    page.goto(base + "/login")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="External Repositories")).to_be_visible()
