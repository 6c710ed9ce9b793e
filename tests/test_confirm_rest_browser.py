"""The confirmation pattern on the actions that still acted at once: deleting a secret (it lists where the secret
is used and says before that a secret in use is refused) and rolling back to a generation; with htmx in the
page's dialog, without JavaScript a page of its own."""
import os

import pytest

from tests.support.browser import log_in
from tests.support.http_api import HttpApi, make_token

CORE = "thymis_controller.modules.thymis.ThymisDevice"
SECURITY = "thymis_controller.modules.security.SecurityAccessModule"


def _plain(page):
    """A second page of the same session with JavaScript off."""
    context = page.context.browser.new_context(java_script_enabled=False, storage_state=page.context.storage_state())
    return context, context.new_page()


def test_deleting_a_secret_without_javascript_asks_on_a_page(controller, page, tmp_path):
    from playwright.sync_api import expect
    base, password = controller
    api = HttpApi(base, make_token(tmp_path / "data"))
    assert api.call("POST", "/api/secrets", {"name": "root-pw", "type": "single_line", "value": "Nojs-Kq2-v"})[0] == 201
    status, body = api.call("POST", "/api/devices", {"name": "box", "display_name": "Box", "modules": [
        {"type": CORE, "settings": {"device_name": "box"}},
        {"type": SECURITY, "settings": {"password_secret": "root-pw"}}]})
    assert status == 201, body
    log_in(page, base, password)
    context, plain = _plain(page)

    plain.goto(base + "/secrets/root-pw")
    plain.get_by_role("link", name="Delete secret…").click()
    assert plain.url == base + "/secrets/root-pw/delete"
    expect(plain.get_by_role("heading", name="Secret root-pw is in use")).to_be_visible()
    expect(plain.get_by_role("note")).to_have_text(
        f"secret 'root-pw' is used by device box ({SECURITY}, setting password_secret): choose another secret "
        "there first")
    expect(plain.locator("ul.affected")).to_have_text(f"device box {SECURITY}: password_secret")
    expect(plain.locator("main").get_by_role("button")).to_have_count(0)
    plain.get_by_role("link", name="Close").click()
    assert plain.url == base + "/secrets/root-pw"
    assert api.call("GET", "/api/secrets/root-pw")[0] == 200

    unused = {"modules": [{"type": CORE, "settings": {"device_name": "box"}}]}
    assert api.call("PATCH", "/api/devices/box", unused)[0] == 200
    plain.get_by_role("link", name="Delete secret…").click()
    expect(plain.get_by_role("heading", name="Delete secret root-pw?")).to_be_visible()
    plain.get_by_role("link", name="Cancel").click()
    assert plain.url == base + "/secrets/root-pw"
    assert api.call("GET", "/api/secrets/root-pw")[0] == 200
    plain.get_by_role("link", name="Delete secret…").click()
    plain.get_by_role("button", name="Delete secret").click()
    expect(plain.locator("p.flash")).to_have_text("Deleted secret root-pw.")
    assert api.call("GET", "/api/secrets/root-pw")[0] == 404
    context.close()


OLD, NOW = "/nix/store/" + "a" * 32 + "-nixos-system-old", "/nix/store/" + "b" * 32 + "-nixos-system-now"
OLD_TIME, NOW_TIME = 1714557600, 1714649400  # 2024-05-01 10:00 and 2024-05-02 11:30 UTC


@pytest.fixture
def controller_env(tmp_path):
    """The controller's local profile: generation 1 (OLD) and 2 (NOW, current), as nix-env leaves them."""
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    for number, path, when in ((1, OLD, OLD_TIME), (2, NOW, NOW_TIME)):
        link = profiles / f"system-{number}-link"
        link.symlink_to(path)
        os.utime(link, (when, when), follow_symlinks=False)
    (profiles / "system").symlink_to("system-2-link")
    return {"THYMIS_SYSTEM_PROFILE": str(profiles / "system")}


