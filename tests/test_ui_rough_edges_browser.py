"""Issue 16's rough edges in Chromium: favicon, dark mode kept in the session, styled number box, readable values,
a URL that is not one."""
from tests.support.browser import log_in

MAIN_PAGES = ["/repositories", "/devices", "/tags", "/modules", "/known-hosts", "/import"]
DARK_BACKGROUND = "rgb(18, 21, 27)"


def test_main_pages_load_without_404s_or_console_errors(controller, page):
    base, password = controller
    failures, errors = [], []
    page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, password)
    for path in MAIN_PAGES:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
    assert page.request.get(base + "/favicon.ico").status == 200
    assert failures == [] and errors == []


def test_dark_mode_follows_the_browser_and_the_toggle_is_kept(controller, page):
    from playwright.sync_api import expect
    base, password = controller
    log_in(page, base, password)
    background = "getComputedStyle(document.body).backgroundColor"
    assert page.evaluate(background) == "rgb(246, 247, 251)"
    page.emulate_media(color_scheme="dark")
    assert page.evaluate(background) == DARK_BACKGROUND  # auto follows prefers-color-scheme
    page.emulate_media(color_scheme="light")
    page.goto(base + "/tags")
    page.get_by_role("button", name="Theme: auto").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page).to_have_url(base + "/tags")  # back on the same page
    page.goto(base + "/devices")
    assert page.evaluate(background) == DARK_BACKGROUND  # kept in the session, though the browser is light
    page.get_by_role("button", name="Theme: dark").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    page.emulate_media(color_scheme="dark")
    assert page.evaluate(background) == "rgb(246, 247, 251)"


def test_priority_box_is_styled_and_values_are_readable(controller, page):
    from playwright.sync_api import expect
    base, password = controller
    log_in(page, base, password)
    page.goto(base + "/tags")
    priority = page.locator("#field-priority")
    assert priority.evaluate("e => getComputedStyle(e).borderRadius") == "4px"
    assert priority.evaluate("e => getComputedStyle(e).borderTopColor") == "rgb(197, 202, 214)"

    page.goto(base + "/devices")
    page.fill("#field-display_name", "Kiosk")
    page.fill("#field-name", "kiosk")
    page.get_by_role("button", name="Create device").click()
    page.select_option("#add-module", label="SSH & Users")
    page.get_by_role("button", name="Add module").click()
    card = page.locator("#module-thymis_controller-modules-access-SSHAccess")
    card.get_by_role("button", name="Add key").click()
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheTest op@lab"
    card.locator("[name='s.authorized_keys.0.key']").fill(key)
    card.get_by_role("button", name="Save settings").click()
    expect(card.locator(".flash")).to_have_text("Saved.")
    row = page.locator("#effective tr", has_text="Authorized keys")
    expect(row.locator("ul.values li")).to_have_count(1)
    expect(row).to_contain_text("op@lab")
    expect(row).not_to_contain_text("[{")


def test_words_instead_of_a_url_are_told_so(controller, page):
    from playwright.sync_api import expect
    base, password = controller
    log_in(page, base, password)
    page.goto(base + "/repositories")
    page.fill("#field-url", "not a url at all")
    page.fill("#field-display_name", "Words")
    page.get_by_role("button", name="Add Repository").click()
    expect(page.locator("#error-url")).to_contain_text("is not a repository URL")
