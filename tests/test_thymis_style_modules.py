"""A repository whose modules are written the way Thymis's built-in ones are (3.12+ syntax, pydantic.JsonValue,
every SDK import path), discovered and rendered through the real sandbox, on the sandbox's Python 3.13."""
from __future__ import annotations

import sandbox
from sandbox import discover, render
from tests.support import repo_trees

SIGNAGE = '''\
import pathlib
from typing import List, Tuple

import thymis_controller
import thymis_controller.modules.modules as modules
from pydantic import JsonValue
from thymis_controller import db_models, models
from thymis_controller.config import global_settings
from thymis_controller.lib import read_into_base64
from thymis_controller.models import ModuleSettings
from thymis_controller.models.module import SettingTypes, ValueTypes
from thymis_controller.modules import Module, Setting
from thymis_controller.nix import convert_python_value_to_nix as from_nix_package
from thymis_controller.nix.templating import (
    convert_python_value_to_nix,
    format_nix_file,
    generate_timer_settings,
    template_env,
)
from thymis_controller.project import Project

type Localizable = str | modules.LocalizedString   # Python 3.12: type statement


class Signage(modules.Module):
    display_name = modules.LocalizedString(en="Signage", de="Beschilderung")
    category = modules.LocalizedString(en="Display", de="Anzeige")
    description = "Shows slides and refreshes them on a timer."
    icon: str = read_into_base64(str(pathlib.Path(__file__).parent / "signage.svg"))

    slides = Setting(
        display_name="Slides",
        nix_attr_name="signage.slides",
        type=modules.ListType(
            settings={
                "url": modules.Setting(display_name="URL", type="string", default=""),
                "seconds": modules.Setting(display_name="Seconds", type="int", default=10),
            },
            element_name="Slide",
            element_key="url",
        ),
        default=[],
        order=10,
    )
    layout = modules.Setting(
        display_name="Layout",
        type=modules.SelectOneType(select_one=[("Full screen", "full"), ("Split", "split")],
                                   extra_data={"only_editable_on_target_type": ["config"]}),
        default="full",
        nix_attr_name="signage.layout",
        order=20,
    )
    api_token = modules.Setting(
        display_name="API token",
        type=modules.SecretType(allowed_types=[db_models.SecretTypes.SINGLE_LINE],
                                default_processing_type=db_models.SecretProcessingTypes.NONE,
                                default_save_to_image=False, on_device_path="/run/signage/token"),
        order=30,
    )
    logo = modules.Setting(display_name="Logo", type=modules.ArtifactType(), order=40)
    refresh = modules.Setting(display_name="Refresh", type=modules.SystemdTimerType(timer_type="monotonic"),
                              default=None, order=50)
    extra_css = modules.Setting(display_name="CSS", type=modules.TextAreaCodeType(language="css"), order=60)

    def write_nix_settings(self, f, path, module_settings: models.ModuleSettings, priority: int,
                           project: Project):
        assert isinstance(project, Project) and isinstance(module_settings, ModuleSettings)
        settings: dict[str, JsonValue] = module_settings.settings
        unit = "signage-" + str(path.relative_to(project.path / "repository")).replace("/", "-")
        timer = models.SystemdTimerType.model_validate(settings.get("refresh") or {"timer_type": "monotonic"})
        lines = generate_timer_settings(timer)
        # Python 3.12: a backslash inside an f-string expression
        f.write(f"  systemd.timers.{convert_python_value_to_nix(unit)} = {{\\n    {'\\n    '.join(lines)}\\n  }};\\n")
        f.write(f"  signage.controller = {from_nix_package(global_settings.BASE_URL)};\\n")
        secrets = self.register_secret_settings(module_settings, project)
        f.write(f"  signage.secrets = {convert_python_value_to_nix(len(secrets))};\\n")
        css_value = convert_python_value_to_nix(settings.get("extra_css", ""))
        css = template_env.from_string('css = "{{ css }}";').render(css=css_value)
        f.write(f"  signage.{css}\\n")
        scratch = project.path / "fmt.nix"
        scratch.write_text("{ }\\n")
        format_nix_file(str(scratch))   # a no-op without nixpkgs-fmt, as Thymis logs and goes on
        assert SettingTypes is not None and ValueTypes is not None and thymis_controller.db_models is db_models
        return super().write_nix_settings(f, path, module_settings, priority, project)


class Abstract(Module):
    """No display name: a helper base, not listed."""


def secrets_of(module: Module, settings: ModuleSettings,
               project: Project) -> List[Tuple[modules.SecretType, JsonValue]]:
    return module.register_secret_settings(settings, project)
'''


