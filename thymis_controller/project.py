"""What a module's ``write_nix_settings`` receives as ``project``.

In Thymis this is the controller's whole project object. Here modules only get
this small stand-in: ``path`` is a folder inside the sandbox's temporary
directory (the ``path`` argument of ``write_nix_settings`` lies below
``path / "repository"``), so modules that compute names relative to it keep
working. Nothing else of the controller is reachable through it.
"""

from __future__ import annotations

import pathlib

__all__ = ["Project"]


class Project:
    def __init__(self, path: str | pathlib.Path):
        self.path = pathlib.Path(path)
        self.repo_dir = self.path / "repository"

    def __repr__(self) -> str:
        return f"Project({str(self.path)!r})"
