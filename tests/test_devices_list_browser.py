"""In Chromium at 1280 px (light) and 390 px (dark): the devices list shows each device's tags (each a link to the
devices with that tag) and its last deploy's state and time; builds do not count as deploys."""
import sqlite3

import pytest

from tests.support.browser import log_in


def _record(tmp_path, device: str, kind: str, state: str, when: str) -> None:
    """A deployment as the deploy job records it (written to the controller's database)."""
    with sqlite3.connect(tmp_path / "data" / "controller.sqlite3") as db:
        (device_id,) = db.execute("SELECT id FROM device WHERE name = ?", (device,)).fetchone()
        db.execute("INSERT INTO deployment (device_id, device_name, kind, state, started_at) VALUES (?, ?, ?, ?, ?)",
                   (device_id, device, kind, state, when))


@pytest.mark.parametrize("width,scheme", [(1280, "light"), (390, "dark")])
def test_devices_list_shows_tags_and_last_deploy(controller, page, tmp_path, width, scheme):
    from playwright.sync_api import expect
    base, password = controller
    page.emulate_media(color_scheme=scheme)
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, base, password)
    for display, name in (("Lab", "lab"), ("Office", "office")):
        page.goto(base + "/tags")
        page.fill("#field-display_name", display)
        page.fill("#field-name", name)
        page.get_by_role("button", name="Create tag").click()
    for display, name, tags in (("Kiosk", "kiosk", ["Lab", "Office"]), ("Spare", "spare", [])):
        page.goto(base + "/devices")
        page.fill("#field-display_name", display)
        page.fill("#field-name", name)
        for tag in tags:
            page.get_by_label(tag).check()
        page.get_by_role("button", name="Create device").click()
    _record(tmp_path, "kiosk", "deploy", "succeeded", "2024-05-01 10:00:00")
    _record(tmp_path, "kiosk", "deploy", "failed", "2024-05-02 11:30:00")
    _record(tmp_path, "kiosk", "build", "succeeded", "2024-05-03 09:00:00")  # a build does not change the device

    page.goto(base + "/devices")
    kiosk = page.locator("tr", has=page.get_by_role("link", name="Kiosk", exact=True))
    expect(kiosk.locator("td.tags a")).to_have_text(["Lab", "Office"])
    expect(kiosk.locator("td.last-deploy .status")).to_have_text("failed")
    expect(kiosk.locator("td.last-deploy time")).to_have_text("2024-05-02 11:30 UTC")
    spare = page.locator("tr", has=page.get_by_role("link", name="Spare", exact=True))
    expect(spare.locator("td.tags")).to_have_text("none")
    expect(spare.locator("td.last-deploy")).to_have_text("never deployed")
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    kiosk.get_by_role("link", name="Lab").click()  # the tag's devices
    expect(page).to_have_url(base + "/devices?tag=lab")
    expect(page.locator("#config-list tbody tr")).to_have_count(1)
    expect(page.locator("#config-list tbody tr")).to_contain_text("Kiosk")