def signage_repo(tmp_path):
    return repo_trees.make_repo(tmp_path / "repo", files={
        "signage_modules/__init__.py": "",
        "signage_modules/signage.py": SIGNAGE,
        "signage_modules/signage.svg": repo_trees.GREETER_SVG,
    })


def test_the_sandbox_runs_python_3_12_or_newer():
    # Thymis's modules need 3.12 syntax; scripts/setup.sh picks the newest 3.12+ (3.13 here, as Thymis uses)
    status = sandbox.isolation(refresh=True)
    assert status["isolation"] == "bwrap", status
    assert tuple(int(p) for p in status["python"].split(".")[:2]) >= (3, 12) and status["python_warning"] is None


def test_thymis_style_module_is_discovered(tmp_path):
    [signage] = discover(signage_repo(tmp_path), ["signage_modules"])
    assert signage["type"] == "signage_modules.signage.Signage" and signage["display_name"] == "Signage"
    assert signage["category"] == "Display" and signage["icon"].startswith("data:image/svg+xml;base64,")
    settings = {s["name"]: s for s in signage["settings"]}
    assert list(settings) == ["slides", "layout", "api_token", "logo", "refresh", "extra_css"]
    assert settings["slides"]["type"] == "list" and settings["slides"]["element_key"] == "url"
    assert [o["value"] for o in settings["layout"]["options"]] == ["full", "split"]
    assert settings["api_token"]["type"] == "secret" and settings["api_token"]["allowed_types"] == ["single_line"]
    assert settings["logo"]["type"] == "artifact"
    assert settings["refresh"]["type"] == "systemd-timer"
    assert settings["refresh"]["timer_defaults"]["timer_type"] == "monotonic"
    assert settings["extra_css"]["type"] == "textarea-code" and settings["extra_css"]["language"] == "css"


def test_thymis_style_module_renders_next_to_built_ins(tmp_path):
    settings = {
        "slides": [{"url": "https://a.example/1", "seconds": 5}],
        "layout": "split",
        "api_token": "secret-id",
        "refresh": {"timer_type": "monotonic", "on_boot_sec": "1min", "on_unit_active_sec": "10min"},
        "extra_css": 'body { content: "${x}"; }',
    }
    signage, bash = render([signage_repo(tmp_path)], [
        {"module_type": "signage_modules.signage.Signage", "settings": settings, "priority": 80,
         "path": "hosts/screen-1"},
        {"module_type": "thymis_controller.modules.bash.BashModule", "settings": {"script": "true"}, "priority": 80,
         "path": "hosts/screen-1"},
    ])
    assert signage == (
        '  systemd.timers."signage-hosts-screen-1" = {\n'
        '    timerConfig.OnBootSec = "1min";\n    timerConfig.OnUnitActiveSec = "10min";\n  };\n'
        '  signage.controller = "http://localhost:8000";\n'
        "  signage.secrets = 1;\n"
        '  signage.css = "body { content: \\"\\${x}\\"; }";\n'
        "  signage.slides = lib.mkOverride 80 [\n"
        '  {\n  url = "https://a.example/1";\n  seconds = 5;\n}\n];\n'
        '  signage.layout = lib.mkOverride 80 "split";\n')
    assert 'systemd.services."thymis-bash-service-hosts-screen-1"' in bash
