"""The Thymis-compatible module SDK that external repositories import.

Import paths match Thymis so existing repositories load unchanged:

* ``thymis_controller.modules`` / ``.modules.modules``: Module, Setting, LocalizedString, the setting types
  (SelectOneType, ListType, TextAreaCodeType, SecretType, ArtifactType, SystemdTimerType)
* ``thymis_controller.models`` (and ``.models.module``): ModuleSettings, the setting types, the 2024 Setting
* ``thymis_controller.db_models``: SecretTypes, SecretProcessingTypes
* ``thymis_controller.nix`` and ``.nix.templating``: convert_python_value_to_nix, template_env,
  format_nix_file, generate_timer_settings (and this controller's safe ``to_nix``)
* ``thymis_controller.project.Project``, ``thymis_controller.lib.read_into_base64``,
  ``thymis_controller.config.global_settings``
* the built-in modules as ``thymis_controller.modules.<file>.<Class>``, named as in Thymis

Standard library only (Jinja2 is imported when ``template_env`` is first used): the web process imports
it to describe the built-in modules, and the sandbox puts only this package (and its own pinned
environment) on the path of the interpreter that runs external modules. It never imports the web
application's code.
"""

# Imported so that `import thymis_controller` alone makes `thymis_controller.models`
# etc. available, as repositories written for Thymis expect.
from thymis_controller import config, db_models, lib, models, modules, nix, project

__all__ = ["config", "db_models", "lib", "models", "modules", "nix", "project"]
