"""Fixtures for the deploy tests: real git repositories, the nixpkgs and thymis STAND-INs, real sshd.

Import with ``from tests.deploy_fixtures import *``. Nix runs offline with ``sandbox = false`` (the
stand-in's toplevel is built by /bin/sh with the host's /bin tools; Debian's nix.conf already says so).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deploy.hosts import SshOptions

FIXTURES = Path(__file__).parent / "fixtures"
NIX_CONFIG = "experimental-features = nix-command flakes\nsubstituters =\nsandbox = false\n"
SSHD = "/usr/sbin/sshd"

__all__ = ["nix_config", "standins", "thymis_fork", "make_repo", "ext_repo", "ext_with_thymis", "activation_log",
           "sshd", "Recorder", "git_repo", "toplevel_config", "StandIns", "Sshd"]


@pytest.fixture(scope="session")
def nix_config():
    """Offline flakes without sandbox for every nix the tests (and the code under test) start."""
    old = os.environ.get("NIX_CONFIG")
    os.environ["NIX_CONFIG"] = NIX_CONFIG
    yield NIX_CONFIG
    if old is None:
        os.environ.pop("NIX_CONFIG", None)
    else:
        os.environ["NIX_CONFIG"] = old


def git_repo(path: Path, files: dict[str, str] | None = None, *, source: Path | None = None) -> str:
    """Create (or add a commit to) a git repository at ``path`` with ``files``; returns the commit id."""
    path.mkdir(parents=True, exist_ok=True)
    if source is not None:
        shutil.copytree(source, path, dirs_exist_ok=True)
    for name, text in (files or {}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid")
    if not (path / ".git").exists():
        subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=env)
    subprocess.run(["git", "-C", str(path), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(path), "commit", "-q", "--allow-empty", "-m", "fixture"], check=True, env=env)
    return subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], check=True, env=env,
                          capture_output=True, text=True).stdout.strip()


def pinned(path: Path, rev: str) -> str:
    return f"git+file://{path}?rev={rev}"


@dataclass
class StandIns:
    nixpkgs_url: str
    thymis_url: str
    root: Path


def _thymis_flake(into: Path, nixpkgs_url: str, marker: str) -> str:
    shutil.copytree(FIXTURES / "thymis-standin", into)
    flake = into / "flake.nix"
    flake.write_text(flake.read_text().replace("@NIXPKGS_URL@", nixpkgs_url))
    module = into / "thymis-device.nix"
    module.write_text(module.read_text().replace('thymis.base = "thymis-standin";', f'thymis.base = "{marker}";'))
    return pinned(into, git_repo(into))


@pytest.fixture(scope="session")
def standins(tmp_path_factory, nix_config) -> StandIns:
    """The nixpkgs STAND-IN and the test thymis flake as pinned local git repositories."""
    root = tmp_path_factory.mktemp("standins")
    nixpkgs = root / "nixpkgs"
    nixpkgs_url = pinned(nixpkgs, git_repo(nixpkgs, source=FIXTURES / "nixpkgs-device-standin"))
    thymis_url = _thymis_flake(root / "thymis", nixpkgs_url, "thymis-standin")
    return StandIns(nixpkgs_url, thymis_url, root)


@pytest.fixture(scope="session")
def thymis_fork(standins) -> str:
    """A fork of the test thymis flake (its device module sets thymis.base = "thymis-fork")."""
    return _thymis_flake(standins.root / "thymis-fork", standins.nixpkgs_url, "thymis-fork")


EXT_FLAKE = """{
  description = "an external repository of thymis modules (test fixture)";
  INPUTS
  outputs = { self, ... }@inputs: {
    value = "VALUE";
    nixosModules.greeter = { lib, config, ... }: {
      greeter.enabled = true;
      greeter.greeting = lib.mkDefault "hello from ext";
    };
    packages.x86_64-linux.greeting = builtins.derivation {
      name = "greeting";
      system = "x86_64-linux";
      builder = "/bin/sh";
      args = [ "-c" "echo VALUE > $out" ];
    };
  };
}
"""


@pytest.fixture
def make_repo(tmp_path):
    """make_repo(name, value, thymis_url=None) -> pinned URL of an external repository with a flake."""
    def make(name: str, value: str = "from-ext", thymis_url: str | None = None) -> str:
        inputs = f'inputs.thymis.url = "{thymis_url}";' if thymis_url else ""
        flake = EXT_FLAKE.replace("INPUTS", inputs).replace("VALUE", value)
        path = tmp_path / "repos" / name
        rev = git_repo(path, {"flake.nix": flake, "README.md": "This repository contains thymis modules.\n"})
        return pinned(path, rev)
    return make


@pytest.fixture
def ext_repo(make_repo) -> str:
    return make_repo("ext")


@pytest.fixture
def ext_with_thymis(make_repo, thymis_fork) -> str:
    return make_repo("forked", "from-forked", thymis_url=thymis_fork)


@pytest.fixture
def activation_log(tmp_path, monkeypatch) -> Path:
    """The file the stand-in's switch-to-configuration appends to (via THYMIS_TEST_ACTIVATION_LOG)."""
    path = tmp_path / "activations.log"
    monkeypatch.setenv("THYMIS_TEST_ACTIVATION_LOG", str(path))
    return path


def toplevel_config(store_path: str) -> dict:
    return json.loads((Path(store_path) / "config.json").read_text())


@dataclass
class Recorder:
    """A job context stand-in that keeps what it is told."""
    progress_calls: list[tuple[str, int, int]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def progress(self, phase: str, done: int = 0, total: int = 0) -> None:
        self.progress_calls.append((phase, done, total))

    def log(self, line: str) -> None:
        self.lines.append(line)


@dataclass
class Sshd:
    port: int
    options: SshOptions
    target: str
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sshd(tmp_path) -> Sshd:
    """A real sshd on a loopback port: its own host key, root login with a test key only. The device it
    stands for shares this machine's Nix store."""
    if os.geteuid() != 0:
        pytest.skip("sshd for root login needs root")
    base = tmp_path / "sshd"
    base.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / "host_key")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / "client_key")], check=True)
    shutil.copy(base / "client_key.pub", base / "authorized_keys")
    port = _free_port()
    host_pub = (base / "host_key.pub").read_text().split()
    (base / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    (base / "sshd_config").write_text(f"""\
Port {port}
ListenAddress 127.0.0.1
HostKey {base / 'host_key'}
PidFile {base / 'sshd.pid'}
AuthorizedKeysFile {base / 'authorized_keys'}
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
StrictModes no
LogLevel VERBOSE
""")
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory
    log = base / "sshd.log"
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(base / "sshd_config")], stdout=open(log, "w"),
                            stderr=subprocess.STDOUT)
    options = SshOptions(key_file=base / "client_key", known_hosts_file=base / "known_hosts", connect_timeout=5)
    try:
        deadline = time.monotonic() + 20
        while True:
            probe = subprocess.run(["ssh", *options.args(port), "root@127.0.0.1", "true"], capture_output=True,
                                   stdin=subprocess.DEVNULL)
            if probe.returncode == 0:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not come up: {log.read_text()} {probe.stderr!r}")
            time.sleep(0.2)
        yield Sshd(port, options, f"ssh://root@127.0.0.1:{port}", log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
