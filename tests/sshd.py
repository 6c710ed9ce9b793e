"""A real OpenSSH server (Debian's /usr/sbin/sshd) on a loopback port, serving git over SSH, for tests.

It runs in the foreground with its own configuration: one generated ed25519 host key, public key
authentication only, an ``authorized_keys`` file the test writes, no PAM, no strict modes. The login is
the user running the tests (root here), whose shell finds ``git-upload-pack`` on sshd's default PATH,
so ``ssh://root@127.0.0.1:PORT/abs/path/repo.git`` reaches any repository the tests created.

Use from tests::

    from tests.sshd import sshd  # the fixture (one server per test)

    def test_x(sshd, git_server):
        sshd.authorize(public_key_line)
        url = sshd.url(git_server.root / "demo.git")
        sshd.replace_host_key()          # restarts on the same port with a new host key
"""
from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def host_fingerprint(public_key_file: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(public_key_file)], capture_output=True,
                         text=True, check=True).stdout
    return out.split()[1]


class SshServer:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.user = getpass.getuser()
        self.host_key = self.root / "ssh_host_ed25519_key"
        self.authorized_keys = self.root / "authorized_keys"
        self.authorized_keys.write_text("")
        self.log_path = self.root / "sshd.log"
        self.process: subprocess.Popen | None = None
        self._new_host_key()

    def _new_host_key(self) -> None:
        for path in (self.host_key, self.host_key.with_suffix(".pub")):
            path.unlink(missing_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test-host", "-f", str(self.host_key)],
                       check=True)

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

    def start(self) -> "SshServer":
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self._config())], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("sshd exited:\n" + self.log_path.read_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not start listening:\n" + self.log_path.read_text())

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def replace_host_key(self) -> None:
        """Give the server a new host key (as after a reinstall) and restart it on the same port."""
        self.stop()
        self._new_host_key()
        self.start()

    def authorize(self, public_key_line: str) -> None:
        with open(self.authorized_keys, "a") as f:
            f.write(public_key_line.strip() + "\n")

    def revoke_all(self) -> None:
        self.authorized_keys.write_text("")

    def url(self, repo_path: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{Path(repo_path).resolve()}"


def sshd_available() -> bool:
    return os.path.exists(SSHD) and shutil.which("ssh") is not None and os.geteuid() == 0


@pytest.fixture
def sshd(tmp_path):
    if not sshd_available():
        pytest.skip("needs Debian's openssh-server and openssh-client, run as root")
    server = SshServer(tmp_path / "sshd").start()
    yield server
    server.stop()
