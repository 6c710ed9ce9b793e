"""Issue 16's fixes 1, 3 and 4 in Chromium: adding modules twice, tag ticks after an error, feedback after changes."""
from tests.support import repo_trees as rb
from tests.support.browser import log_in


def _new(page, base, kinds, display_name, name, button):
    page.goto(f"{base}/{kinds}")
    page.fill("#field-display_name", display_name)
    page.fill("#field-name", name)
    page.get_by_role("button", name=button).click()


def test_second_add_module_adds_another_module_not_a_page_in_the_page(controller, page):
    from playwright.sync_api import expect
    base, password = controller
    log_in(page, base, password)
    _new(page, base, "devices", "Kiosk", "kiosk", "Create device")
    page.select_option("#add-module", label="Custom Nix")
    page.get_by_role("button", name="Add module").click()
    nix = page.locator("#module-thymis_controller-modules-custom_nix-CustomNixModule")
    expect(nix).to_be_visible()
    expect(nix).to_be_focused()  # keyboard focus is on the result of the swap
    expect(page.locator("#add-module option", has_text="Custom Nix")).to_be_disabled()
    page.get_by_role("button", name="Add module").click()
    expect(page.locator("#modules section.module")).to_have_count(2)
    expect(page.locator("header.topbar")).to_have_count(1)
    expect(page.get_by_text("is listed twice")).to_have_count(0)

    nix.get_by_role("link", name="Remove module…").click()  # asks in the page's dialog (not a native confirm)
    page.get_by_role("dialog").get_by_role("button", name="Remove module").click()
    expect(page.locator("p.flash")).to_have_text("Removed module Custom Nix.")
    expect(page.locator("#modules section.module")).to_have_count(1)
    expect(page.locator("#add-module option", has_text="Custom Nix")).to_be_enabled()


def test_a_form_error_keeps_the_ticked_tags(controller, page):
    from playwright.sync_api import expect
    base, password = controller
    log_in(page, base, password)
    _new(page, base, "tags", "Lab", "lab", "Create tag")
    page.goto(base + "/devices")
    page.fill("#field-display_name", "Kiosk")
    page.fill("#field-name", "1-not-an-identifier")
    page.get_by_label("Lab").check()
    page.get_by_role("button", name="Create device").click()
    expect(page.locator("#error-name")).to_be_visible()
    expect(page.get_by_label("Lab")).to_be_checked()
    page.fill("#field-name", "kiosk")
    page.get_by_role("button", name="Create device").click()
    expect(page.get_by_role("heading", name="Kiosk")).to_be_visible()
    expect(page.get_by_label("Lab")).to_be_checked()  # the device was created with its tag


def test_adding_and_removing_a_repository_say_what_happened(controller, page, git_server, tmp_path):
    from playwright.sync_api import expect
    root = rb.valid_repo(tmp_path / "tree")
    git_server.make_repo("said", {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()})
    base, password = controller
    log_in(page, base, password)
    page.goto(base + "/repositories")
    page.fill("#field-url", git_server.url("said"))
    page.fill("#field-display_name", "Said")
    page.get_by_role("button", name="Add Repository").click()
    status = page.locator("#live-status")
    expect(status).to_contain_text("Added Said; fetching it now.")
    expect(page.locator("#repo-said .status")).to_have_text("ready", timeout=60_000)
    expect(status).to_have_text("Said is ready.")  # the fetching message does not outlive the fetch
    page.locator("#repo-said").get_by_role("link", name="Remove").click()  # the one confirmation pattern: a page
    expect(page.get_by_role("heading", name="Devices using its modules")).to_be_visible()
    page.get_by_role("button", name="Remove").click()
    expect(page.locator("#repo-said")).to_have_count(0)
    expect(page.locator(".flash")).to_have_text("Removed Said and its fetched data.")


def test_saving_settings_says_so_and_moves_focus_to_the_message(controller, page):
    from playwright.sync_api import expect
    base, password = controller
    log_in(page, base, password)
    _new(page, base, "devices", "Kiosk", "kiosk", "Create device")
    page.select_option("#add-module", label="Custom Nix")
    page.get_by_role("button", name="Add module").click()
    card = page.locator("#module-thymis_controller-modules-custom_nix-CustomNixModule")
    card.locator("textarea").fill('environment.etc."kiosk".text = "hi";')  # checked at save: it must parse
    card.get_by_role("button", name="Save settings").click()
    expect(card.locator(".flash")).to_have_text("Saved.")
    expect(card.locator(".flash")).to_be_focused()
