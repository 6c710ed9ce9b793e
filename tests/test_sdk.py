"""The module SDK in-process: import paths, settings schema of both APIs, default Nix output."""

import importlib.util
import io
import sys

import pytest

from tests.support import repo_trees
from tests.support.nix import needs_nix, nix_eval_json, nix_parses
from thymis_controller import models
from thymis_controller.lib import read_into_base64
from thymis_controller.modules.builtin_modules import builtin_module_descriptions, builtin_module_types, builtin_modules
from thymis_controller.modules.modules import LocalizedString, Module, english
from thymis_controller.nix import NixError
from thymis_controller.project import Project
from thymis_controller.render import NIX_MODULE_HEADER, render_module
from thymis_controller.schema import describe_module


def load_source(tmp_path, name, source):
    """Import a module written by a test (trusted code, in-process)."""
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def current(tmp_path):
    (tmp_path / "greeter.svg").write_text(repo_trees.GREETER_SVG)
    yield load_source(tmp_path, "sdk_current_api", repo_trees.CURRENT_API_MODULES)
    sys.modules.pop("sdk_current_api", None)


@pytest.fixture
def legacy(tmp_path):
    yield load_source(tmp_path, "sdk_old_api", repo_trees.OLD_API_MODULES)
    sys.modules.pop("sdk_old_api", None)


def project_and_path(tmp_path):
    project = Project(tmp_path / "project")
    return project, project.repo_dir / "hosts" / "dev1"


def test_import_paths_match_thymis():
    import thymis_controller.modules
    import thymis_controller.modules.modules as mm

    assert thymis_controller.modules.Module is mm.Module is models.Module
    assert models.ModuleSettings(type="x", settings={"a": 1}).settings == {"a": 1}
    # `thymis_controller.models` holds both ModuleSettings and the 2024 Setting
    old = models.Setting(name="a.b", type="string", default="x", description="d")
    assert old.name == "a.b" and isinstance(old, models.Setting)


def test_localized_string_resolves_to_english():
    text = LocalizedString(en="Hostname", de="Rechnername")
    assert english(text) == "Hostname" and text.localize("de") == "Rechnername"
    assert text.localize("fr") == "Hostname"
    assert english("plain") == "plain" and english(None) is None
    assert str(LocalizedString(de="Nur deutsch")) == "Nur deutsch"


def test_type_property():
    class Local(Module):
        display_name = "Local"

    assert Local().type == f"{__name__}.Local"


def test_current_api_schema(current):
    d = describe_module(current.Greeter())
    assert d["type"] == "sdk_current_api.Greeter"
    assert d["display_name"] == "Greeter" and d["category"] == "demo" and d["api"] == "current"
    assert d["icon"].startswith("data:image/svg+xml;base64,")
    assert [s["name"] for s in d["settings"]] == ["level", "greeting", "port", "enable"]  # by order
    level = d["settings"][0]
    assert level["type"] == "select-one"
    assert level["options"] == [{"label": "Low", "value": "low"}, {"label": "high", "value": "high"}]
    greeting = d["settings"][1]
    assert greeting == {
        "name": "greeting", "display_name": "Greeting", "type": "string", "description": "The text.",
        "default": "hello", "example": "hi", "nix_attr_name": "environment.etc.greeting.text", "order": 20,
    }
    users = describe_module(current.Users())["settings"][0]
    assert users["type"] == "list" and users["element_name"] == "User"
    assert [s["name"] for s in users["settings"]] == ["name", "admin"]


def test_old_api_schema(legacy):
    d = describe_module(legacy.Kiosk())
    assert d["display_name"] == "Kiosk (2024)" and d["api"] == "2024" and d["icon"] is None
    assert [s["name"] for s in d["settings"]] == ["kiosk_url", "rotation"]
    url, rotation = d["settings"]
    assert url["nix_attr_name"] == "kiosk.url" and url["type"] == "string" and url["default"] == "https://example.com"
    assert rotation["type"] == "select-one" and [o["value"] for o in rotation["options"]] == ["normal", "left"]


def test_default_write_nix_settings_current_api(current, tmp_path):
    project, path = project_and_path(tmp_path)
    text = render_module(current.Greeter(), {"greeting": 'hi "there" ${x}', "port": "9000", "enable": False}, 80,
                         path, project)
    assert text == (
        '  environment.etc.greeting.text = lib.mkOverride 80 "hi \\"there\\" \\${x}";\n'
        "  demo.port = lib.mkOverride 80 9000;\n"
        "  demo.enable = lib.mkOverride 80 false;\n"
    )
    # settings without nix_attr_name, unknown keys and None values are not written
    assert (render_module(current.Users(), {"note": "x", "bogus": 1, "users": None}, 80, path, project)
            == "  # users module\n")


def test_default_write_nix_settings_old_api(legacy, tmp_path):
    project, path = project_and_path(tmp_path)
    assert render_module(legacy.Kiosk(), {"kiosk_url": "https://a.example"}, 50, path, project) == (
        '  kiosk.url = lib.mkOverride 50 "https://a.example";\n'
    )
    text = render_module(legacy.HomeAssistant(), {"timezone": "UTC"}, 50, path, project)
    assert text.startswith("  services.home-assistant.enable = true;\n  # timezone UTC\n")
    assert '  homeassistant.timezone = lib.mkOverride 50 "UTC";\n' in text


