"""Running a module's ``write_nix_settings`` and collecting the Nix text it writes.

Used inside the sandbox for external modules; built-in modules are trusted and
may also be rendered in-process with the same functions.
"""

from __future__ import annotations

import inspect
import io
import pathlib
from typing import Any

from thymis_controller.models import ModuleSettings
from thymis_controller.modules.modules import Module
from thymis_controller.project import Project

__all__ = ["render_module", "call_write_nix_settings", "render_module_file", "NIX_MODULE_HEADER"]

NIX_MODULE_HEADER = "{ pkgs, lib, inputs, config, ... }:\n{\n"


def _uses_2024_signature(method) -> bool:
    """True for ``write_nix_settings(self, f, module_settings, priority)``."""
    try:
        params = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):
        return False
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return False  # the base class's flexible signature: give it the current form
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    names = {p.name for p in positional}
    if "path" in names or "project" in names:
        return False
    return len(positional) <= 3


def call_write_nix_settings(module: Module, f, path, module_settings: ModuleSettings, priority: int, project) -> None:
    """Call ``module.write_nix_settings`` with the argument list its API expects."""
    method = module.write_nix_settings
    if _uses_2024_signature(method):
        method(f, module_settings, priority)
    else:
        method(f, path, module_settings, priority, project)


def render_module(
    module: Module,
    settings: dict[str, Any],
    priority: int,
    path: pathlib.Path,
    project: Project,
) -> str:
    """The Nix text (attribute definitions, without the surrounding module) that
    ``module`` writes for ``settings`` at ``priority``."""
    module_settings = ModuleSettings(type=module.type, settings=dict(settings))
    f = io.StringIO()
    call_write_nix_settings(module, f, path, module_settings, int(priority), project)
    return f.getvalue()


def render_module_file(module: Module, path, module_settings: ModuleSettings, priority: int,
                       project=None) -> pathlib.Path:
    """Write ``<path>/<module type>.nix``: a NixOS module wrapping the module's settings."""
    path = pathlib.Path(path)
    project = project if project is not None else Project(path)
    f = io.StringIO()
    f.write(NIX_MODULE_HEADER)
    call_write_nix_settings(module, f, path, module_settings, int(priority), project)
    f.write("\n}\n")
    target = path / f"{module.type}.nix"
    target.write_text(f.getvalue(), encoding="utf-8")
    return target
