"""Dulwich git clients with connect and transfer time limits, one per URL scheme.

Every client reads through a ``Clock``: ``connect_timeout`` bounds each
connection attempt and the wait for the server's first answer, and the whole
operation must end by the clock's deadline; once the server has answered, each wait for its
next bytes is bounded by the clock's ``stall`` (THYMIS_FETCH_STALL_SECONDS). A stuck server therefore never
hangs the caller: the read that would wait past the limit fails with
``FetchError("timeout")`` (and an SSH or ``git upload-pack`` child is killed).

- http(s): Dulwich's urllib3 client, per-request urllib3 timeouts, no retries,
  credentials passed to the client (never in the URL or any config file).
- ssh: the system ``ssh`` with explicit options (BatchMode, ConnectTimeout,
  StrictHostKeyChecking, IdentitiesOnly + key, UserKnownHostsFile).
- git://: a plain TCP socket.
- file (local paths): ``git upload-pack`` run as a child process, so a local
  repository is fetched exactly like a remote one (shallow, one ref).
"""

from __future__ import annotations

import math
import os
import select
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import urllib3
from dulwich.client import (
    HTTPUnauthorized,
    SSHGitClient,
    SSHVendor,
    TCPGitClient,
    TraditionalGitClient,
    Urllib3HttpGitClient,
)
from dulwich.errors import GitProtocolError, NotGitRepository
from dulwich.protocol import Protocol

from jobs import processes

from .urls import RemoteSpec

V2 = 2


class FetchError(Exception):
    """A fetch that failed; ``code`` is machine-readable, ``message`` is for people (never holds secrets)."""

    codes = ("unknown_ref", "unreachable", "auth_required", "auth_failed", "timeout", "not_found",
             "host_key", "protocol", "too_large", "disk_full")

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"FetchError({self.code!r}, {self.message!r})"


@dataclass
class Auth:
    """Credentials for one fetch; passed to the transport only, never written to any git config."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)  # HTTP basic password or token
    ssh_key_path: Path | None = None
    known_hosts_path: Path | None = None
    accept_new_host_keys: bool = False  # StrictHostKeyChecking=accept-new instead of yes


class Clock:
    """Time limits of one operation: ``connect`` per connection/first answer, ``total`` overall, and
    ``stall``: once the server has answered, the longest wait for its next bytes."""

    def __init__(self, connect: float, total: float, stall: float | None = None,
                 max_bytes: int | None = None) -> None:
        self.connect = connect
        self.total = total
        self.stall = stall
        self.max_bytes = max_bytes  # bytes the server may send in all (None: unbounded; a pack has its own limits)
        self.received = 0
        self.end = time.monotonic() + total
        self.answered = False  # the server has sent something: later silences are stalls
        self.conns: list[TimedConn] = []  # connections opened under this clock, closed by close_all()

    def close_all(self) -> None:
        for conn in self.conns:
            conn.close()

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise self.expired()
        return left

    def count(self, size: int) -> None:
        """Record ``size`` bytes received; past ``max_bytes`` the operation fails (the server sends too much)."""
        self.received += size
        if self.max_bytes is not None and self.received > self.max_bytes:
            raise FetchError("too_large", f"The remote's answer is larger than {self.max_bytes // 1024} KiB: it "
                                          "advertises too many refs, or refs with very long names")

    def first_answer(self) -> float:
        return min(self.connect, self.remaining())

    def next_bytes(self) -> float:
        """How long to wait for more data from a server that has answered."""
        left = self.remaining()
        return left if self.stall is None else min(self.stall, left)

    def expired(self) -> FetchError:
        return FetchError("timeout", f"The fetch did not finish within {self.total:g} s")

    def timed_out(self) -> FetchError:
        """The error for a read that timed out: the overall deadline, a stall, or the wait for a first answer."""
        if time.monotonic() >= self.end - 0.05:
            return self.expired()
        return self.stalled() if self.answered else self.no_answer()

    def stalled(self) -> FetchError:
        return FetchError("timeout", f"The remote stopped sending: no data for {self.stall:g} s "
                                     "(THYMIS_FETCH_STALL_SECONDS)")

    def no_answer(self) -> FetchError:
        return FetchError("timeout", f"The server accepted the connection but did not answer within {self.connect:g} s")


def _readable(fd: int, timeout: float) -> bool:
    """Whether ``fd`` has data (or EOF) within ``timeout`` seconds; poll, not select: fds may exceed 1024."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    return bool(poller.poll(max(0, math.ceil(timeout * 1000))))


