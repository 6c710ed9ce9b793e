"""Devices and tags through the JSON API: validation naming the field, priorities, effective configuration."""
import pytest

from thymis_controller.modules.thymis import ThymisDevice

CORE = "thymis_controller.modules.thymis.ThymisDevice"
STATE_DEFAULT = ThymisDevice.nix_state_version.default  # stored when the core module is added
SSH = "thymis_controller.modules.access.SSHAccess"


def create(api, kind, body):
    return api.post(f"/api/{kind}", json=body)


def test_modules_lists_built_ins_with_settings(api):
    modules = {m["type"]: m for m in api.get("/api/modules").get_json()}
    assert modules[CORE]["source"] == "built-in"
    assert {s["name"] for s in modules[CORE]["settings"]} >= {"device_name", "device_type", "nix_state_version"}


def test_device_with_tag_resolves_priorities(api):
    tag = create(api, "tags", {"name": "kiosks", "display_name": "Kiosks", "modules": [
        {"type": CORE, "settings": {"device_name": "from-tag", "nix_state_version": "24.05"}}]})
    assert tag.status_code == 201 and tag.get_json()["priority"] == 90
    device = create(api, "devices", {"name": "kiosk-1", "display_name": "Kiosk 1", "target": "ssh://root@10.0.0.5:2222",
                                     "tags": ["kiosks"],
                                     "modules": [{"type": CORE, "settings": {"device_name": "k1"}}]})
    assert device.status_code == 201, device.get_json()
    body = api.get("/api/devices/kiosk-1").get_json()
    assert body["tags"] == ["kiosks"] and body["target"] == "ssh://root@10.0.0.5:2222"
    core = next(m for m in body["effective"] if m["type"] == CORE)
    settings = {s["name"]: s for s in core["settings"]}
    assert settings["device_name"]["value"] == "k1" and settings["device_name"]["source"] == "device kiosk-1"
    assert settings["device_name"]["overridden"] == [{"source": "tag kiosks", "value": "from-tag"}]
    assert settings["nix_state_version"]["value"] == "24.05" and settings["nix_state_version"]["source"] == "tag kiosks"
    assert settings["device_type"]["source"] == "default"
    # A tag with a lower number than the device's 80 wins over the device.
    assert api.patch("/api/tags/kiosks", json={"priority": 50}).status_code == 200
    core = next(m for m in api.get("/api/devices/kiosk-1").get_json()["effective"] if m["type"] == CORE)
    assert {s["name"]: s for s in core["settings"]}["device_name"]["value"] == "from-tag"


@pytest.mark.parametrize("body, field, fragment", [
    ({"display_name": "X"}, "name", "identifier is required"),
    ({"name": "x"}, "display_name", "display name is required"),
    ({"name": "9x", "display_name": "X"}, "name", "must start with a letter"),
    ({"name": "x", "display_name": "X", "target": "ftp://h"}, "target", "ssh://user@host"),
    ({"name": "x", "display_name": "X", "target": "ssh://root@h:99999"}, "target", "between 1 and 65535"),
    ({"name": "x", "display_name": "X", "tags": ["none"]}, "tags", "no tag named 'none'"),
    ({"name": "x", "display_name": "X", "modules": [{"type": "no.such.Module"}]}, "modules[0].type", "no module"),
    ({"name": "x", "display_name": "X", "modules": [{"type": CORE}, {"type": CORE}]}, "modules[1].type", "twice"),
    ({"name": "x", "display_name": "X", "modules": [{"type": CORE, "settings": {"device_type": "toaster"}}]},
     "modules[0].settings.device_type", "must be one of"),
    ({"name": "x", "display_name": "X", "modules": [{"type": SSH, "settings": {"ssh_enable": "yes"}}]},
     "modules[0].settings.ssh_enable", "must be true or false"),
])
def test_invalid_device_is_422_naming_the_field_and_saves_nothing(api, body, field, fragment):
    response = create(api, "devices", body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["field"] == field and fragment in error["message"]
    assert api.get("/api/devices").get_json() == []


def test_failed_update_changes_nothing(api):
    create(api, "devices", {"name": "d", "display_name": "D",
                            "modules": [{"type": CORE, "settings": {"device_name": "a"}}]})
    response = api.patch("/api/devices/d", json={"display_name": "New", "modules": [
        {"type": CORE, "settings": {"device_name": "b", "device_type": "toaster"}}]})
    assert response.status_code == 422
    body = api.get("/api/devices/d").get_json()
    assert body["display_name"] == "D"
    assert body["modules"][0]["settings"] == {"device_name": "a", "nix_state_version": STATE_DEFAULT}


def test_duplicate_names_and_unknown_names(api):
    assert create(api, "tags", {"name": "t", "display_name": "T"}).status_code == 201
    again = create(api, "tags", {"name": "t", "display_name": "T"})
    assert again.status_code == 409 and again.get_json()["error"]["field"] == "name"
    assert api.get("/api/devices/nope").status_code == 404
    assert api.patch("/api/tags/nope", json={}).status_code == 404
    bad = api.patch("/api/tags/t", json={"priority": 0})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "priority"


def test_deleting_a_tag_detaches_it(api):
    create(api, "tags", {"name": "t", "display_name": "T"})
    create(api, "devices", {"name": "d", "display_name": "D", "tags": ["t"]})
    assert api.delete("/api/tags/t").status_code == 204
    assert api.get("/api/devices/d").get_json()["tags"] == []
    assert api.delete("/api/devices/d").status_code == 204
    assert api.get("/api/devices").get_json() == []
