"""In Chromium at 1280 px (light) and 390 px (dark): keyboard focus after the main htmx swaps is on their result:
add module, save settings (and a refused save), test connection, a filtered or paged list (while typing in the
filter the focus stays in the field)."""
import pytest

from tests.support.browser import log_in

CUSTOM_NIX = "#module-thymis_controller-modules-custom_nix-CustomNixModule"


def _device(page, base, display_name, name):
    page.goto(base + "/devices")
    page.fill("#field-display_name", display_name)
    page.fill("#field-name", name)
    page.get_by_role("button", name="Create device").click()


@pytest.mark.parametrize("width,scheme", [(1280, "light"), (390, "dark")])
def test_focus_lands_on_the_result_of_each_swap(controller, page, git_server, width, scheme):
    from playwright.sync_api import expect
    base, password = controller
    page.emulate_media(color_scheme=scheme)
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, base, password)

    _device(page, base, "Kiosk", "kiosk")
    page.select_option("#add-module", label="Custom Nix")
    page.get_by_role("button", name="Add module").click()
    card = page.locator(CUSTOM_NIX)
    expect(card).to_be_focused()  # add module: the new card
    card.locator("textarea").fill("not nix at all {")
    card.get_by_role("button", name="Save settings").click()
    expect(card.locator("p.error")).to_be_focused()  # a refused save: its reason
    card.locator("textarea").fill('environment.etc."kiosk".text = "hi";')
    card.get_by_role("button", name="Save settings").click()
    expect(card.locator("p.flash")).to_have_text("Saved.")
    expect(card.locator("p.flash")).to_be_focused()  # save settings: the confirmation

    name = git_server.new_name("focus")
    git_server.make_repo(name, {"README.md": "x\n"})
    page.goto(base + "/repositories")
    page.fill("#field-url", git_server.url(name))
    page.fill("#field-display_name", "Focus")
    page.get_by_role("button", name="Add Repository").click()
    page.locator("#repo-focus").get_by_role("link", name="Edit").click()
    page.get_by_role("button", name="Test connection").click()
    result = page.locator("#connection-result p").first
    expect(result).to_contain_text("Connected: refs/heads/main")
    expect(result).to_be_focused()  # test connection: its outcome

    _device(page, base, "Kiosk two", "kiosk-two")
    _device(page, base, "Spare", "spare")
    page.goto(base + "/devices?per_page=1")
    page.get_by_role("link", name="Next →").click()
    listing = page.locator("#config-list")
    expect(listing).to_contain_text("kiosk-two")
    expect(listing).to_be_focused()  # a page of the list: the list
    page.fill("#filter-q", "spa")  # as you type: the list follows, the focus stays in the field
    expect(listing.locator("tbody tr")).to_have_count(1)
    expect(listing).to_contain_text("spare")
    expect(page.locator("#filter-q")).to_be_focused()
    page.locator("#filter-q").press("Enter")  # asked for: the results
    expect(page.locator("#config-list")).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
