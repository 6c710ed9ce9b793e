"""A person in headless Chromium composes a device from a tag that uses an external repository's module."""
from pathlib import Path

from tests.support import repo_trees as rb
from tests.support.browser import log_in


def test_tag_with_external_module_applies_to_device(controller, page, git_server, tmp_path):
    from playwright.sync_api import expect
    root = rb.valid_repo(tmp_path / "tree")
    git_server.make_repo("browser-modules", {str(p.relative_to(root)): p.read_text()
                                             for p in root.rglob("*") if p.is_file()})
    base, password = controller
    log_in(page, base, password)

    page.fill("#field-url", git_server.url("browser-modules"))
    page.fill("#field-display_name", "Lab modules")
    page.get_by_role("button", name="Add Repository").click()
    expect(page.locator("#repo-lab-modules .status")).to_have_text("ready", timeout=60_000)
    expect(page.locator("#repo-lab-modules .chip")).to_have_count(2)

    page.goto(base + "/tags")
    page.fill("#field-display_name", "Lab")
    page.fill("#field-name", "lab")
    page.get_by_role("button", name="Create tag").click()
    page.select_option("#add-module", label="Greeter")
    page.get_by_role("button", name="Add module").click()
    card = page.locator("#module-demo_modules-modules-Greeter")
    expect(card).to_be_visible()
    card.locator("[name='s.greeting']").fill("moin from the lab")
    card.locator("[name='s.level']").select_option("high")
    card.locator("[name='s.port']").fill("99999999999999999999")
    card.get_by_role("button", name="Save settings").click()
    expect(card.locator(".field-error")).to_have_text("Port is too large")
    expect(card.locator("[name='s.greeting']")).to_have_value("moin from the lab")
    card.locator("[name='s.port']").fill("9090")
    card.get_by_role("button", name="Save settings").click()
    expect(card.locator(".flash")).to_have_text("Saved.")

    page.goto(base + "/devices")
    page.fill("#field-display_name", "Kiosk")
    page.fill("#field-name", "kiosk")
    page.get_by_label("Lab").check()
    page.get_by_role("button", name="Create device").click()
    effective = page.locator("#effective")
    expect(effective).to_contain_text("Greeter")
    row = effective.locator("tr", has_text="Greeting")
    expect(row).to_contain_text('"moin from the lab"')
    expect(row).to_contain_text("tag lab")
    expect(effective.locator("tr", has_text="Port")).to_contain_text("9090")
    page.screenshot(path=str(Path(tmp_path) / "device.png"), full_page=True)
