"""Which isolation the sandbox uses, with which interpreter and which pinned third-party environment.

Settings (environment, read by settings.py and handed over with :func:`configure`):

* ``THYMIS_SANDBOX``: ``bwrap`` (the default: bubblewrap, see bwrap.py) or ``unsafe-none`` (no isolation at all,
  for trusted repositories only; every page then shows a warning).
* ``THYMIS_SANDBOX_PYTHON``: the interpreter repository code runs on (Thymis uses Python 3.13). Default: the one
  scripts/setup.sh recorded in the environment folder, else the web process's own.
* ``THYMIS_SANDBOX_ENV``: the read-only folder with the pinned packages repository code may import (pydantic,
  jinja2; sandbox/requirements.txt), built by scripts/setup.sh for that interpreter. Default: ``.sandbox-env``
  beside the code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import thymis_controller

__all__ = ["MODES", "SDK_DIR", "Interpreter", "SandboxConfig", "configure", "current", "interpreter_info"]

MODES = ("bwrap", "unsafe-none")
SDK_DIR = Path(thymis_controller.__file__).resolve().parent
CODE_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ENV = CODE_ROOT / ".sandbox-env"
INTERPRETER_FILE = ".interpreter"   # written by scripts/setup.sh: the interpreter's path, then its version


class ConfigError(ValueError):
    """A sandbox setting has a value that cannot work."""


@dataclass(frozen=True)
class SandboxConfig:
    mode: str = "bwrap"
    python: str | None = None           # None: recorded by setup.sh, else this process's interpreter
    env_dir: Path | None = None         # None: DEFAULT_ENV

    @property
    def environment(self) -> Path:
        return Path(self.env_dir or DEFAULT_ENV)

    def interpreter(self) -> str:
        """The interpreter's real path: what bwrap binds and runs."""
        if self.python:
            return os.path.realpath(self.python)
        recorded = _recorded_interpreter(self.environment)
        return os.path.realpath(recorded or sys.executable)


def _recorded_interpreter(env_dir: Path) -> str | None:
    try:
        first = (env_dir / INTERPRETER_FILE).read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError):
        return None
    return first if first and os.path.isfile(first) else None


def from_environment(environ=os.environ) -> SandboxConfig:
    mode = (environ.get("THYMIS_SANDBOX") or "bwrap").strip()
    if mode not in MODES:
        raise ConfigError(f"THYMIS_SANDBOX must be one of {', '.join(MODES)}, not {mode!r}")
    env_dir = environ.get("THYMIS_SANDBOX_ENV")
    return SandboxConfig(mode=mode, python=environ.get("THYMIS_SANDBOX_PYTHON") or None,
                         env_dir=Path(env_dir) if env_dir else None)


_lock = threading.Lock()
_config: SandboxConfig | None = None


def configure(config: SandboxConfig) -> None:
    """Set the configuration for this process (create_app does, from the settings)."""
    global _config
    with _lock:
        _config = config


def current() -> SandboxConfig:
    """The configuration in force: the one set by :func:`configure`, else the environment's."""
    with _lock:
        if _config is None:
            return from_environment()
        return _config


@dataclass(frozen=True)
class Interpreter:
    """What the sandbox needs to know about an interpreter to bind exactly its files."""
    executable: str
    version: str                        # "3.13.0"
    stdlib: str
    platstdlib: str
    library: str | None                 # the shared libpython, when the interpreter uses one
    site_packages: tuple[str, ...]      # hidden inside the sandbox (an empty tmpfs over each)


_INFO_SOURCE = """
import json, os, site, sys, sysconfig
v = sysconfig.get_config_var
lib = None
if v("Py_ENABLE_SHARED") and v("LIBDIR") and v("INSTSONAME"):
    candidate = os.path.join(v("LIBDIR"), v("INSTSONAME"))
    lib = candidate if os.path.exists(candidate) else None
paths = sysconfig.get_paths()
sites = set(site.getsitepackages() + [paths["purelib"], paths["platlib"]])
print(json.dumps({"version": "%d.%d.%d" % sys.version_info[:3], "stdlib": paths["stdlib"],
                  "platstdlib": paths["platstdlib"], "library": lib, "site_packages": sorted(sites)}))
"""
_info_cache: dict[tuple, Interpreter] = {}


def interpreter_info(executable: str) -> Interpreter:
    """Ask the interpreter once (cached by path and modification time) where its files are."""
    try:
        key = (executable, os.stat(executable).st_mtime_ns)
    except OSError as e:
        raise ConfigError(f"the sandbox interpreter {executable} cannot be used: {e.strerror} "
                          "(set THYMIS_SANDBOX_PYTHON)") from None
    if key in _info_cache:
        return _info_cache[key]
    try:
        done = subprocess.run([executable, "-I", "-S", "-c", _INFO_SOURCE], capture_output=True, text=True,
                              check=False, timeout=20, env={"PATH": os.defpath, "LANG": "C.UTF-8"})
        data = json.loads(done.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        raise ConfigError(f"the sandbox interpreter {executable} does not run: {e} (set THYMIS_SANDBOX_PYTHON)") \
            from None
    info = Interpreter(executable=executable, version=data["version"], stdlib=data["stdlib"],
                       platstdlib=data["platstdlib"], library=data["library"],
                       site_packages=tuple(data["site_packages"]))
    _info_cache[key] = info
    return info


def environment_version(env_dir: Path) -> str | None:
    """The Python version (major.minor) the pinned environment was built for, as setup.sh recorded it."""
    try:
        lines = (env_dir / INTERPRETER_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    return lines[1].strip() if len(lines) > 1 else None
