"""What a module's ``write_nix_settings`` receives as ``project``.

In Thymis this is the controller's whole project object. Here modules get this small stand-in with the
members modules use: ``path`` is a folder inside the sandbox's temporary directory and ``repo_path``
(also ``repo_dir``) its ``repository`` folder, below which lies the ``path`` argument of
``write_nix_settings`` (``repository/hosts/<device>`` or ``repository/tags/<tag>``), so modules that compute
names relative to it (``path.relative_to(project.path / "repository")``) keep working. Nothing else of the
controller is reachable through it.
"""

from __future__ import annotations

import pathlib

__all__ = ["BUILTIN_REPOSITORIES", "HOST_PRIORITY", "Project"]

HOST_PRIORITY = 80
BUILTIN_REPOSITORIES = ("thymis", "nixpkgs")


class Project:
    def __init__(self, path: str | pathlib.Path):
        self.path = pathlib.Path(path)
        self.repo_path = self.path / "repository"
        self.repo_dir = self.repo_path

    def __repr__(self) -> str:
        return f"Project({str(self.path)!r})"
