"""One confirmation pattern: with htmx the question opens in the page's dialog, without JavaScript it is a page; no
native confirm() anywhere. Removing a module asks like Deploy and repository removal do."""
from pathlib import Path

import pytest

from tests.support.browser import log_in

ROOT = Path(__file__).resolve().parents[1]
CUSTOM_NIX = "#module-thymis_controller-modules-custom_nix-CustomNixModule"


def test_no_page_uses_a_native_confirm():
    texts = {p: p.read_text() for p in [*(ROOT / "templates").rglob("*.html"), ROOT / "static" / "app.js"]}
    assert [str(p) for p, text in texts.items() if "hx-confirm" in text or "confirm(" in text] == []


def _device_with_module(page, base):
    page.goto(base + "/tags")
    page.fill("#field-display_name", "Lab")
    page.fill("#field-name", "lab")
    page.get_by_role("button", name="Create tag").click()
    page.goto(base + "/devices")
    page.fill("#field-display_name", "Kiosk")
    page.fill("#field-name", "kiosk")
    page.get_by_label("Lab").check()
    page.get_by_role("button", name="Create device").click()
    page.select_option("#add-module", label="Custom Nix")
    page.get_by_role("button", name="Add module").click()


@pytest.mark.parametrize("width,scheme", [(1280, "light"), (390, "dark")])
def test_removing_a_module_asks_in_the_dialog(controller, page, width, scheme):
    from playwright.sync_api import expect
    base, password = controller
    native = []
    page.on("dialog", lambda dialog: (native.append(dialog.message), dialog.dismiss()))
    page.emulate_media(color_scheme=scheme)
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, base, password)
    _device_with_module(page, base)
    card = page.locator(CUSTOM_NIX)
    expect(card).to_be_visible()

    card.get_by_role("link", name="Remove module…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", level=1)).to_have_text("Remove Custom Nix from Kiosk?")
    expect(dialog.locator("ul.affected")).to_have_text("Kiosk kiosk")
    expect(dialog.get_by_role("button", name="Remove module")).to_be_focused()
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(card).to_be_visible()  # nothing removed

    card.get_by_role("link", name="Remove module…").click()
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert page.url.endswith("/devices/kiosk")

    card.get_by_role("link", name="Remove module…").click()
    dialog.get_by_role("button", name="Remove module").click()
    expect(page.locator("p.flash")).to_have_text("Removed module Custom Nix.")
    expect(page.locator(CUSTOM_NIX)).to_have_count(0)

    page.goto(base + "/tags/lab")  # a tag's module lists the devices it leaves
    page.select_option("#add-module", label="Custom Nix")
    page.get_by_role("button", name="Add module").click()
    page.locator(CUSTOM_NIX).get_by_role("link", name="Remove module…").click()
    expect(dialog.locator("ul.affected")).to_have_text("Kiosk kiosk")
    assert native == []


def test_without_javascript_the_question_is_a_page(controller, page):
    from playwright.sync_api import expect
    base, password = controller
    log_in(page, base, password)
    _device_with_module(page, base)
    expect(page.locator(CUSTOM_NIX)).to_be_visible()
    context = page.context.browser.new_context(java_script_enabled=False, storage_state=page.context.storage_state())
    plain = context.new_page()
    plain.goto(base + "/devices/kiosk")
    plain.locator(CUSTOM_NIX).get_by_role("link", name="Remove module…").click()
    assert plain.url.endswith("/devices/kiosk/modules/thymis_controller.modules.custom_nix.CustomNixModule/remove")
    expect(plain.get_by_role("heading", name="Remove Custom Nix from Kiosk?")).to_be_visible()
    plain.get_by_role("button", name="Remove module").click()
    expect(plain.locator("p.flash")).to_have_text("Removed module Custom Nix.")
    expect(plain.locator(CUSTOM_NIX)).to_have_count(0)
    plain.get_by_role("link", name="Delete device…").click()
    expect(plain.get_by_role("heading", name="Delete Kiosk?")).to_be_visible()
    plain.get_by_role("button", name="Delete").click()
    expect(plain.get_by_role("heading", name="Devices")).to_be_visible()
    context.close()
