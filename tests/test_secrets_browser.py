"""A person in headless Chromium manages a secret on the Secrets page of the real controller (gunicorn): creates it,
sees which device setting uses it, replaces the value (never shown back), is told before deleting it that it is in
use (the same message the JSON API gives, in the confirmation dialog), and deletes it once nothing uses it."""
from tests.support.browser import log_in
from tests.support.http_api import HttpApi, make_token

CORE = "thymis_controller.modules.thymis.ThymisDevice"
SECURITY = "thymis_controller.modules.security.SecurityAccessModule"
FIRST = "Brws-first-Qx4-value"
SECOND = "Brws-second-Lm8-value"


def test_secrets_page(controller, page, tmp_path):
    from playwright.sync_api import expect
    base, password = controller
    api = HttpApi(base, make_token(tmp_path / "data"))
    log_in(page, base, password)

    page.get_by_role("link", name="Secrets").first.click()
    expect(page.get_by_role("heading", name="Secrets", exact=True)).to_be_visible()
    expect(page.locator("table.secrets")).to_contain_text("No secrets yet.")
    page.fill("#field-name", "root-pw")
    page.select_option("#field-type", "single_line")
    page.fill("#field-value", FIRST)
    page.get_by_role("button", name="Save secret").click()
    expect(page.get_by_role("heading", name="Secret root-pw")).to_be_visible()
    expect(page.locator("body")).to_contain_text(f"Saved secret root-pw ({len(FIRST)} bytes, encrypted).")
    expect(page.locator("#field-value")).to_have_value("")
    assert FIRST not in page.content()
    expect(page.locator("body")).to_contain_text("No setting chooses this secret.")

    # the same name again: the page says what the JSON API says
    page.goto(base + "/secrets")
    page.fill("#field-name", "root-pw")
    page.fill("#field-value", "whatever")
    page.get_by_role("button", name="Save secret").click()
    status, body = api.call("POST", "/api/secrets", {"name": "root-pw", "type": "single_line", "value": "x"})
    assert status == 409
    expect(page.locator(".error[role=alert]")).to_have_text(body["error"]["message"])
    expect(page.locator("#field-value")).to_have_value("")                 # not even after an error

    # a device's setting chooses it: both pages show where
    status, body = api.call("POST", "/api/devices", {"name": "box", "display_name": "Box", "modules": [
        {"type": CORE, "settings": {"device_name": "box"}},
        {"type": SECURITY, "settings": {"password_secret": "root-pw"}}]})
    assert status == 201, body
    page.goto(base + "/secrets")
    expect(page.locator("#secret-root-pw")).to_contain_text("device box (password_secret)")
    page.locator("#secret-root-pw a").click()
    used = page.locator("li", has_text="module")
    expect(used).to_contain_text(f"device box: module {SECURITY}, setting password_secret")
    expect(used.get_by_role("link", name="box")).to_have_attribute("href", "/devices/box")

    # replace the value: it is never shown back
    page.fill("#field-value", SECOND)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("body")).to_contain_text("Saved secret root-pw.")
    expect(page.locator("body")).to_contain_text(f"{len(SECOND)} bytes")
    expect(page.locator("#field-value")).to_have_value("")
    assert FIRST not in page.content() and SECOND not in page.content()

    # delete while in use: the question says it is refused (the JSON API's message) and offers no Delete
    page.get_by_role("link", name="Delete secret…").click()
    status, body = api.call("DELETE", "/api/secrets/root-pw")
    assert status == 409
    message = body["error"]["message"]
    assert message == (f"secret 'root-pw' is used by device box ({SECURITY}, setting password_secret): choose "
                       "another secret there first")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", level=1)).to_have_text("Secret root-pw is in use")
    expect(dialog.get_by_role("note")).to_have_text(message)
    expect(dialog.locator("ul.affected")).to_have_text(f"device box {SECURITY}: password_secret")
    expect(dialog.get_by_role("link", name="device box")).to_have_attribute("href", "/devices/box")
    expect(dialog.get_by_role("button")).to_have_count(0)
    expect(dialog.get_by_role("link", name="Close")).to_be_focused()
    dialog.get_by_role("link", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", name="Secret root-pw")).to_be_visible()

    # nothing uses it any more: the question lists no use, and Delete deletes
    status, body = api.call("PATCH", "/api/devices/box",
                            {"modules": [{"type": CORE, "settings": {"device_name": "box"}}]})
    assert status == 200, body
    page.reload()
    expect(page.locator("body")).to_contain_text("No setting chooses this secret.")
    page.get_by_role("link", name="Delete secret…").click()
    expect(dialog.get_by_role("heading", level=1)).to_have_text("Delete secret root-pw?")
    expect(dialog.locator(".hint")).to_have_text("none")
    page.keyboard.press("Escape")  # Escape asks nothing and deletes nothing
    expect(dialog).to_be_hidden()
    assert api.call("GET", "/api/secrets/root-pw")[0] == 200
    page.get_by_role("link", name="Delete secret…").click()
    dialog.get_by_role("button", name="Delete secret").click()
    expect(page.locator("body")).to_contain_text("Deleted secret root-pw.")
    expect(page.locator("table.secrets")).to_contain_text("No secrets yet.")
    assert api.call("GET", "/api/secrets/root-pw")[0] == 404
