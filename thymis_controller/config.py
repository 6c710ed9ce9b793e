"""``thymis_controller.config.global_settings``: the controller settings Thymis's modules read.

Only harmless values: where the controller is reached (``BASE_URL``, ``AGENT_ACCESS_URL``, from
``THYMIS_BASE_URL`` / ``THYMIS_AGENT_ACCESS_URL`` when set) and Thymis's defaults for the rest. No
password, key or database location of this controller is reachable here, and module code in the sandbox
sees none of the controller's environment, so there it always holds the defaults.
"""
from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass, field

__all__ = ["GlobalSettings", "global_settings"]


def _env(name: str, default):
    value = os.environ.get(f"THYMIS_{name}")
    return value if value else default


@dataclass
class GlobalSettings:
    BASE_URL: str = field(default_factory=lambda: _env("BASE_URL", "http://localhost:8000"))
    AGENT_ACCESS_URL: str | None = field(default_factory=lambda: _env("AGENT_ACCESS_URL", None))
    PROJECT_PATH: pathlib.Path = pathlib.Path("/var/lib/thymis")
    AUTH_BASIC: bool = True
    AUTH_BASIC_USERNAME: str = "admin"
    LOG_RETENTION_DAYS: int = 7


global_settings = GlobalSettings()
