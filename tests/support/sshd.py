"""One real OpenSSH server (Debian's /usr/sbin/sshd) on a loopback port, for tests: git over SSH and deploys.

It runs in the foreground with its own configuration: a generated ed25519 host key, public key
authentication only, an ``authorized_keys`` file the test writes, no PAM, no strict modes. The login is
the user running the tests (root here); sshd's default PATH finds ``git-upload-pack`` and nix, so
``sshd.url(path)`` reaches any repository the tests created and ``sshd.target`` is a deploy target sharing
this machine's Nix store. The fixture is ready only once sshd answers the SSH protocol (ssh-keyscan gets its
host key)::

    def test_x(sshd, git_server):
        sshd.authorize(public_key_line)
        url = sshd.url(git_server.root / "demo.git")
        sshd.replace_host_key()          # restarts on the same port with a new host key
        activate(sshd.target, ..., ssh=sshd.options)   # a client key of its own, authorized, host key known
"""
from __future__ import annotations

import functools
import getpass
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from deploy.hosts import SshOptions
from tests.support.processes import Service, free_port

SSHD = "/usr/sbin/sshd"


def host_fingerprint(public_key_file: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(public_key_file)], capture_output=True,
                         text=True, check=True).stdout
    return out.split()[1]


def _keygen(path: Path, comment: str) -> None:
    for file in (path, path.with_suffix(".pub")):
        file.unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)


class SshServer:
    """``own_folder=(folder, where)``: sessions see ``folder`` at ``where`` (sshd runs in a mount namespace of its
    own with that bind mount), so two servers on this machine are two devices with file systems of their own
    there (e.g. their secrets folders)."""

    def __init__(self, root: Path, own_folder: tuple[Path, Path] | None = None) -> None:
        self.own_folder = own_folder
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.user = getpass.getuser()
        self.host_key = self.root / "ssh_host_ed25519_key"
        self.authorized_keys = self.root / "authorized_keys"
        self.authorized_keys.write_text("")
        self.log_path = self.root / "sshd.log"
        self.service: Service | None = None
        _keygen(self.host_key, "test-host")

    @property
    def log(self) -> Path:
        return self.log_path

    @property
    def host_key_line(self) -> str:
        """The host's key as a known_hosts line."""
        key_type, key = self.host_key.with_suffix(".pub").read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {key_type} {key}"

    @property
    def fingerprint(self) -> str:
        return host_fingerprint(self.host_key.with_suffix(".pub"))

    def _config(self) -> Path:
        config = self.root / "sshd_config"
        config.write_text(
            f"ListenAddress 127.0.0.1\nPort {self.port}\nHostKey {self.host_key}\nPidFile none\n"
            f"AuthorizedKeysFile {self.authorized_keys}\nAuthenticationMethods publickey\n"
            "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nAcceptEnv GIT_PROTOCOL\n"
            "X11Forwarding no\nAllowTcpForwarding no\nLogLevel VERBOSE\n")
        return config

    def _answers(self) -> bool:
        """sshd speaks SSH: ssh-keyscan gets the host key it was given."""
        scan = subprocess.run(["ssh-keyscan", "-T", "2", "-t", "ed25519", "-p", str(self.port), "127.0.0.1"],
                              capture_output=True, text=True, check=False)
        return self.host_key_line.split(" ", 1)[1] in scan.stdout

    def start(self) -> SshServer:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        command = [SSHD, "-D", "-e", "-f", str(self._config())]
        if self.own_folder:
            folder, where = self.own_folder
            command = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                       'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sshd-with-own-folder", str(folder),
                       str(where), *command]
        self.service = Service(command, self.log_path, probe=self._answers, name="sshd").wait_until_ready(20)
        return self

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
            self.service = None

    def replace_host_key(self) -> None:
        """Give the server a new host key (as after a reinstall) and restart it on the same port."""
        self.stop()
        _keygen(self.host_key, "test-host")
        self.start()

    def authorize(self, public_key_line: str) -> None:
        with open(self.authorized_keys, "a") as f:
            f.write(public_key_line.strip() + "\n")

    def revoke_all(self) -> None:
        self.authorized_keys.write_text("")

    def url(self, repo_path: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{Path(repo_path).resolve()}"

    @property
    def target(self) -> str:
        """This server as a deploy target (the device shares this machine's Nix store)."""
        return f"ssh://{self.user}@127.0.0.1:{self.port}"

    @functools.cached_property
    def options(self) -> SshOptions:
        """SSH options of a client with a key of its own (authorized here) that knows this host's key."""
        client_key = self.root / "client_key"
        _keygen(client_key, "test-client")
        self.authorize(client_key.with_suffix(".pub").read_text())
        known_hosts = self.root / "known_hosts"
        known_hosts.write_text(self.host_key_line + "\n")
        return SshOptions(key_file=client_key, known_hosts_file=known_hosts, connect_timeout=5)


def sshd_available() -> bool:
    return os.path.exists(SSHD) and shutil.which("ssh") is not None and os.geteuid() == 0


@pytest.fixture
def sshd(tmp_path):
    if not sshd_available():
        pytest.skip("needs Debian's openssh-server and openssh-client, run as root")
    server = SshServer(tmp_path / "sshd").start()
    yield server
    server.stop()
