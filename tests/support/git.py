"""Git repositories for tests, built with the git CLI (never with the code under test).

``Repo``: a bare repository changed with ``git fast-import`` (``commit``, ``branch``, ``tag``, ...); file values
are str/bytes, ``Executable``, ``Symlink`` or ``Submodule``. ``bare_repo(path)`` creates one.
``work_tree(path, files, source=...)``: a repository with a work tree (what a flake input ``git+file://`` needs);
``pinned(path, rev)`` is its flake URL. Both run git with ``git_env()``: no user or system configuration.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_TERMINAL_PROMPT": "0",
}


def git_env(**extra: str) -> dict[str, str]:
    """The environment the helpers run git with: no user or system config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_ENV)
    env.update(extra)
    return env


def run_git(*args: str | Path, cwd: Path | None = None, input: bytes | None = None) -> str:
    proc = subprocess.run(
        ["git", *map(str, args)], cwd=cwd, input=input, env=git_env(), capture_output=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(map(str, args))} failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode().strip()


@dataclass(frozen=True)
class Executable:
    """A file with its executable bit set (mode 100755)."""

    data: str | bytes


@dataclass(frozen=True)
class Symlink:
    """A symbolic link (mode 120000) pointing at ``target``."""

    target: str


@dataclass(frozen=True)
class Submodule:
    """A gitlink (mode 160000) to a commit of another repository."""

    commit: str


FileValue = str | bytes | Executable | Symlink | Submodule
_clock = itertools.count(1_700_000_000, 60)


def _blob(data: str | bytes) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    return b"data %d\n%s\n" % (len(raw), raw)


class Repo:
    """A bare repository on the server, changed with the git CLI."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name

    def git(self, *args: str | Path, input: bytes | None = None) -> str:
        return run_git("--git-dir", self.path, *args, input=input)

    def rev(self, ref: str) -> str:
        """The object id ``ref`` points at (``ref^{commit}`` peels a tag)."""
        return self.git("rev-parse", "--verify", "--end-of-options", ref)

    def has_ref(self, ref: str) -> bool:
        return subprocess.run(
            ["git", "--git-dir", str(self.path), "show-ref", "--verify", "--quiet", ref],
            env=git_env(),
        ).returncode == 0

    def commit(
        self,
        files: dict[str, FileValue] | None = None,
        message: str = "change",
        *,
        branch: str = "main",
        start: str | None = None,
        remove: tuple[str, ...] = (),
    ) -> str:
        """Commit ``files`` (path -> content) on ``branch`` and return the commit id.

        The commit's parent is the branch's tip; a new branch starts at ``start``
        (a ref or commit) or, without it, as a root commit.
        """
        ref = f"refs/heads/{branch}"
        parent = self.rev(ref) if self.has_ref(ref) else (self.rev(start + "^{commit}") if start else None)
        when = next(_clock)
        msg = message.encode()
        stream = [b"commit " + ref.encode() + b"\n", b"committer T <t@example.com> %d +0000\n" % when]
        stream.append(b"data %d\n%s\n" % (len(msg), msg))
        if parent:
            stream.append(b"from " + parent.encode() + b"\n")
        for path in remove:
            stream.append(b"D " + path.encode() + b"\n")
        for path, value in (files or {}).items():
            p = path.encode()
            if isinstance(value, Submodule):
                stream.append(b"M 160000 " + value.commit.encode() + b" " + p + b"\n")
            elif isinstance(value, Symlink):
                stream.append(b"M 120000 inline " + p + b"\n" + _blob(value.target))
            elif isinstance(value, Executable):
                stream.append(b"M 100755 inline " + p + b"\n" + _blob(value.data))
            else:
                stream.append(b"M 100644 inline " + p + b"\n" + _blob(value))
        stream.append(b"\n")
        self.git("fast-import", "--quiet", "--force", input=b"".join(stream))
        return self.rev(ref)

    def signed_commit(self, files: dict[str, FileValue] | None, key: Path | str, message: str = "signed change", *,
                      branch: str = "main", gpg_program: Path | None = None) -> str:
        """Like ``commit``, then the commit is made again signed with the SSH private key ``key`` by
        ``git commit-tree -S`` (gpg.format=ssh: git runs ``ssh-keygen -Y sign``); with ``gpg_program``, by the
        OpenPGP key whose fingerprint is ``key`` (gpg.format=openpgp: git runs that gpg). Returns the signed
        commit."""
        unsigned = self.commit(files, message, branch=branch)
        parents = self.git("rev-list", "--parents", "-n", "1", unsigned).split()[1:]
        how = ["-c", "gpg.format=openpgp", "-c", f"gpg.program={gpg_program}"] if gpg_program else [
            "-c", "gpg.format=ssh"]
        args = [*how, "-c", f"user.signingKey={key}", "commit-tree", "-S", "-m", message]
        for parent in parents:
            args += ["-p", parent]
        signed = self.git(*args, f"{unsigned}^{{tree}}")
        self.git("update-ref", f"refs/heads/{branch}", signed)
        return signed

    def tampered(self, commit: str, message: str, *, branch: str = "main") -> str:
        """A copy of ``commit`` (signature header and all) with another message: its signature no longer
        matches. The branch points at it."""
        raw = self.git("cat-file", "commit", commit)
        head = raw.split("\n\n", 1)[0]
        forged = self.git("hash-object", "-t", "commit", "-w", "--stdin",
                          input=(head + "\n\n" + message + "\n").encode())
        self.git("update-ref", f"refs/heads/{branch}", forged)
        return forged

    def with_signature(self, commit: str, sign, *, branch: str = "main") -> str:
        """A copy of the unsigned ``commit`` carrying ``sign(payload)`` as its gpgsig header (whatever bytes a
        test crafts). The branch points at it."""
        raw = self.git("cat-file", "commit", commit).encode() + b"\n"
        head, body = raw.split(b"\n\n", 1)
        signature = sign(raw).strip().replace(b"\n", b"\n ")
        forged = self.git("hash-object", "-t", "commit", "-w", "--stdin",
                          input=head + b"\ngpgsig " + signature + b"\n\n" + body)
        self.git("update-ref", f"refs/heads/{branch}", forged)
        return forged

    def branch(self, name: str, target: str = "main") -> str:
        sha = self.rev(target + "^{commit}")
        self.git("update-ref", f"refs/heads/{name}", sha)
        return sha

    def tag(self, name: str, target: str = "main", message: str | None = None) -> str:
        """Create a tag; annotated when ``message`` is given. Returns the tag ref's value."""
        if message is None:
            self.git("tag", "--end-of-options", name, target)
        else:
            self.git("tag", "-a", "-m", message, "--end-of-options", name, target)
        return self.rev(f"refs/tags/{name}")

    def set_head(self, branch: str) -> None:
        self.git("symbolic-ref", "HEAD", f"refs/heads/{branch}")

    def delete_ref(self, ref: str) -> None:
        self.git("update-ref", "-d", ref)


