"""Settings are checked at save by the module itself (issue 15, item 1): rendered in the real sandbox, the
rendered file parsed by real nix-instantiate; 422 naming the setting with the module's own message, in JSON and
next to the field on the page; nothing invalid stored; Preview lists every problem in plain words.
"""
import pytest

from tests.conftest import wait_for_job
from tests.support import repo_trees as rb
from tests.support.nix import needs_nix

CORE = "thymis_controller.modules.thymis.ThymisDevice"
SSH = "thymis_controller.modules.access.SSHAccess"
BASH = "thymis_controller.modules.bash.BashModule"
PORTED = "ported_modules.modules.HomeAssistant"
GOOD_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl admin@laptop"

# A module ported from old Thymis: its `string` port lands in a Nix position that needs a number.
PORTED_MODULE = '''\
from thymis_controller.modules.modules import Module, Setting


class HomeAssistant(Module):
    display_name = "Home Assistant"
    server_port = Setting(display_name="Port", type="string", default="8123", order=10)

    def write_nix_settings(self, f, path, module_settings, priority, project):
        port = module_settings.settings.get("server_port", "8123")
        f.write("  services.home-assistant.enable = true;\\n")
        f.write(f"  services.home-assistant.config.http.server_port = {port};\\n")
'''


def errors_of(response) -> dict:
    body = response.get_json()
    return {e["field"]: e["message"] for e in body["error"]["errors"]}


def test_bad_hostname_is_refused_naming_the_setting_and_nothing_is_stored(api):
    response = api.post("/api/devices", json={"name": "pi", "display_name": "Pi",
                                              "modules": [{"type": CORE, "settings": {"device_name": "Bad_Host!"}}]})
    assert response.status_code == 422
    assert list(errors_of(response)) == ["modules[0].settings.device_name"]
    assert errors_of(response)["modules[0].settings.device_name"].startswith("not a valid hostname: 'Bad_Host!'")
    assert "Traceback" not in response.get_data(as_text=True)
    assert api.get("/api/devices/pi").status_code == 404


def test_every_problem_of_a_module_at_once_with_the_list_row_named(api):
    modules = [{"type": CORE, "settings": {"device_name": "pi"}},
               {"type": SSH, "settings": {"root_password_hash": "hunter2",
                                          "authorized_keys": [{"key": GOOD_KEY}, {"key": "this is not an ssh key"}]}},
               {"type": BASH, "settings": {"script": "date", "timer_config": {
                   "timer_type": "realtime", "on_calendar": ["every tuesday lol"]}}}]
    response = api.post("/api/devices", json={"name": "pi", "display_name": "Pi", "modules": modules})
    assert response.status_code == 422
    errors = errors_of(response)
    assert set(errors) == {"modules[1].settings.root_password_hash", "modules[1].settings.authorized_keys[1].key",
                           "modules[2].settings.timer_config"}
    assert "crypt(3) hash" in errors["modules[1].settings.root_password_hash"]
    assert errors["modules[1].settings.authorized_keys[1].key"] == "not an OpenSSH public key: 'this is not an ssh key'"
    assert "'every tuesday lol' is not a systemd calendar expression" in errors["modules[2].settings.timer_config"]


def test_a_change_to_a_saved_device_is_checked_and_the_old_settings_stay(api):
    good = {"name": "pi", "display_name": "Pi", "modules": [{"type": CORE, "settings": {"device_name": "pi"}}]}
    assert api.post("/api/devices", json=good).status_code == 201
    response = api.patch("/api/devices/pi", json={"modules": [{"type": CORE, "settings": {"device_name": "NO!"}}]})
    assert response.status_code == 422 and "modules[0].settings.device_name" in errors_of(response)
    assert api.get("/api/devices/pi").get_json()["modules"][0]["settings"]["device_name"] == "pi"


def test_tags_are_checked_too(api):
    response = api.post("/api/tags", json={"name": "lab", "display_name": "Lab",
                                           "modules": [{"type": SSH, "settings": {"root_password_hash": "x"}}]})
    assert response.status_code == 422 and list(errors_of(response)) == ["modules[0].settings.root_password_hash"]
    assert api.get("/api/tags/lab").status_code == 404


@pytest.fixture
def ported(api, git_server, tmp_path):
    root = rb.single_module_repo(tmp_path / "ported", "ported_modules", PORTED_MODULE)
    name = git_server.new_name("ported")
    git_server.make_repo(name, {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()})
    created = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": "Ported"})
    assert wait_for_job(api, created.get_json()["job_id"])["state"] == "succeeded"


@needs_nix
def test_a_string_setting_in_a_number_position_is_caught_by_parsing_the_module_file(api, ported):
    body = {"name": "ha", "display_name": "HA",
            "modules": [{"type": PORTED, "settings": {"server_port": "not-a-port"}}]}
    response = api.post("/api/devices", json=body)
    assert response.status_code == 422
    message = errors_of(response)["modules[0].settings.server_port"]
    assert "option `services.home-assistant.config.http.server_port`" in message
    assert "undefined variable 'not-a-port'" in message
    body["modules"][0]["settings"]["server_port"] = "8124"
    assert api.post("/api/devices", json=body).status_code == 201


def test_the_page_shows_the_module_message_next_to_the_field(client, api):
    api.post("/api/devices", json={"name": "pi", "display_name": "Pi",
                                   "modules": [{"type": CORE, "settings": {"device_name": "pi"}}]})
    response = client.post(f"/devices/pi/modules/{CORE}", data={"csrf_token": client.csrf, "action": "save",
                                                                "s.device_name": "Bad_Host!"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    field = html.index('name="s.device_name"')
    error = html.index("not a valid hostname: &#39;Bad_Host!&#39;", field)
    assert error < html.index('name="s.nix_state_version"')   # right below the hostname field
    assert api.get("/api/devices/pi").get_json()["modules"][0]["settings"]["device_name"] == "pi"


def test_preview_lists_every_problem_in_plain_words(app, api, standins):
    from models import Device, database
    app.config["THYMIS"].thymis_flake_url = standins.thymis_url
    api.post("/api/devices", json={"name": "pi", "display_name": "Pi"})
    with database.connection_context():  # stored before checks at save existed
        Device.update(modules=[{"type": CORE, "settings": {"device_name": "Bad_Host!"}},
                               {"type": SSH, "settings": {"root_password_hash": "hunter2"}}]).execute()
    response = api.get("/api/devices/pi/preview")
    assert response.status_code == 409
    message = response.get_json()["error"]["message"]
    assert "Traceback" not in message and "line 188" not in message
    assert "device pi: Device: Default Hostname: not a valid hostname: 'Bad_Host!'" in message
    assert "SSH & Users: Root password hash: the root password hash must be a crypt(3) hash" in message


def test_the_preview_page_lists_the_problems(app, api, client, standins):
    from models import Device, database
    app.config["THYMIS"].thymis_flake_url = standins.thymis_url
    api.post("/api/devices", json={"name": "pi", "display_name": "Pi"})
    with database.connection_context():
        Device.update(modules=[{"type": CORE, "settings": {"device_name": "Bad_Host!"}},
                               {"type": SSH, "settings": {"root_password_hash": "hunter2"}}]).execute()
    html = client.get("/devices/pi/preview").get_data(as_text=True)
    assert "Traceback" not in html
    assert html.count("<li>device pi: ") == 2
