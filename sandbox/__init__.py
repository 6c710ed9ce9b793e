"""Running repository code: module discovery and Nix rendering, for the pipeline and deploy."""

from sandbox.runner import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
    SDK_DIR,
    Isolation,
    SandboxError,
    discover,
    hide_from_sandbox,
    isolation,
    probe,
    render,
)

__all__ = [
    "DEFAULT_MEMORY_MB",
    "DEFAULT_TIMEOUT",
    "SDK_DIR",
    "Isolation",
    "SandboxError",
    "discover",
    "hide_from_sandbox",
    "isolation",
    "probe",
    "render",
]
