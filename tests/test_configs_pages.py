"""Devices and Tags pages: generated settings forms, with and without htmx, errors next to the field."""
import html

from thymis_controller.modules.thymis import ThymisDevice

CORE = "thymis_controller.modules.thymis.ThymisDevice"
STATE_DEFAULT = ThymisDevice.nix_state_version.default  # stored when the core module is added
SSH = "thymis_controller.modules.access.SSHAccess"


def post(client, path, data, htmx=False):
    return client.post(path, data={**data, "csrf_token": client.csrf}, headers={"HX-Request": "true"} if htmx else {})


def text(response):
    return html.unescape(response.get_data(as_text=True))


def test_create_device_from_the_form_and_errors_keep_input(client, api):
    bad = post(client, "/devices", {"display_name": "Kiosk", "name": "1kiosk", "target": "local", "tags-present": "1"})
    assert bad.status_code == 422
    assert "must start with a letter" in text(bad) and 'value="Kiosk"' in text(bad)
    good = post(client, "/devices", {"display_name": "Kiosk", "name": "kiosk", "target": "local", "tags-present": "1"})
    assert good.status_code == 302 and good.headers["Location"].endswith("/devices/kiosk")
    assert api.get("/api/devices/kiosk").get_json()["display_name"] == "Kiosk"


def test_add_module_with_htmx_inserts_its_generated_form(client, api):
    post(client, "/devices", {"display_name": "D", "name": "d", "target": "local"})
    card = post(client, "/devices/d/modules", {"type": SSH}, htmx=True)
    body = text(card)
    assert card.status_code == 200 and card.headers["HX-Trigger"] == "config-changed"
    assert body.lstrip().startswith('<section class="card module"')
    raw = card.get_data(as_text=True)  # not escaped as text: the card and the out-of-band picker are HTML
    assert raw.lstrip().startswith('<section class="card module"')
    assert '<section class="card" id="add-module-section" hx-swap-oob="true">' in raw
    assert 'type="checkbox" name="s.ssh_enable"' in body            # bool -> checkbox
    assert 'name="s.authorized_keys.count"' in body                 # list -> editable rows
    page = text(client.get("/devices/d"))
    assert "SSH &amp; Users" not in page and "SSH & Users" in page
    assert f'<option value="{SSH}" disabled' in page                 # each module once


def test_settings_save_validate_and_list_rows(client, api):
    post(client, "/devices", {"display_name": "D", "name": "d", "target": "local"})
    post(client, "/devices/d/modules", {"type": CORE})
    url = f"/devices/d/modules/{CORE}"
    bad = post(client, url, {"s.device_type": "toaster", "s.device_name": "kiosk"}, htmx=True)
    assert bad.status_code == 422
    assert "Device Type must be one of" in text(bad)
    assert 'value="kiosk"' in text(bad)                              # typed values survive the error
    # the state version is pinned when the core module is added
    assert api.get("/api/devices/d").get_json()["modules"][0]["settings"] == {"nix_state_version": STATE_DEFAULT}
    ok = post(client, url, {"s.device_type": "raspberry-pi-4", "s.device_name": "kiosk", "action": "save"}, htmx=True)
    assert ok.status_code == 200 and "Saved." in text(ok)
    assert api.get("/api/devices/d").get_json()["modules"][0]["settings"] == {
        "device_type": "raspberry-pi-4", "device_name": "kiosk"}

    post(client, "/devices/d/modules", {"type": SSH})
    ssh_url = f"/devices/d/modules/{SSH}"
    with_row = post(client, ssh_url, {"s.authorized_keys.count": "0", "action": "add-row:authorized_keys"}, htmx=True)
    assert 'name="s.authorized_keys.0.key"' in text(with_row)
    assert api.get("/api/devices/d").get_json()["modules"][1]["settings"] == {}   # adding a row saves nothing


def test_without_javascript_settings_post_redirects(client, api):
    post(client, "/devices", {"display_name": "D", "name": "d", "target": "local"})
    assert post(client, "/devices/d/modules", {"type": CORE}).status_code == 302
    saved = post(client, f"/devices/d/modules/{CORE}", {"s.device_name": "plain", "action": "save"})
    assert saved.status_code == 302
    assert api.get("/api/devices/d").get_json()["modules"][0]["settings"] == {"device_name": "plain"}
    bad = post(client, f"/devices/d/modules/{CORE}", {"s.device_type": "toaster"})
    assert bad.status_code == 422 and "<html" in bad.get_data(as_text=True)


def test_tag_page_and_effective_configuration_on_device(client, api):
    api.post("/api/tags", json={"name": "lab", "display_name": "Lab", "priority": 70,
                                "modules": [{"type": CORE, "settings": {"device_name": "lab-default"}}]})
    api.post("/api/devices", json={"name": "d", "display_name": "D", "tags": ["lab"],
                                   "modules": [{"type": CORE, "settings": {"device_name": "own"}}]})
    assert "Lab" in text(client.get("/tags/lab"))
    effective = text(client.get("/devices/d/effective"))
    assert '"lab-default"' in effective and "tag lab" in effective and '"own"' in effective


def test_duplicate_and_delete_device(client, api):
    api.post("/api/devices", json={"name": "d", "display_name": "D",
                                   "modules": [{"type": CORE, "settings": {"device_name": "x"}}]})
    assert post(client, "/devices/d/duplicate", {"name": "d2"}).status_code == 302
    assert api.get("/api/devices/d2").get_json()["modules"][0]["settings"] == {"device_name": "x",
                                                                               "nix_state_version": STATE_DEFAULT}
    assert "Delete D?" in text(client.get("/devices/d/delete"))
    assert post(client, "/devices/d/delete", {}).status_code == 302
    assert api.get("/api/devices/d").status_code == 404


def test_modules_page_lists_built_ins(client):
    page = text(client.get("/modules"))
    assert "OCI Containers" in page and "Localization & Time" in page and "Built-in" in page


def test_a_stored_setting_the_schema_no_longer_accepts_does_not_lock_the_device(client, api):
    """A repository update may rename a setting: the device page must still add and remove other modules."""
    from models import Device, database
    api.post("/api/devices", json={"name": "d", "display_name": "D", "modules": [{"type": CORE, "settings": {}}]})
    with database.connection_context():
        Device.update(modules=[{"type": CORE, "settings": {"old_name": "kept"}}]).where(Device.name == "d").execute()
    assert post(client, "/devices/d/modules", {"type": SSH}).status_code == 302
    modules = api.get("/api/devices/d").get_json()["modules"]
    assert [m["type"] for m in modules] == [CORE, SSH] and modules[0]["settings"] == {"old_name": "kept"}
    assert post(client, f"/devices/d/modules/{SSH}", {"action": "remove"}).status_code == 302


def test_page_errors_are_pages_not_json(client, api):
    duplicate = post(client, "/tags", {"name": "t", "display_name": "T"})
    again = post(client, "/tags", {"name": "t", "display_name": "T"})
    assert duplicate.status_code == 302 and again.status_code == 409
    assert "<html" in again.get_data(as_text=True) and "already exists" in again.get_data(as_text=True)
