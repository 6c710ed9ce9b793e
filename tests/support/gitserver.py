"""Git servers on loopback for tests: smart HTTP, git://, and ones that fail.

``GitServer`` is ``git http-backend`` (the CGI program that ships with git) behind a small threaded
HTTP-to-CGI bridge. It speaks protocol v0 and v2, supports shallow fetches and fetching by commit id
(``uploadpack.allowAnySHA1InWant``), and can require HTTP basic auth per repository::

    def test_x(git_server):                  # session-scoped: use fresh names
        name = git_server.new_name("demo")
        repo = git_server.make_repo(name, {"README.md": "hello"})   # a tests.support.git.Repo
        sha = repo.commit({"a.txt": "more"}, message="second")
        url = git_server.url(name)            # http://127.0.0.1:PORT/demo-1.git

Or without pytest: ``with GitServer(root) as server: ...``. Also: ``server.require_auth(name, user, token)``,
``server.remove_repo(name)``, ``server.stall(name)`` (never answer its pack requests),
``server.hostile(name, mode)`` (a garbage pack, a decompression bomb, or silence mid-pack), ``server.requests`` /
``server.fetch_requests(name)`` (what was asked). Fixtures: ``git_server``, ``git_daemon`` (the same
repositories over git://), ``stuck_server`` (accepts TCP, never answers); ``closed_port_url()``.
"""

from __future__ import annotations

import base64
import itertools
import re
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support import hostile_git as hostile
from tests.support.git import FileValue, Repo, bare_repo, git_env
from tests.support.processes import Service, free_port, http_answers, wait_until


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with the query string
    status: int
    command: str  # "ls-refs" or "fetch" for upload-pack POSTs (v0: "fetch"), else ""


def _command(body: bytes) -> str:
    if not body:
        return ""
    if body[:2] == b"\x1f\x8b":  # git's gzip-encoded request bodies
        import gzip

        body = gzip.decompress(body)
    found = re.search(rb"command=([a-z-]+)", body[:200])
    if found:
        return found.group(1).decode()
    return "fetch" if b"want " in body[:200] else ""


