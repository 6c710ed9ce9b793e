"""Fixtures for browser tests: the real controller under gunicorn and headless Debian Chromium via Playwright."""
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]



@pytest.fixture
def controller(tmp_path):
    """The real controller under gunicorn; yields (base_url, admin_password)."""
    env = {**os.environ, "THYMIS_PROJECT_PATH": str(tmp_path / "data"), "THYMIS_ALLOW_LOCAL_REPOSITORIES": "1"}
    log = open(tmp_path / "gunicorn.log", "w+")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    # Port 0: the kernel picks a free port and gunicorn logs it (no race with other tests for a port).
    process = subprocess.Popen([str(gunicorn), "--bind", "127.0.0.1:0", "--workers", "2", "--threads", "4",
                                "--no-control-socket", "app:create_app()"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        password = base = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (password is None or base is None):
            log.seek(0)
            text = log.read()
            password = next(iter(re.findall(r"admin password: (\S+)", text)), None)
            base = next(iter(re.findall(r"Listening at: (http://127\.0\.0\.1:\d+)", text)), None)
            time.sleep(0.1)
        assert password and base, "gunicorn did not start:\n" + (tmp_path / "gunicorn.log").read_text()
        yield base, password
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
