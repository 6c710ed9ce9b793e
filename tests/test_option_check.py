"""Settings are evaluated against the `thymis` flake's option types at save (issue 15): a string in a port or a
"yes" in a boolean is a 422 naming the option, page and JSON alike; nothing is stored. What the thymis flake
does not declare, and what needs a repository's flake input, is not refused.

Real nix (nix-instantiate, restricted), a real git server, the sandbox; the thymis flake is a copy of the thymis
STAND-IN that also declares a port option (as NixOS declares services.home-assistant's), its nixpkgs the
nixpkgs STAND-IN whose lib is the real nixpkgs library.
"""
import shutil

import pytest

from deploy.reachability import reachability
from tests.conftest import wait_for_job
from tests.support import repo_trees as rb
from tests.support.git import pinned, work_tree
from tests.support.nix import thymis_standin

CORE = "thymis_controller.modules.thymis.ThymisDevice"
CUSTOM = "thymis_controller.modules.custom_nix.CustomNixModule"
HASS = "hass_modules.modules.HomeAssistant"
PORT_OPTION = """
  options.services.home-assistant.config.http.server_port = lib.mkOption {
    type = lib.types.port;
    default = 8123;
    description = "as NixOS declares it (test declaration)";
  };
"""
MODULE = '''\
import thymis_controller.modules.modules as modules
from thymis_controller.modules.modules import Setting


class HomeAssistant(modules.Module):
    display_name = "Home Assistant"
    port = Setting(display_name="Port", nix_attr_name="services.home-assistant.config.http.server_port",
                   type="string", default="8123")
    title = Setting(display_name="Title", nix_attr_name="services.home-assistant.config.homeassistant.name",
                    type="string", default="Home")
'''
OFFLINE_FLAKE = '{ description = "hass"; outputs = { self }: { value = 8123; }; }\n'


@pytest.fixture(scope="module")
def declaring_thymis(standins, tmp_path_factory):
    """The thymis STAND-IN with a declared port option (services.home-assistant.config.http.server_port)."""
    folder = tmp_path_factory.mktemp("thymis-ports") / "thymis"
    thymis_standin(folder, standins.nixpkgs_url)
    module = folder / "thymis-device.nix"
    anchor = "  options.thymis.test = {"
    module.write_text(module.read_text().replace(anchor, PORT_OPTION + anchor))
    return pinned(folder, work_tree(folder))


@pytest.fixture
def app_config(declaring_thymis):
    return {"thymis_flake_url": declaring_thymis}


@pytest.fixture
def hass(app, api, git_server, tmp_path, declaring_thymis):
    root = rb.single_module_repo(tmp_path / "hass-tree", "hass_modules", MODULE)
    (root / "flake.nix").write_text(OFFLINE_FLAKE)
    name = git_server.new_name("hass")
    git_server.make_repo(name, {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()})
    created = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": "Hass",
                                                  "name": "hass"})
    assert wait_for_job(api, created.get_json()["job_id"])["state"] == "succeeded"
    assert reachability.wait(declaring_thymis, 60).state == "reachable"
    return HASS


def device(modules):
    return {"name": "pi", "display_name": "Pi", "target": "local", "modules": modules}


def test_a_string_in_a_port_is_refused_at_save_with_the_option_named(api, client, hass):
    bad = api.post("/api/devices", json=device([{"type": HASS, "settings": {"port": "not-a-port"}}]))
    assert bad.status_code == 422, bad.get_json()
    error = bad.get_json()["error"]
    assert error["field"] == "modules[0].settings.port"
    assert "services.home-assistant.config.http.server_port" in error["message"]
    assert api.get("/api/devices").get_json() == []                     # nothing stored

    # the page: the message next to the field, the setting unchanged
    assert api.post("/api/devices", json=device([{"type": HASS, "settings": {"title": "Kitchen"}}])).status_code \
        == 201   # a string setting into an undeclared option: fine
    response = client.post(f"/devices/pi/modules/{HASS}", data={"csrf_token": client.csrf, "action": "save",
                                                                 "s.title": "Kitchen", "s.port": "8124"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.index("server_port", html.index('name="s.port"')) < html.index('name="s.title"')
    assert "is not of type `16 bit unsigned integer" in html
    assert api.get("/api/devices/pi").get_json()["modules"][0]["settings"] == {"title": "Kitchen"}
    # (a `string` setting always writes a Nix string: this module can never set that port; the message says so)


def test_a_boolean_option_and_custom_nix_and_what_is_not_refused(api, hass):
    wrong = api.post("/api/devices", json=device([{"type": CUSTOM, "settings": {
        "nix_code": 'thymis.test.failSwitch = "yes";'}}]))
    assert wrong.status_code == 422
    message = wrong.get_json()["error"]["message"]
    assert wrong.get_json()["error"]["field"] == "modules[0]"
    assert "option `thymis.test.failSwitch' is not of type `boolean'" in message and '"yes"' in message
    # not declared by the thymis flake (free-form), or needing a repository input: not refused at save
    fine = api.post("/api/devices", json=device([{"type": CUSTOM, "settings": {
        "nix_code": 'services.unknown.port = "text";\nthymis.test.activationLog = inputs.hass.value;'}}]))
    assert fine.status_code == 201, fine.get_json()


def test_off_or_not_available_the_parse_check_alone_decides(app, api, hass, tmp_path):
    bad = device([{"type": CUSTOM, "settings": {"nix_code": 'thymis.test.failSwitch = "yes";'}}])
    settings = app.config["THYMIS"]
    settings.option_check = False                       # THYMIS_OPTION_CHECK=false
    assert api.post("/api/devices", json=bad).status_code == 201
    api.delete("/api/devices/pi")
    settings.option_check = True
    settings.thymis_flake_url = f"path:{tmp_path}/nothing-here"     # the check cannot get the option types
    assert reachability.wait(settings.thymis_flake_url, 30).state == "unreachable"
    assert api.post("/api/devices", json=bad).status_code == 201
    assert shutil.which("nix-instantiate")
