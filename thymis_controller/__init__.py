"""The Thymis-compatible module SDK that external repositories import.

Import paths match Thymis so existing repositories load unchanged:
``thymis_controller.modules`` / ``.modules.modules`` (Module, Setting, ...),
``thymis_controller.models`` (ModuleSettings and the 2024 Setting),
``thymis_controller.lib`` (read_into_base64), ``thymis_controller.nix``
(safe conversion of values to Nix) and ``thymis_controller.project``.

This package must stay free of the web application's code: the sandbox puts
only this package on the path of the interpreter that runs external modules.
"""

from thymis_controller import lib, models, nix, project  # noqa: F401  (attribute access after `import thymis_controller`)
from thymis_controller import modules  # noqa: F401,E402
