"""The pages send a Content-Security-Policy that allows only the controller's own scripts and styles, and work
under it in Chromium: no violation on any page (the ``page`` fixture fails on one), htmx and the copy button run."""
import re

from tests.support.browser import log_in
from views import CONTENT_SECURITY_POLICY

PAGES = ["/login", "/", "/devices", "/tags", "/modules", "/devices/csp-dev", "/tags/csp-tag"]


def test_the_policy_allows_only_own_scripts_and_styles(client):
    for path in ("/login", "/", "/modules", "/api/repositories"):
        policy = client.get(path).headers["Content-Security-Policy"]
        assert policy == CONTENT_SECURITY_POLICY
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["script-src"] == directives["style-src"] == "'self'" and directives["default-src"] == "'none'"


def test_pages_work_under_the_policy_and_inline_code_is_blocked(controller, page):
    from playwright.sync_api import expect
    base, password = controller
    log_in(page, base, password)
    for kinds, name in (("devices", "csp-dev"), ("tags", "csp-tag")):
        page.goto(f"{base}/{kinds}")
        page.fill("#field-display_name", name.upper())
        page.fill("#field-name", name)
        page.get_by_role("button", name=f"Create {kinds[:-1]}").click()
        expect(page.locator("body")).to_contain_text(name.upper())
    for path in PAGES[1:]:
        response = page.goto(base + path)
        assert response.status == 200, path
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert page.evaluate("typeof htmx") == "object", path  # the controller's own script runs
        assert page.evaluate("getComputedStyle(document.querySelector('header')).display") == "flex", path
    # The policy is in force: an injected inline script does not run, and Chromium reports it.
    page.evaluate("const s = document.createElement('script'); s.textContent = 'window.injected = 1';"
                  "document.body.appendChild(s)")
    assert page.evaluate("window.injected") is None
    page.wait_for_timeout(200)
    assert any(re.search(r"inline script", v) for v in page.csp_violations), page.csp_violations
    page.csp_violations.clear()
