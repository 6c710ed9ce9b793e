"""In Chromium at 1280 and 390 px, light and dark: every main page fits its width (tables scroll inside their box),
the navigation folds behind Menu on a phone, nothing logs a console error or a 404."""
import pytest

from tests.support.browser import log_in

MAIN_PAGES = ["/", "/repositories", "/devices", "/tags", "/modules", "/jobs", "/known-hosts", "/import",
              "/devices/kiosk-with-a-long-identifier", "/tags/lab"]


def _seed(page, base, git_server, name):
    git_server.make_repo(name, {"README.md": "no marker here\n"})  # fails validation: a long reason shown
    page.goto(base + "/repositories")
    page.fill("#field-url", git_server.url(name))
    page.fill("#field-ref", "main-with-a-rather-long-branch-name-for-the-layout-test")
    page.fill("#field-display_name", "A repository with quite a long display name")
    page.get_by_role("button", name="Add Repository").click()
    page.get_by_role("button", name="Add anyway").click()  # the remote has no such branch: Add asks first
    page.locator(".status").first.wait_for()
    page.goto(base + "/tags")
    page.fill("#field-display_name", "Lab")
    page.fill("#field-name", "lab")
    page.get_by_role("button", name="Create tag").click()
    page.goto(base + "/devices")
    page.fill("#field-display_name", "Kiosk")
    page.fill("#field-name", "kiosk-with-a-long-identifier")
    page.get_by_role("button", name="Create device").click()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_main_pages_fit_at_phone_and_desktop_width(controller, page, git_server, scheme):
    from playwright.sync_api import expect
    base, password = controller
    problems = []
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.emulate_media(color_scheme=scheme)
    log_in(page, base, password)
    _seed(page, base, git_server, f"layout-{scheme}")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for path in MAIN_PAGES:
            page.goto(base + path)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, f"{path} is {wide} px wide at {width} px ({scheme})"
    logout = page.get_by_role("button", name="Log out")
    expect(logout).to_be_hidden()  # 390 px: the navigation is folded
    page.get_by_text("Menu", exact=True).click()
    expect(logout).to_be_visible()
    expect(page.get_by_role("link", name="Known hosts")).to_be_visible()
    assert problems == []