def _local_device(api):
    status, body = api.call("POST", "/api/devices", {"name": "kiosk", "display_name": "Kiosk", "target": "local"})
    assert status == 201, body


def test_rolling_back_asks_in_the_dialog(controller, page, tmp_path):
    from playwright.sync_api import expect
    base, password = controller
    api = HttpApi(base, make_token(tmp_path / "data"))
    _local_device(api)
    log_in(page, base, password)
    page.goto(base + "/devices/kiosk")
    older = page.locator("table.generations tr[data-generation='1']")
    expect(page.locator("table.generations tr[data-generation='2']").get_by_role("link")).to_have_count(0)
    older.get_by_role("link", name="Roll back to generation 1…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", level=1)).to_have_text("Roll back Kiosk to generation 1?")
    profile = tmp_path / "profiles" / "system"
    expect(dialog.locator("p").first).to_have_text(
        "This switches local back to generation 1 of 2024-05-01 10:00 UTC: it becomes the current generation of "
        f"{profile}; the others stay and can be switched back to.")
    groups = dialog.locator("ul.affected")
    expect(groups.nth(0)).to_have_text("Kiosk (local) kiosk")
    expect(groups.nth(1)).to_have_text(f"generation 1 of 2024-05-01 10:00 UTC {OLD}")
    expect(groups.nth(2)).to_have_text(f"generation 2 of 2024-05-02 11:30 UTC {NOW}")
    expect(dialog.get_by_role("button", name="Roll back")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    older.get_by_role("link", name="Roll back to generation 1…").click()
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert api.call("GET", "/api/jobs?kind=rollback")[1] == []  # asking started nothing
    assert os.readlink(profile) == "system-2-link"

    older.get_by_role("link", name="Roll back to generation 1…").click()
    dialog.get_by_role("button", name="Roll back").click()
    expect(page.locator("p.flash")).to_contain_text("Started rollback (job ")
    (job,) = api.call("GET", "/api/jobs?kind=rollback")[1]
    assert job["subject"] == "kiosk"


def test_rolling_back_without_javascript_asks_on_a_page(controller, page, tmp_path):
    from playwright.sync_api import expect
    base, password = controller
    api = HttpApi(base, make_token(tmp_path / "data"))
    _local_device(api)
    log_in(page, base, password)
    context, plain = _plain(page)
    plain.goto(base + "/devices/kiosk")
    plain.get_by_role("link", name="Show the generations").click()  # without JavaScript: the list's own page
    plain.get_by_role("link", name="Roll back to generation 1…").click()
    assert plain.url == base + "/devices/kiosk/rollback?generation=1"
    expect(plain.get_by_role("heading", name="Roll back Kiosk to generation 1?")).to_be_visible()
    expect(plain.locator("ul.affected").nth(1)).to_contain_text(OLD)
    plain.get_by_role("link", name="Cancel").click()
    assert plain.url == base + "/devices/kiosk"
    assert api.call("GET", "/api/jobs?kind=rollback")[1] == []
    plain.goto(base + "/devices/kiosk/rollback?generation=9")  # not one of its generations: refused there
    expect(plain.get_by_role("note")).to_have_text(
        f"generation 9 is not a generation of {tmp_path / 'profiles' / 'system'} on local (it has: 1, 2)")
    expect(plain.locator("main").get_by_role("button")).to_have_count(0)
    plain.goto(base + "/devices/kiosk/rollback?generation=2")
    expect(plain.get_by_role("note")).to_have_text(
        "generation 2 is what runs now on local: there is nothing to roll back")
    plain.goto(base + "/devices/kiosk/rollback?generation=1")
    plain.get_by_role("button", name="Roll back").click()
    expect(plain.locator("p.flash")).to_contain_text("Started rollback (job ")
    assert [j["subject"] for j in api.call("GET", "/api/jobs?kind=rollback")[1]] == ["kiosk"]
    context.close()
