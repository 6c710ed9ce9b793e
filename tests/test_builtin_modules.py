"""Thymis's ten built-in modules: their type names, settings, and the Nix they write for typical settings.

The expected texts follow from Thymis's documented behaviour: the base class writes
``<nix_attr_name> = lib.mkOverride <priority> <value>;`` with Thymis's value layout (lists one element per
line, attribute sets as dotted paths); keys and certificates are lists without a priority; Bash and Python
scripts become systemd services named after the device or tag, with a timer of the same name.
"""
from __future__ import annotations

import pytest

from deploy.build import build
from deploy.flake import generate_project
from deploy.model import DeviceConfig, ModuleFile
from tests.support.deploy import Recorder
from tests.support.nix import needs_nix, nix_eval_json, toplevel_config
from thymis_controller.modules.builtin_modules import THYMIS_MODULE_CLASSES, builtin_module_types, builtin_modules
from thymis_controller.nix import NixError
from thymis_controller.project import Project
from thymis_controller.render import render_module

THYMIS_TYPES = {
    "thymis_controller.modules.thymis.ThymisDevice",
    "thymis_controller.modules.networking.NetworkingModule",
    "thymis_controller.modules.localization.LocalizationModule",
    "thymis_controller.modules.security.SecurityAccessModule",
    "thymis_controller.modules.files.FilesModule",
    "thymis_controller.modules.oci_container.OCIContainers",
    "thymis_controller.modules.kiosk.Kiosk",
    "thymis_controller.modules.whatever.WhateverModule",
    "thymis_controller.modules.bash.BashModule",
    "thymis_controller.modules.python.PythonModule",
}
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 admin@laptop"
CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def module(name):
    return next(m for m in builtin_modules() if type(m).__name__ == name)


def write(name, settings, where="hosts/dev1", priority=80):
    project = Project("/p")
    return render_module(module(name), settings, priority, project.repo_path / where, project)


def test_the_ten_thymis_types_and_the_two_extras():
    assert {f"{c.__module__}.{c.__name__}" for c in THYMIS_MODULE_CLASSES} == THYMIS_TYPES
    assert builtin_module_types() == THYMIS_TYPES | {"thymis_controller.modules.access.SSHAccess",
                                                     "thymis_controller.modules.custom_nix.CustomNixModule"}


def test_settings_are_thymis_settings():
    names = {type(m).__name__: list(m.iter_settings()) for m in builtin_modules()}
    assert names["ThymisDevice"] == ["device_type", "image_format", "device_name", "nix_state_version",
                                     "agent_controller_url"]
    assert names["NetworkingModule"] == ["wifi_ssid", "wifi_password", "wifi_auth", "wifi_auth_protocols",
                                         "static_networks", "nameservers"]
    assert names["SecurityAccessModule"] == ["password_secret", "authorized_keys", "security_pki_certificates"]
    assert names["BashModule"] == ["timer_config", "packages", "script"]
    assert names["PythonModule"] == ["timer_config", "python_packages", "system_packages", "script"]
    assert names["Kiosk"] == ["kiosk_url", "xrandr_mode", "xrandr_rotation", "volume", "audio_sink_fuzzy",
                              "enable_vnc", "vnc_password"]
    assert names["WhateverModule"] == ["settings"]


def test_thymis_device_on_a_host_and_on_a_tag():
    host = write("ThymisDevice", {"device_type": "raspberry-pi-4", "device_name": "kiosk-1",
                                  "nix_state_version": "24.11"})
    assert host == (
        "  imports = [ ]\n"
        '    ++ lib.optional (inputs.thymis.nixosModules ? "thymis-device-raspberry-pi-4") '
        'inputs.thymis.nixosModules."thymis-device-raspberry-pi-4"\n'
        '    ++ lib.optional (inputs.thymis.nixosModules ? "thymis-image-sd-card-image") '
        'inputs.thymis.nixosModules."thymis-image-sd-card-image";\n'
        '  thymis.config.agent.controller-url = lib.mkOverride 100 "http://localhost:8000";\n'
        '  thymis.config.device-name = lib.mkOverride 80 "kiosk-1";\n'
        '  networking.hostName = lib.mkOverride 80 "kiosk-1";\n'
        '  thymis.config.device-type = lib.mkOverride 80 "raspberry-pi-4";\n'
        '  system.stateVersion = lib.mkOverride 80 "24.11";\n')
    # a tag imports no hardware module; a chosen controller URL takes the module's priority
    tag = write("ThymisDevice", {"device_type": "generic-x86_64", "agent_controller_url": "https://c.example"},
                where="tags/lab", priority=60)
    assert tag == ("  imports = [ ];\n"
                   '  thymis.config.agent.controller-url = lib.mkOverride 60 "https://c.example";\n'
                   '  thymis.config.device-type = lib.mkOverride 60 "generic-x86_64";\n')
    with pytest.raises(NixError, match="hostname"):
        write("ThymisDevice", {"device_name": 'x"; y'})


