"""Headless Debian Chromium through Playwright: the ``page`` fixture and ``log_in``.

Every browser test also checks that no page broke the Content-Security-Policy (Chromium reports each blocked
inline script, style or handler on the console)."""
from __future__ import annotations

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture
def page():
    """A Chromium page; the test fails if any page broke the Content-Security-Policy (``page.csp_violations``)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.set_default_timeout(30_000)
        page = context.new_page()
        page.csp_violations = []
        page.on("console", lambda message: page.csp_violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        yield page
        browser.close()
    assert page.csp_violations == [], "the pages broke their Content-Security-Policy"


def log_in(page, base: str, password: str) -> None:
    from playwright.sync_api import expect
    page.goto(base + "/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()  # the landing page
    page.goto(base + "/repositories")  # where the tests start
    expect(page.get_by_role("heading", name="External Repositories")).to_be_visible()