def ssh_signing_key(path: Path, comment: str = "signer") -> tuple[Path, str]:
    """A new ed25519 key pair (``ssh-keygen``) at ``path``; returns the private key's path and the public line."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)
    return Path(path), Path(f"{path}.pub").read_text().strip()


def bare_repo(path: Path, files: dict[str, FileValue] | None = None, *, branch: str = "main",
              message: str = "initial") -> Repo:
    """Create a bare repository whose HEAD is ``branch``; commit ``files`` if given."""
    run_git("init", "--quiet", "--bare", "--initial-branch", branch, path)
    repo = Repo(Path(path), Path(path).name.removesuffix(".git"))
    if files is not None:
        repo.commit(files, message, branch=branch)
    return repo


def work_tree(path: Path, files: dict[str, str] | None = None, *, source: Path | None = None,
              commit: bool = True) -> str:
    """Create (or add a commit to) a repository with a work tree at ``path``: copy ``source`` into it, write
    ``files``, stage everything and commit (an empty commit when nothing changed). Returns HEAD's commit id,
    or "" with ``commit=False`` (everything staged, nothing committed: a dirty flake)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if source is not None:
        shutil.copytree(source, path, dirs_exist_ok=True)
    for name, text in (files or {}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    if not (path / ".git").exists():
        run_git("init", "--quiet", "--initial-branch", "main", path)
    run_git("-C", path, "add", "--all")
    if not commit:
        return ""
    run_git("-C", path, "commit", "--quiet", "--allow-empty", "-m", "fixture")
    return run_git("-C", path, "rev-parse", "HEAD")


def pinned(path: Path, rev: str) -> str:
    """The flake URL of commit ``rev`` of the repository at ``path``."""
    return f"git+file://{path}?rev={rev}"
