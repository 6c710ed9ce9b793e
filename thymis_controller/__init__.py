"""The Thymis-compatible module SDK that external repositories import.

Import paths match Thymis so existing repositories load unchanged:
``thymis_controller.modules`` / ``.modules.modules`` (Module, Setting, ...),
``thymis_controller.models`` (ModuleSettings and the 2024 Setting),
``thymis_controller.lib`` (read_into_base64), ``thymis_controller.nix``
(safe conversion of values to Nix) and ``thymis_controller.project``.

This package must stay free of the web application's code: the sandbox puts
only this package on the path of the interpreter that runs external modules.
"""

# Imported so that `import thymis_controller` alone makes `thymis_controller.models`
# etc. available, as repositories written for Thymis expect.
from thymis_controller import lib, models, modules, nix, project

__all__ = ["lib", "models", "modules", "nix", "project"]