def test_networking_and_files_are_written_to_thymis_config():
    assert write("NetworkingModule", {
        "wifi_ssid": "lab", "static_networks": [{"interface": "eth0", "ipv4address": "10.0.0.2",
                                                 "ipv4prefixLength": 24, "isDefaultGateway": True}],
        "nameservers": [{"nameserver": "1.1.1.1"}]}, where="tags/lab") == (
        '  thymis.config.wifi-ssid = lib.mkOverride 80 "lab";\n'
        "  thymis.config.networking.static-networks = lib.mkOverride 80 [\n"
        '  {\n  interface = "eth0";\n  ipv4address = "10.0.0.2";\n  ipv4prefixLength = 24;\n'
        "  isDefaultGateway = true;\n}\n];\n"
        "  thymis.config.networking.nameservers = lib.mkOverride 80 [\n"
        '  {\n  nameserver = "1.1.1.1";\n}\n];\n')
    assert write("FilesModule", {"artifacts": [{"artifact": "app.bin", "path": "/opt/app", "mode": "0755"}]}) == (
        "  thymis.config.files.artifacts = lib.mkOverride 80 [\n"
        '  {\n  artifact = "app.bin";\n  path = "/opt/app";\n  mode = "0755";\n}\n];\n')


def test_files_reports_each_secret_with_its_placement():
    from thymis_controller.models import ModuleSettings

    files = module("FilesModule")
    found = files.register_secret_settings(ModuleSettings(files.type, {"secrets": [
        {"secret": "id-1", "path": "/etc/app.key", "owner": "app", "group": "app", "mode": "0400"}]}))
    assert [(t.on_device_path, t.on_device_owner, t.on_device_mode, value) for t, value in found] == [
        ("/etc/app.key", "app", "0400", "id-1")]
    security = module("SecurityAccessModule")
    [(kind, value)] = security.register_secret_settings(ModuleSettings(security.type, {"password_secret": "id-2"}))
    assert kind.on_device_path == "/run/thymis/root_password_hash" and value == "id-2"


def test_localization_and_security():
    assert write("LocalizationModule", {"time_servers": [{"server": "pool.ntp.org"}]}) == (
        '  networking.timeServers = [\n    "pool.ntp.org"\n  ];\n  time.timeZone = "Europe/Berlin";\n')
    assert write("LocalizationModule", {"timezone": 'UTC"; x = "'}) == '  time.timeZone = "UTC\\"; x = \\"";\n'
    assert write("SecurityAccessModule", {"password_secret": "id-2", "authorized_keys": [{"key": KEY}],
                                          "security_pki_certificates": [{"certificate": CERT}]}) == (
        '  users.users.root.hashedPasswordFile = lib.mkOverride 80 "/run/thymis/root_password_hash";\n'
        f'  users.users.root.openssh.authorizedKeys.keys = [\n    "{KEY}"\n  ];\n'
        '  security.pki.certificates = [\n    "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n"\n'
        "  ];\n")
    with pytest.raises(NixError, match="OpenSSH public key"):
        write("SecurityAccessModule", {"authorized_keys": [{"key": "not a key"}]})