class _Handler(BaseHTTPRequestHandler):
    server: "_HTTPServer"
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._cgi()

    def do_POST(self) -> None:
        self._cgi()

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _authorized(self, repo: str) -> bool:
        creds = self.server.owner.auth.get(repo)
        if creds is None:
            return True
        expected = "Basic " + base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
        return self.headers.get("Authorization") == expected

    def _cgi(self) -> None:
        owner = self.server.owner
        parts = urlsplit(self.path)
        repo = parts.path.lstrip("/").split("/", 1)[0].removesuffix(".git")
        body = self._body() if self.command == "POST" else b""
        if not self._authorized(repo):
            owner.requests.append(Request(self.command, self.path, 401, _command(body)))
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.end_headers()
            return
        env = git_env(
            GIT_PROJECT_ROOT=str(owner.root),
            GIT_HTTP_EXPORT_ALL="1",
            REQUEST_METHOD=self.command,
            PATH_INFO=parts.path,
            QUERY_STRING=parts.query,
            CONTENT_TYPE=self.headers.get("Content-Type", ""),
            CONTENT_LENGTH=str(len(body)),
            REMOTE_ADDR=self.client_address[0],
            GIT_CONFIG_COUNT="2",
            GIT_CONFIG_KEY_0="uploadpack.allowAnySHA1InWant",
            GIT_CONFIG_VALUE_0="true" if owner.allow_sha_in_want else "false",
            GIT_CONFIG_KEY_1="uploadpack.allowReachableSHA1InWant",
            GIT_CONFIG_VALUE_1="true" if owner.allow_sha_in_want else "false",
        )
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol") and owner.protocol_v2:
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        if repo in owner.stalled and _command(body) == "fetch":
            owner.requests.append(Request(self.command, self.path, 0, "fetch"))
            owner.released.wait(60)  # never answer (until the server stops)
            return
        proc = subprocess.Popen(
            ["git", "http-backend"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=owner.log, env=env,
        )
        feeder = threading.Thread(target=self._feed, args=(proc, body), daemon=True)
        feeder.start()
        status, headers = 200, []
        for line in iter(proc.stdout.readline, b""):
            line = line.rstrip(b"\r\n")
            if not line:
                break
            key, _, value = line.decode("latin-1").partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            else:
                headers.append((key, value.strip()))
        owner.requests.append(Request(self.command, self.path, status, _command(body)))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            if repo in owner.hostile_modes and _command(body) == "fetch":
                hostile.answer(owner.hostile_modes[repo], proc.stdout, self.wfile, owner.released)
                proc.kill()
            else:
                while chunk := proc.stdout.read1(65536):
                    self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            proc.kill()
        finally:
            proc.stdout.close()
            proc.wait()
            feeder.join()

    @staticmethod
    def _feed(proc: subprocess.Popen, body: bytes) -> None:
        try:
            proc.stdin.write(body)
        except BrokenPipeError:
            pass
        finally:
            proc.stdin.close()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: "GitServer"


class GitServer:
    """Serves every ``<name>.git`` under ``root`` at ``http://127.0.0.1:<port>/<name>.git``."""

    def __init__(self, root: Path, *, allow_sha_in_want: bool = True, protocol_v2: bool = True) -> None:
        """``protocol_v2=False`` makes the server speak only protocol v0 (v2 lets any commit be wanted)."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.allow_sha_in_want = allow_sha_in_want
        self.protocol_v2 = protocol_v2
        self.stalled: set[str] = set()  # repositories whose fetch requests are never answered
        self.hostile_modes: dict[str, str] = {}  # repository -> how its packs are replaced (hostile_git.py)
        self.released = threading.Event()
        self._names = itertools.count(1)
        self.auth: dict[str, tuple[str, str]] = {}
        self.requests: list[Request] = []
        self.log = None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> "GitServer":
        self.log = open(self.root / "http-backend.log", "ab")
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        wait_until(lambda: http_answers(f"{self.base_url}/ready-probe.git/info/refs"), 10,
                   "the git smart-HTTP server to answer", output=self._log_text)
        self.requests.clear()  # the readiness probe is not a request of the test
        return self

    def _log_text(self) -> str:
        return (self.root / "http-backend.log").read_text(errors="replace")

    def stop(self) -> None:
        self.released.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join()
            self._httpd = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def __enter__(self) -> "GitServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}.git"

    # repositories
    def make_repo(
        self, name: str, files: dict[str, FileValue] | None = None, *,
        branch: str = "main", message: str = "initial",
    ) -> Repo:
        """Create a bare repository whose HEAD is ``branch``; commit ``files`` if given."""
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            raise ValueError(f"bad repository name {name!r}")
        path = self.root / f"{name}.git"
        if path.exists():
            raise FileExistsError(path)
        return bare_repo(path, files, branch=branch, message=message)

    def new_name(self, prefix: str = "repo") -> str:
        """A repository name not used yet on this server (the fixture is shared by many tests)."""
        while True:
            name = f"{prefix}-{next(self._names)}"
            if not (self.root / f"{name}.git").exists():
                return name

    def repo(self, name: str) -> Repo:
        return Repo(self.root / f"{name}.git", name)

    def remove_repo(self, name: str) -> None:
        shutil.rmtree(self.root / f"{name}.git")

    def require_auth(self, name: str, username: str, password: str) -> None:
        """Make repository ``name`` answer 401 unless given these basic-auth credentials."""
        self.auth[name.removesuffix(".git")] = (username, password)

    def stall(self, name: str) -> None:
        """Advertise refs of ``name`` normally but never answer its fetch (pack) requests."""
        self.stalled.add(name)

    def hostile(self, name: str, mode: str) -> None:
        """Answer fetches of ``name`` with a hostile pack: "garbage", "bomb" or "silence" (see hostile_git.py)."""
        if mode not in hostile.MODES:
            raise ValueError(f"unknown hostile mode {mode!r}")
        self.hostile_modes[name] = mode

    def fetch_requests(self, name: str) -> int:
        """How many upload-pack fetch requests (pack negotiations/downloads) ``name`` answered."""
        return sum(1 for r in self.requests if r.command == "fetch" and r.path.startswith(f"/{name}.git/"))


def closed_port_url(name: str = "nothing") -> str:
    """An http URL on a loopback port where nothing listens (connection refused)."""
    return f"http://127.0.0.1:{free_port()}/{name}.git"


def _daemon_answers(port: int) -> bool:
    """True when git daemon answers a request (for a repository that does not exist: an ERR packet)."""
    request = b"git-upload-pack /ready-probe.git\0host=127.0.0.1\0"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
            connection.settimeout(5)
            connection.sendall(b"%04x" % (len(request) + 4) + request)
            return len(connection.recv(4)) == 4
    except OSError:
        return False


class GitDaemon:
    """``git daemon`` serving ``root`` over git:// on a loopback port (protocol v2 capable)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.port = free_port()
        self.service = Service(
            ["git", "daemon", "--reuseaddr", "--listen=127.0.0.1", f"--port={self.port}", "--export-all",
             "--informative-errors", f"--base-path={self.root}", str(self.root)],
            self.root / "git-daemon.log", probe=lambda: _daemon_answers(self.port), name="git daemon", env=git_env(),
        ).wait_until_ready(10)

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}.git"

    def stop(self) -> None:
        self.service.stop()


class StuckServer:
    """A loopback port that accepts TCP connections (kernel backlog) and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def url(self, name: str = "stuck") -> str:
        return f"http://127.0.0.1:{self.port}/{name}.git"

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="session")
def git_server(tmp_path_factory: pytest.TempPathFactory):
    """A running GitServer for the whole session; give each test's repositories unique names."""
    with GitServer(tmp_path_factory.mktemp("git-server")) as server:
        yield server


@pytest.fixture(scope="session")
def git_daemon(git_server):
    """git:// access to the repositories of ``git_server``."""
    daemon = GitDaemon(git_server.root)
    yield daemon
    daemon.stop()


@pytest.fixture
def stuck_server():
    server = StuckServer()
    yield server
    server.close()
