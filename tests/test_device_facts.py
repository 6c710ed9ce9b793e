"""What the device ends up with (issue 15, items 3-5): its marker names it, the state version the effective
view shows is the one built, THYMIS_SYSTEM_PROFILE is this machine's profile only.

Builds use this repository's real device module (nixos-module/device.nix) on the nixpkgs STAND-IN.
"""
import pytest

from tests.conftest import wait_for_job
from tests.support.git import pinned, work_tree
from tests.support.nix import REPO, toplevel_config

CORE = "thymis_controller.modules.thymis.ThymisDevice"


@pytest.fixture(scope="module")
def real_device_flake(standins, tmp_path_factory) -> str:
    """A thymis flake whose nixosModules.thymis-device is this repository's nixos-module/device.nix."""
    path = tmp_path_factory.mktemp("real-device")
    flake = ('{ inputs.nixpkgs.url = "' + standins.nixpkgs_url + '";\n'
             '  outputs = { self, nixpkgs }: { nixosModules.thymis-device = ./device.nix; }; }\n')
    return pinned(path, work_tree(path, {"flake.nix": flake,
                                         "device.nix": (REPO / "nixos-module" / "device.nix").read_text()}))


@pytest.fixture
def app_config(real_device_flake, tmp_path):
    return {"thymis_flake_url": real_device_flake, "system_profile": tmp_path / "profiles" / "system"}


def built_config(api, device: str) -> dict:
    started = api.post(f"/api/devices/{device}/build")
    assert started.status_code == 202, started.get_json()
    job = wait_for_job(api, started.get_json()["job_id"], timeout=180)
    assert job["state"] == "succeeded", job["log"]
    return toplevel_config(api.get(f"/api/devices/{device}/deployments").get_json()[0]["store_path"])


def effective_state_version(api, device: str) -> dict:
    core = next(m for m in api.get(f"/api/devices/{device}").get_json()["effective"] if m["type"] == CORE)
    return next(s for s in core["settings"] if s["name"] == "nix_state_version")


def test_the_marker_names_the_device_after_its_host_name(api):
    api.post("/api/devices", json={"name": "kiosk", "display_name": "Kiosk",
                                   "modules": [{"type": CORE, "settings": {"device_name": "kiosk-1"}}]})
    config = built_config(api, "kiosk")
    assert config["networking"]["hostName"] == "kiosk-1"
    assert '"device-name":"kiosk-1"' in config["environment"]["etc"]["thymis/device.json"]["text"]


def default_state_version(api) -> str:
    core = next(m for m in api.get("/api/modules").get_json() if m["type"] == CORE)
    return next(s["default"] for s in core["settings"] if s["name"] == "nix_state_version")


def test_the_effective_state_version_is_the_one_built_and_stays(app, api):
    from models import Device, database
    default = default_state_version(api)
    api.post("/api/devices", json={"name": "new", "display_name": "New",
                                   "modules": [{"type": CORE, "settings": {"device_name": "new"}}]})
    shown = effective_state_version(api, "new")
    assert shown["value"] == default and shown["source"] == "device new"   # pinned when the device was created
    assert built_config(api, "new")["system"]["stateVersion"] == default
    # A device saved before versions were pinned: the default the view shows is written by the build.
    api.post("/api/devices", json={"name": "old", "display_name": "Old"})
    with database.connection_context():
        Device.update(modules=[{"type": CORE, "settings": {"device_name": "old"}}]).where(
            Device.name == "old").execute()
    shown = effective_state_version(api, "old")
    assert shown["value"] == default and shown["source"] == "default"
    assert built_config(api, "old")["system"]["stateVersion"] == default


def test_a_tag_state_version_is_what_its_devices_build(api):
    api.post("/api/tags", json={"name": "lab", "display_name": "Lab",
                                "modules": [{"type": CORE, "settings": {"nix_state_version": "24.05"}}]})
    api.post("/api/devices", json={"name": "d", "display_name": "D", "tags": ["lab"],
                                   "modules": [{"type": CORE, "settings": {"device_name": "d"}}]})
    shown = effective_state_version(api, "d")
    assert shown["value"] == "24.05" and shown["source"] == "tag lab"
    assert built_config(api, "d")["system"]["stateVersion"] == "24.05"


def test_the_system_profile_setting_applies_to_local_devices_only(app, api, tmp_path):
    from deploy.activate import DEFAULT_PROFILE
    from deploy.jobs import deploy_target
    from models import Device, database
    api.post("/api/devices", json={"name": "here", "display_name": "Here", "target": "local"})
    api.post("/api/devices", json={"name": "there", "display_name": "There", "target": "ssh://root@192.0.2.7"})
    settings = app.config["THYMIS"]
    with database.connection_context():
        here = deploy_target(Device.get(Device.name == "here"), settings)
        there = deploy_target(Device.get(Device.name == "there"), settings)
    assert here.profile == str(tmp_path / "profiles" / "system")
    assert there.profile == DEFAULT_PROFILE == "/nix/var/nix/profiles/system"