def test_typed_values_are_checked(current, tmp_path):
    project, path = project_and_path(tmp_path)
    with pytest.raises(NixError):
        render_module(current.Greeter(), {"port": "80; evil = true"}, 80, path, project)
    with pytest.raises(NixError):
        render_module(current.Greeter(), {"enable": "yes please"}, 80, path, project)


def test_old_setting_module_write_nix():
    f = io.StringIO()
    models.Setting(name="a.b", type="string").write_nix(f, models.SettingValue('x"'), 10)
    assert f.getvalue() == '  a.b = lib.mkOverride 10 "x\\"";\n'


def test_read_into_base64(tmp_path):
    (tmp_path / "i.png").write_bytes(b"\x89PNG")
    assert read_into_base64(tmp_path / "i.png") == "data:image/png;base64,iVBORw=="
    assert read_into_base64(str(tmp_path / "missing.svg")) is None


def test_builtin_modules_are_described():
    described = {d["type"]: d for d in map(describe_module, builtin_modules())}
    assert set(described) == builtin_module_types()
    device = described["thymis_controller.modules.thymis.ThymisDevice"]
    assert device["display_name"] == "Device"
    assert {s["name"] for s in device["settings"]} == {"device_type", "image_format", "device_name",
                                                       "nix_state_version", "agent_controller_url"}
    assert all(d["icon"] for d in described.values())
    custom = described["thymis_controller.modules.custom_nix.CustomNixModule"]
    assert "as typed" in custom["description"]
    assert [d["type"] for d in builtin_module_descriptions()] == [m.type for m in builtin_modules()]


def builtin(name):
    return next(m for m in builtin_modules() if type(m).__name__ == name)


def test_builtin_render_checks_operator_values(tmp_path):
    project, path = project_and_path(tmp_path)
    with pytest.raises(NixError):
        render_module(builtin("ThymisDevice"), {"device_name": 'x"; y'}, 80, path, project)
    with pytest.raises(NixError):
        render_module(builtin("SSHAccess"), {"authorized_keys": [{"key": 'ssh-ed25519 AAAA"; x'}]}, 80, path, project)
    with pytest.raises(NixError):
        render_module(builtin("SSHAccess"), {"root_password_hash": "plaintext"}, 80, path, project)


@needs_nix
def test_builtin_render_output_is_valid_nix(tmp_path):
    project, path = project_and_path(tmp_path)
    cases = [
        ("ThymisDevice", {"device_name": "sensor-01", "device_type": "raspberry-pi-4", "nix_state_version": "24.11"}),
        ("SSHAccess", {"ssh_enable": True, "authorized_keys": [{"key": "ssh-ed25519 AAAAC3Nz admin@x"}],
                       "root_password_hash": "$6$s$h"}),
        ("BashModule", {"script": 'echo "${HOME}" \'\' done', "on_calendar": "hourly"}),
        ("BashModule", {"script": "date", "packages": [{"package": "curl"}],
                        "timer_config": {"timer_type": "monotonic", "on_boot_sec": "5min"}}),
        ("PythonModule", {"script": "print('${x}')", "python_packages": [{"package": "requests"}]}),
        ("CustomNixModule", {"nix_code": "services.openssh.enable = true;"}),
        ("WhateverModule", {"settings": "services.openssh.enable = true;"}),
        ("NetworkingModule", {"wifi_ssid": "lab", "static_networks": [{"interface": "eth0", "ipv4prefixLength": 24}],
                              "nameservers": [{"nameserver": "1.1.1.1"}]}),
        ("LocalizationModule", {"timezone": "UTC", "time_servers": [{"server": "pool.ntp.org"}]}),
        ("SecurityAccessModule", {"password_secret": "uuid-1", "authorized_keys": [{"key": "ssh-ed25519 AAAA a@b"}]}),
        ("FilesModule", {"artifacts": [{"artifact": "app.bin", "path": "/opt/app", "mode": "0755"}]}),
        ("OCIContainers", {"containers": [{"container_name": "web", "image": "nginx:1", "ports": [
            {"host": "8080", "container": "80"}]}]}),
        ("Kiosk", {"kiosk_url": "https://example.com/", "enable_vnc": True}),
    ]
    for name, settings in cases:
        body = render_module(builtin(name), settings, 80, path, project)
        ok, err = nix_parses(NIX_MODULE_HEADER + body + "}\n")
        assert ok, f"{name}: {err}\n{body}"


@needs_nix
def test_bash_script_reaches_nix_unchanged(tmp_path):
    project, path = project_and_path(tmp_path)
    script = 'echo "${HOME}" \'\' $(id) \\ done'
    body = render_module(builtin("BashModule"), {"script": script}, 80, path, project)
    service = nix_eval_json("let lib = {}; pkgs = { bash = 1; coreutils = 2; }; in rec {\n" + body + "}")
    assert service["systemd"]["services"]["thymis-bash-service-hosts-dev1"]["script"] == f"#!/bin/bash\n{script}\n"