def test_bash_service_and_timer():
    assert write("BashModule", {"script": "  date\n", "packages": [{"package": "curl"}],
                                "timer_config": {"timer_type": "realtime", "on_calendar": ["daily", ""],
                                                 "persistent": True, "accuracy_sec": "1m"}}) == (
        '  systemd.services."thymis-bash-service-hosts-dev1" = {\n'
        "    script = ''\n      #!/bin/bash\n      date\n    '';\n"
        "    path = [ pkgs.curl ];\n"
        '    serviceConfig = {\n      Type = "oneshot";\n    };\n  };\n'
        '  systemd.timers."thymis-bash-service-hosts-dev1" = {\n    wantedBy = [ "timers.target" ];\n'
        '    timerConfig.OnCalendar = "daily";\n    timerConfig.Persistent = true;\n'
        '    timerConfig.AccuracySec = "1m";\n  };\n')
    with pytest.raises(NixError, match="package"):
        write("BashModule", {"script": "x", "packages": [{"package": "curl; rm"}]})
    with pytest.raises(NixError, match="timer_type"):
        write("BashModule", {"script": "x", "timer_config": {"timer_type": "sometimes"}})


@needs_nix
def test_bash_and_python_scripts_reach_nix_unchanged():
    script = "echo \"${HOME}\" '' $$ '${x}' \\ \n\tindented"
    body = write("BashModule", {"script": script, "timer_config": {"timer_type": "monotonic",
                                                                   "on_boot_sec": "5min"}}, where="tags/lab")
    value = nix_eval_json("let lib = {}; pkgs = {}; in {\n" + body + "}")
    unit = "thymis-bash-service-tags-lab"
    assert value["systemd"]["services"][unit]["script"] == f"#!/bin/bash\n{script.strip()}\n"
    assert value["systemd"]["timers"][unit] == {"wantedBy": ["timers.target"], "timerConfig": {"OnBootSec": "5min"}}
    body = write("PythonModule", {"script": "print('${x}')", "python_packages": [{"package": "requests"}],
                                  "system_packages": [{"package": "git"}]})
    stub = ("let lib = {}; pkgs = { git = \"git\"; python3Packages.requests = \"requests\"; "
            "writers.writePython3 = name: args: text: { inherit name text; inherit (args) libraries; }; }; in ")
    value = nix_eval_json(stub + "{\n" + body.replace('"${script}"', "script") + "}")
    service = value["systemd"]["services"]["thymis-python-service-hosts-dev1"]
    assert service["serviceConfig"]["ExecStart"] == {"name": "thymis-python-service-hosts-dev1-script",
                                                     "text": "print('${x}')\n", "libraries": ["requests"]}
    assert service["path"] == ["git"]


def test_oci_containers():
    assert write("OCIContainers", {"containers": [{"container_name": "web", "image": "nginx:1.27",
                                                   "ports": [{"host": "8080", "container": "80"}],
                                                   "environment": [{"key": "TZ", "value": "UTC"}]}]}) == (
        "  virtualisation.podman = {\n    enable = true;\n    autoPrune.enable = true;\n    dockerCompat = true;\n"
        "    defaultNetwork.settings = {\n      dns_enabled = true;\n    };\n  };\n"
        '  virtualisation.oci-containers.backend = "podman";\n'
        '  virtualisation.oci-containers.containers."web" = {\n    image = "nginx:1.27";\n'
        '    environment = {\n      "TZ" = "UTC";\n    };\n    volumes = [\n    ];\n'
        '    ports = [\n      "8080:80"\n    ];\n    labels = {\n    };\n    log-driver = "journald";\n  };\n')
    assert write("OCIContainers", {"containers": []}) == ""


@needs_nix
def test_kiosk_starts_chromium_on_the_url():
    body = write("Kiosk", {"kiosk_url": "https://dash.example/?a=1", "volume": 150, "xrandr_rotation": "left"})
    stub = ("let lib = { mkOverride = p: v: v; }; pkgs = { writeText = name: text: text; chromium = \"/c\"; "
            "bash = \"/b\"; unclutter = \"/u\"; pamixer = \"/p\"; }; in ")
    config = nix_eval_json(stub + "{\n" + body + "}")
    assert config["services"]["displayManager"]["autoLogin"]["user"] == "thymiskiosk"
    i3 = config["services"]["xserver"]["windowManager"]["i3"]["configFile"]
    assert "/c/bin/chromium --kiosk 'https://dash.example/?a=1'" in i3
    assert "--rotate left" in i3 and "pamixer --set-volume 100" in i3 and "x0vncserver" not in i3
    assert config["networking"]["firewall"]["allowedTCPPorts"] == [5900]
    assert write("Kiosk", {}) == write("Kiosk", {})  # the restart nonce is the same on every render
    for bad in ({"kiosk_url": "https://x/'; reboot '"}, {"kiosk_url": "file:///etc"}, {"audio_sink_fuzzy": "a'b"}):
        with pytest.raises(NixError):
            write("Kiosk", bad)


