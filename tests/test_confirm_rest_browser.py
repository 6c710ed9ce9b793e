"""The confirmation pattern on the actions that still acted at once: deleting a secret (it lists where the secret
is used and says before that a secret in use is refused) and rolling back to a generation; with htmx in the
page's dialog, without JavaScript a page of its own."""
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