class TimedConn:
    """Blocking reads from a file descriptor, each bounded by the clock; closes the peer on timeout."""

    def __init__(self, fd: int, write, close, clock: Clock, first_wait: float, stderr=None) -> None:
        self.fd = fd
        self.write = write
        self._close = close
        self.clock = clock
        self.first_wait = first_wait
        self.answered = False
        self.stderr = stderr
        self.closed = False
        clock.conns.append(self)

    def _wait(self) -> None:
        if self.answered:
            limit, error = self.clock.next_bytes(), self.clock.timed_out
        else:
            limit, error = min(self.first_wait, self.clock.remaining()), self.clock.no_answer
        if not _readable(self.fd, limit):
            self.on_timeout()
            raise error()

    def on_timeout(self) -> None:
        self.close()

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while size < 0 or len(out) < size:
            self._wait()
            chunk = os.read(self.fd, 65536 if size < 0 else size - len(out))
            if not chunk:
                break
            self.answered = self.clock.answered = True
            try:
                self.clock.count(len(chunk))
            except FetchError:
                self.on_timeout()  # the peer is ended now, not waited for
                raise
            out += chunk
        return bytes(out)

    def can_read(self) -> bool:
        return _readable(self.fd, 0)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._close()


class ChildConn(TimedConn):
    """A child process (ssh, git upload-pack) spoken to over its stdin/stdout; killed on timeout."""

    def __init__(self, argv: list[str], clock: Clock, first_wait: float, env: dict[str, str] | None = None):
        self.proc = subprocess.Popen(argv, bufsize=0, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, start_new_session=True)
        processes.track(self.proc)  # cancelling the fetch job ends ssh / upload-pack
        super().__init__(self.proc.stdout.fileno(), self.proc.stdin.write, self._shutdown, clock, first_wait,
                         self.proc.stderr)

    def on_timeout(self) -> None:
        self.proc.kill()
        self.close()

    def _shutdown(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class HttpClient(Urllib3HttpGitClient):
    """Dulwich's HTTP client with per-request timeouts from the clock and no automatic retries."""

    def __init__(self, url: str, clock: Clock, username: str | None, password: str | None) -> None:
        super().__init__(url, username=username, password=password, config=None)
        self._clock = clock
        self._first = True
        # One attempt per request: a refused or timed-out connection fails now, not after retries.
        self.pool_manager.connection_pool_kw["retries"] = urllib3.Retry(
            total=None, connect=0, read=0, status=0, other=0, redirect=5)

    def close(self) -> None:
        self.pool_manager.clear()

    def _http_request(self, url, headers=None, data=None, raise_for_status=True):
        clock = self._clock
        read_limit = clock.first_answer() if self._first else clock.next_bytes()
        self._timeout = urllib3.Timeout(connect=min(clock.connect, clock.remaining()), read=read_limit)
        resp, read = super()._http_request(url, headers, data, raise_for_status=False)
        self._first = False
        clock.answered = True
        if raise_for_status and resp.status != 200:
            resp.close()  # Dulwich would raise without closing the response (a leaked socket)
            if resp.status == 404:
                raise NotGitRepository(f"{url}: HTTP 404")
            if resp.status == 401:
                raise HTTPUnauthorized(resp.headers.get("WWW-Authenticate"), url)
            raise GitProtocolError(f"unexpected http resp {resp.status} for {url}")

        def timed_read(amt: int | None = None) -> bytes:
            left = clock.next_bytes()
            sock = getattr(getattr(resp, "connection", None), "sock", None)
            if sock is not None:
                sock.settimeout(left)
            data = read(amt)
            clock.count(len(data))
            return data

        return resp, timed_read


class TcpClient(TCPGitClient):
    """git:// over a socket whose connect and reads are bounded by the clock."""

    def __init__(self, host: str, port: int | None, clock: Clock) -> None:
        super().__init__(host, port)
        self._clock = clock

    def _connect(self, cmd: bytes, path, protocol_version=None):
        clock = self._clock
        try:
            sock = socket.create_connection((self._host, self._port), timeout=min(clock.connect, clock.remaining()))
        except TimeoutError:
            raise FetchError("timeout", f"Could not connect to {self._host}:{self._port} "
                                        f"within {clock.connect:g} s") from None
        sock.settimeout(None)
        conn = TimedConn(sock.fileno(), sock.sendall, sock.close, clock, clock.connect)
        proto = Protocol(conn.read, conn.write, conn.close, report_activity=self._report_activity)
        if isinstance(path, str):
            path = path.encode(self._remote_path_encoding)
        if path.startswith(b"/~"):
            path = path[1:]
        self.protocol_version = V2 if cmd == b"upload-pack" else 0
        version = b"\0\0version=2\0" if self.protocol_version == V2 else b""
        proto.send_cmd(b"git-" + cmd, path, b"host=" + self._host.encode("ascii") + version)
        return proto, conn.can_read, None


class SshVendor(SSHVendor):
    """Runs the system ``ssh`` with explicit, non-interactive options."""

    def __init__(self, auth: Auth, clock: Clock) -> None:
        self.auth = auth
        self.clock = clock

    def argv(self, host: str, command: str, username: str | None, port: int | None) -> list[str]:
        auth = self.auth
        strict = "accept-new" if auth.accept_new_host_keys else "yes"
        args = ["ssh", "-x", "-T", "-o", "BatchMode=yes",
                "-o", f"ConnectTimeout={max(1, math.ceil(self.clock.connect))}",
                "-o", f"StrictHostKeyChecking={strict}", "-o", "SetEnv=GIT_PROTOCOL=version=2"]
        if auth.ssh_key_path is not None:
            args += ["-o", "IdentitiesOnly=yes", "-i", str(auth.ssh_key_path)]
        if auth.known_hosts_path is not None:
            args += ["-o", f'UserKnownHostsFile="{auth.known_hosts_path}"', "-o", "GlobalKnownHostsFile=/dev/null"]
        if port:
            args += ["-p", str(port)]
        if host.startswith("-") or (username or "").startswith("-"):
            raise FetchError("protocol", f"Refusing the SSH host {host!r}")
        return [*args, "--", f"{username}@{host}" if username else host, command]

    def run_command(self, host, command, username=None, port=None, password=None, key_filename=None,
                    ssh_command=None, protocol_version=None):
        argv = self.argv(host, command.decode() if isinstance(command, bytes) else command, username, port)
        # The first answer needs the TCP connect plus key exchange and authentication.
        return ChildConn(argv, self.clock, first_wait=2 * self.clock.connect)


class LocalClient(TraditionalGitClient):
    """A local repository (bare, or a working tree's), served by ``git upload-pack`` in a child process."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self._clock = clock

    def _connect(self, cmd: bytes, path, protocol_version=None):
        if isinstance(path, bytes):
            path = path.decode()
        if not os.path.isdir(path):
            raise FetchError("not_found", f"No git repository at {path}: no such directory")
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(GIT_PROTOCOL="version=2", GIT_CONFIG_NOSYSTEM="1")
        conn = ChildConn(["git", "upload-pack", path], self._clock, self._clock.connect, env)
        proto = Protocol(conn.read, conn.write, conn.close, report_activity=self._report_activity)
        return proto, conn.can_read, conn.stderr


def make_client(spec: RemoteSpec, auth: Auth | None, clock: Clock):
    """A Dulwich client for ``spec`` and the path to pass to its fetch_pack/get_refs."""
    auth = auth or Auth()
    if spec.scheme in ("https", "http"):
        given = auth.username is not None or auth.password is not None
        username, password = (auth.username, auth.password) if given else (spec.username, spec.password)
        if username is None and password is not None:
            username = ""
        return HttpClient(spec.fetch_url, clock, username, password), ""
    if spec.scheme == "ssh":
        client = SSHGitClient(spec.host, port=spec.port, username=spec.ssh_user, vendor=SshVendor(auth, clock))
        return client, spec.path
    if spec.scheme == "git":
        return TcpClient(spec.host, spec.port, clock), spec.path
    if spec.scheme == "file":
        return LocalClient(clock), spec.path
    raise FetchError("protocol", f"Unsupported scheme {spec.scheme!r}")