def test_whatever_writes_its_text_verbatim():
    assert write("WhateverModule", {"settings": "services.openssh.enable = true;\n"}) == \
        "services.openssh.enable = true;\n"


@needs_nix
def test_a_device_of_several_built_ins_builds(tmp_path, standins):
    """ThymisDevice, Networking, Localization, Security, Files, OCI containers and Bash on one device (and a tag),
    built with the nixpkgs stand-in: the merged configuration holds what each module wrote."""
    chosen = [
        ("ThymisDevice", {"device_type": "generic-x86_64", "device_name": "edge-1"}),
        ("NetworkingModule", {"wifi_ssid": "lab", "nameservers": [{"nameserver": "1.1.1.1"}]}),
        ("LocalizationModule", {"timezone": "Europe/Vienna"}),
        ("SecurityAccessModule", {"authorized_keys": [{"key": KEY}]}),
        ("FilesModule", {"artifacts": [{"artifact": "app.bin", "path": "/opt/app"}]}),
        ("OCIContainers", {"containers": [{"container_name": "web", "image": "nginx:1.27"}]}),
        ("BashModule", {"script": "echo ${HOSTNAME}", "timer_config": {"timer_type": "realtime",
                                                                         "on_calendar": ["hourly"]}}),
    ]
    files = [ModuleFile("device", module(name).type, write(name, settings, where="hosts/edge-1"))
             for name, settings in chosen]
    files.append(ModuleFile("tag-lab", module("SecurityAccessModule").type,
                            write("SecurityAccessModule", {"authorized_keys": [{"key": KEY + "-tag"}]},
                                  where="tags/lab", priority=90)))
    result = generate_project(tmp_path / "project", devices=[DeviceConfig(name="edge-1", files=files)], inputs=[],
                              thymis_url=standins.thymis_url)
    config = toplevel_config(build(tmp_path / "project", result.commit, "edge-1", Recorder()).store_path)
    assert config["networking"]["hostName"] == "edge-1"
    assert config["thymis"]["config"]["device-type"] == "generic-x86_64"
    assert config["thymis"]["config"]["networking"]["nameservers"] == [{"nameserver": "1.1.1.1"}]
    assert config["time"]["timeZone"] == "Europe/Vienna"
    assert sorted(config["users"]["users"]["root"]["openssh"]["authorizedKeys"]["keys"]) == [KEY, KEY + "-tag"]
    assert config["thymis"]["config"]["files"]["artifacts"] == [{"artifact": "app.bin", "path": "/opt/app"}]
    assert config["virtualisation"]["oci-containers"]["containers"]["web"]["image"] == "nginx:1.27"
    unit = "thymis-bash-service-hosts-edge-1"
    assert config["systemd"]["services"][unit]["script"] == "#!/bin/bash\necho ${HOSTNAME}\n"
    assert config["systemd"]["timers"][unit]["timerConfig"]["OnCalendar"] == "hourly"


def test_the_web_process_needs_no_third_party_package_for_the_sdk():
    """The web process (Python 3.11, no pydantic) describes the built-in modules in-process: the SDK and the
    built-ins import and describe with the standard library alone, and Jinja2 is only loaded by template_env."""
    import json
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import json, sys\n"
        "from thymis_controller.modules.builtin_modules import builtin_module_descriptions\n"
        "import thymis_controller.nix.templating, thymis_controller.config, thymis_controller.db_models\n"
        "names = [d['type'] for d in builtin_module_descriptions()]\n"
        "loaded = sorted(m for m in ('jinja2', 'pydantic', 'flask') if m in sys.modules)\n"
        "print(json.dumps({'modules': len(names), 'loaded': loaded, 'version': sys.version_info[:2]}))\n"
    )
    root = Path(__file__).resolve().parents[1]
    python = shutil.which("python3.11") or sys.executable  # the oldest Python the web app supports, if here
    out = subprocess.run([python, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(root)!r})\n" + code],
                         capture_output=True, text=True, check=True, cwd="/").stdout
    result = json.loads(out)
    assert result["modules"] == 12 and result["loaded"] == []
    assert tuple(result["version"]) >= (3, 11)
