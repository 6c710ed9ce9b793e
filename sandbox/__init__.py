"""Running repository code: module discovery and Nix rendering in a bubblewrap sandbox, for the pipeline and deploy.

config.py: which isolation, interpreter and pinned environment; bwrap.py: the sandbox's command line; runner.py:
one run (limits, timeout, result); operations.py: discover, render (one run per repository), probe, isolation;
child.py: the program inside; module_json.py: checking what it returns.
"""

from sandbox.config import SDK_DIR, ConfigError, SandboxConfig, configure
from sandbox.operations import THYMIS_PYTHON, discover, isolation, probe, render
from sandbox.runner import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
    SandboxError,
    hide_from_sandbox,
)

__all__ = [
    "DEFAULT_MEMORY_MB",
    "DEFAULT_TIMEOUT",
    "SDK_DIR",
    "THYMIS_PYTHON",
    "ConfigError",
    "SandboxConfig",
    "SandboxError",
    "configure",
    "discover",
    "hide_from_sandbox",
    "isolation",
    "probe",
    "render",
]