def test_custom_nix_is_written_verbatim(tmp_path):
    project, path = project_and_path(tmp_path)
    code = 'services.openssh.enable = true; # "${as is}"'
    assert code in render_module(builtin("CustomNixModule"), {"nix_code": code}, 80, path, project)


MIXED_API_SOURCE = '''
import thymis_controller
import thymis_controller.lib
import thymis_controller.models
import thymis_controller.project
import thymis_controller.modules.modules as modules
from thymis_controller.models import Setting
from thymis_controller.nix import convert_python_value_to_nix


class Language(modules.Module):
    display_name = "Language"
    # a current-API setting imported from thymis_controller.models (seen in public repositories)
    language = Setting(
        display_name=modules.LocalizedString(en="System language", de="Systemsprache"),
        type=modules.SelectOneType(select_one=["en_US.UTF-8", "de_DE.UTF-8"]),
        default="en_US.UTF-8",
        order=50,
    )

    def write_nix_settings(self, f, path, module_settings: thymis_controller.models.ModuleSettings,
                           priority: int, project: thymis_controller.project.Project):
        language = module_settings.settings.get("language", self.language.default)
        f.write(f"  i18n.defaultLocale = {convert_python_value_to_nix(language)};\\n")
'''


def test_mixed_api_module_from_public_repositories(tmp_path):
    module = load_source(tmp_path, "sdk_mixed_api", MIXED_API_SOURCE)
    try:
        d = describe_module(module.Language())
        assert d["settings"][0]["display_name"] == "System language" and d["settings"][0]["order"] == 50
        project, path = project_and_path(tmp_path)
        text = render_module(module.Language(), {"language": "de_DE.UTF-8"}, 80, path, project)
        assert text == '  i18n.defaultLocale = "de_DE.UTF-8";\n'
    finally:
        sys.modules.pop("sdk_mixed_api", None)


THYMIS_IMPORT_PATHS = {
    "thymis_controller.modules": ["Module", "Setting", "LocalizedString", "localize", "SelectOneType", "ListType",
                                  "TextAreaCodeType", "SecretType", "ArtifactType", "SystemdTimerType",
                                  "SettingTypes", "ALL_MODULES"],
    "thymis_controller.modules.modules": ["Module", "Setting", "LocalizedString", "HasLocalize", "Localizable",
                                          "DEFAULT_PRIORITY", "is_unset_setting_value", "SystemdTimerType"],
    "thymis_controller.models": ["ModuleSettings", "Setting", "SelectOneType", "ListType", "SecretType",
                                 "ArtifactType", "TextAreaCodeType", "SystemdTimerType", "Module"],
    "thymis_controller.models.module": ["SettingTypes", "ValueTypes", "ModuleSettings"],
    "thymis_controller.db_models": ["SecretTypes", "SecretProcessingTypes"],
    "thymis_controller.nix": ["convert_python_value_to_nix", "format_nix_file", "template_env",
                              "generate_timer_settings"],
    "thymis_controller.nix.templating": ["convert_python_value_to_nix", "template_env", "format_nix_file",
                                         "generate_timer_settings", "string_can_be_identifier_for_attrs_key",
                                         "write_comma_separated_identifier_list", "format_nix_value_as_string"],
    "thymis_controller.project": ["Project"],
    "thymis_controller.lib": ["read_into_base64"],
    "thymis_controller.config": ["global_settings"],
}


@pytest.mark.parametrize("path", sorted(THYMIS_IMPORT_PATHS))
def test_every_thymis_module_author_import_path(path):
    module = importlib.import_module(path)
    missing = [name for name in THYMIS_IMPORT_PATHS[path] if not hasattr(module, name)]
    assert not missing, f"{path} lacks {missing}"


def test_one_class_per_setting_type_whichever_path():
    import thymis_controller.models.module as model_types
    import thymis_controller.modules.modules as mm

    for name in ("SelectOneType", "ListType", "SecretType", "ArtifactType", "TextAreaCodeType", "SystemdTimerType"):
        assert getattr(mm, name) is getattr(models, name) is getattr(model_types, name)


def test_template_env_has_thymis_delimiters(tmp_path):
    from thymis_controller.nix import format_nix_file, template_env

    assert template_env.from_string('x = "{{ v }}"; "{% if on %}"y = 1;"{% endif %}"').render(v='"a"', on=True) \
        == 'x = "a"; y = 1;'
    nix_file = tmp_path / "m.nix"
    nix_file.write_text("{ }\n")
    format_nix_file(nix_file)  # without nixpkgs-fmt installed: left as it is, no error
    assert nix_file.read_text().strip() == "{ }"


def test_global_settings_hold_no_secrets():
    from thymis_controller.config import global_settings

    names = set(vars(global_settings))
    assert names >= {"BASE_URL", "AGENT_ACCESS_URL"}
    assert not {n for n in names if "PASSWORD" in n or "SECRET" in n or "KEY" in n or "DATABASE" in n}
