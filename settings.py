"""Controller settings, read from THYMIS_* environment variables with defaults that run on a laptop."""
from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

TRUE_WORDS = {"1", "true", "yes", "on"}
SANDBOX_MODES = ("bwrap", "unsafe-none")


@dataclass
class Settings:
    project_path: Path
    base_url: str = "http://127.0.0.1:8000"
    password_file: Path | None = None
    auth_basic_username: str = "admin"      # the user name of the login form (THYMIS_AUTH_BASIC_USERNAME)
    allow_local_repositories: bool = False
    trust_proxy: bool = False                # one reverse proxy in front: use its X-Forwarded-For/-Proto
    ssh_key: Path | None = None
    system_profile: Path = Path("/nix/var/nix/profiles/system")
    local_activation_command: str = ""       # privileged helper for local switches (set by the NixOS module)
    secrets_dir: str = "/run/thymis/secrets"  # where devices get their secrets (a root-only folder on each)
    secret_paths: tuple = ("/run/thymis",)   # other folders modules may ask to place secrets in (secret_store)
    thymis_flake_url: str = ""               # provides nixosModules.thymis-device and nixpkgs to device builds
    option_check: bool = True                # saves evaluate settings against the thymis flake's option types
    deploy_parallel: int = 4
    job_threads: int = 2
    start_job_worker: bool = True
    job_grace_seconds: float = 20.0  # on SIGTERM: how long running jobs may finish (keep below gunicorn's 30 s)
    fetch_connect_timeout: float = 15.0
    fetch_transfer_timeout: float = 300.0
    sandbox: str = "bwrap"                   # or "unsafe-none": repository code runs without isolation
    sandbox_python: str | None = None        # the sandbox's interpreter (None: the one scripts/setup.sh chose)
    sandbox_env: Path | None = None          # its pinned packages (None: .sandbox-env beside the code)
    fetch_stall_seconds: float = 30.0        # a remote silent this long mid-transfer fails the fetch
    fetch_max_bytes: int = 512 << 20         # pack bytes one fetch may receive
    fetch_max_object_bytes: int = 64 << 20   # inflated size of one object in a pack
    checkout_max_bytes: int = 256 << 20      # total size of the files of one exported checkout
    checkout_max_files: int = 100_000        # entries (files, folders, links) of one exported checkout
    scheduler_seconds: float = 10.0          # how often each server process looks for due refreshes
    refresh_minute_seconds: float = 60.0     # how long a minute of refresh_interval lasts (shorter in tests only)
    extra: dict = field(default_factory=dict)

    @property
    def database_path(self) -> Path:
        return self.project_path / "controller.sqlite3"

    @property
    def repos_path(self) -> Path:
        return self.project_path / "repos"

    @property
    def checkouts_path(self) -> Path:
        return self.project_path / "checkouts"

    @property
    def project_dir(self) -> Path:
        return self.project_path / "project"

    @property
    def ssh_dir(self) -> Path:
        return self.project_path / "ssh"

    def mirror_path(self, name: str) -> Path:
        return self.repos_path / f"{name}.git"

    def checkout_root(self, name: str) -> Path:
        return self.checkouts_path / name


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in TRUE_WORDS


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def _env_number(name: str, default, kind=int):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = kind(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a {'whole ' if kind is int else ''}number") from None
    if number <= 0:
        raise ValueError(f"{name}={value!r} must be greater than 0")
    return number


def default_thymis_flake_url(root: Path | None = None) -> str:
    """This project's own flake (it provides the device base module), wherever the code is installed.

    A git checkout is referenced as git+file, so only tracked files reach the Nix store: `path:` would copy the
    whole folder, the local data folder (database, secret keys) and .venv included, into the world-readable store.
    """
    root = root or Path(__file__).resolve().parent
    if not (root / "flake.nix").exists():
        return ""
    return f"git+file://{root}" if (root / ".git").exists() else f"path:{root}"


def thymis_flake_url_from_env() -> str:
    """THYMIS_FLAKE_URL; else, as Thymis does, THYMIS_FLAKE_ROOT (a checkout of the flake, used as
    `git+file://<resolved folder>`); else this project's own flake."""
    if os.environ.get("THYMIS_FLAKE_URL"):
        return os.environ["THYMIS_FLAKE_URL"]
    root = os.environ.get("THYMIS_FLAKE_ROOT")
    if root:
        return f"git+file://{Path(root).resolve()}"
    return default_thymis_flake_url()


def _is_cli_command() -> bool:
    """`flask --app app repos ...` runs its own job in the foreground; only servers start the worker."""
    return os.environ.get("FLASK_RUN_FROM_CLI") == "true" and "run" not in sys.argv[1:]


def load_settings(overrides: dict | None = None) -> Settings:
    overrides = dict(overrides or {})
    values = {
        "project_path": Path(os.environ.get("THYMIS_PROJECT_PATH", "data")).absolute(),
        "base_url": os.environ.get("THYMIS_BASE_URL", "http://127.0.0.1:8000"),
        "password_file": _env_path("THYMIS_AUTH_BASIC_PASSWORD_FILE"),
        "allow_local_repositories": _env_bool("THYMIS_ALLOW_LOCAL_REPOSITORIES", False),
        "trust_proxy": _env_bool("THYMIS_TRUST_PROXY", False),
        "ssh_key": _env_path("THYMIS_SSH_KEY"),
        "system_profile": Path(os.environ.get("THYMIS_SYSTEM_PROFILE", "/nix/var/nix/profiles/system")),
        "local_activation_command": os.environ.get("THYMIS_LOCAL_ACTIVATION_COMMAND", ""),
        "auth_basic_username": os.environ.get("THYMIS_AUTH_BASIC_USERNAME", "").strip() or "admin",
        "thymis_flake_url": thymis_flake_url_from_env(),
        "option_check": _env_bool("THYMIS_OPTION_CHECK", True),
        "secrets_dir": os.environ.get("THYMIS_SECRETS_DIR") or "/run/thymis/secrets",
        "secret_paths": tuple(p for p in os.environ.get("THYMIS_SECRET_PATHS", "/run/thymis").split(":") if p),
        "deploy_parallel": int(os.environ.get("THYMIS_DEPLOY_PARALLEL", "4")),
        "job_threads": int(os.environ.get("THYMIS_JOB_THREADS", "2")),
        "start_job_worker": not _is_cli_command(),
        "job_grace_seconds": float(os.environ.get("THYMIS_JOB_GRACE_SECONDS", "20")),
        "sandbox": (os.environ.get("THYMIS_SANDBOX") or "bwrap").strip(),
        "sandbox_python": os.environ.get("THYMIS_SANDBOX_PYTHON") or None,
        "sandbox_env": _env_path("THYMIS_SANDBOX_ENV"),
        "fetch_stall_seconds": _env_number("THYMIS_FETCH_STALL_SECONDS", 30.0, float),
        "fetch_max_bytes": _env_number("THYMIS_FETCH_MAX_BYTES", 512 << 20),
        "fetch_max_object_bytes": _env_number("THYMIS_FETCH_MAX_OBJECT_BYTES", 64 << 20),
        "checkout_max_bytes": _env_number("THYMIS_CHECKOUT_MAX_BYTES", 256 << 20),
        "checkout_max_files": _env_number("THYMIS_CHECKOUT_MAX_FILES", 100_000),
        "scheduler_seconds": _env_number("THYMIS_SCHEDULER_SECONDS", 10.0, float),
        "refresh_minute_seconds": _env_number("THYMIS_REFRESH_MINUTE_SECONDS", 60.0, float),
    }
    values.update(overrides)
    values["project_path"] = Path(values["project_path"]).absolute()
    values["secrets_dir"] = str(values["secrets_dir"])
    values["secrets_dir"] = _secret_folder(values["secrets_dir"], "THYMIS_SECRETS_DIR")
    values["secret_paths"] = tuple(_secret_folder(p, "THYMIS_SECRET_PATHS") for p in values["secret_paths"])
    if values["sandbox"] not in SANDBOX_MODES:
        raise ValueError(f"THYMIS_SANDBOX must be one of {', '.join(SANDBOX_MODES)}, not {values['sandbox']!r}")
    return Settings(**values)


SYSTEM_FOLDERS = ("/bin", "/boot", "/dev", "/etc", "/lib", "/nix", "/proc", "/root", "/sbin", "/sys", "/usr")


def _secret_folder(path, name: str) -> str:
    """A folder secrets are placed in on devices: absolute, plain, at least two levels deep, and not a system
    folder or inside one (a module could otherwise ask for /etc/shadow)."""
    path = str(path).rstrip("/")
    if not path.startswith("/") or any(c.isspace() or c in "'\"$`\\:" for c in path):
        raise ValueError(f"{name} must hold absolute paths without spaces or quotes")
    parts = path.split("/")[1:]
    if len(parts) < 2 or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"{name}: {path} must be a plain folder at least two levels deep (like /run/thymis)")
    if any(path == f or path.startswith(f + "/") for f in SYSTEM_FOLDERS):
        raise ValueError(f"{name}: {path} is a system folder, where modules must not place files")
    return path


def read_or_create_secret(path: Path, make=lambda: secrets.token_urlsafe(32)) -> str:
    """A secret kept in a 0600 file in the data folder, created on first use.

    Written to a private temporary file and linked into place, so a concurrent reader (another gunicorn
    worker starting at the same moment) sees either no file or the whole secret, never an empty one."""
    try:
        value = path.read_text().strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(make() + "\n")
    try:
        os.link(temporary, path)
    except FileExistsError:  # another worker won the race; use its secret
        pass
    finally:
        temporary.unlink()
    return path.read_text().strip()
