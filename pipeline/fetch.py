"""Fetch one ref of a remote repository into a bare mirror with Dulwich.

Only what is needed is fetched: the one wanted object, at depth 1 (a shallow
mirror). A refresh whose commit is already in the mirror asks for the refs and
nothing else.

Mirror layout (a bare repository created by Dulwich):

- ``refs/thymis/fetched/<sha>`` points at every commit fetched (tags peeled).
  It keeps the commit reachable, so it can be exported again and a later gc
  can tell what is in use; dropping the ref is how a caller releases a commit.
  The remote's own branches and tags are not mirrored.
- the mirror is shallow (``shallow`` file lists the depth-1 boundary commits):
  history behind a fetched commit is absent. ``git --git-dir <mirror>`` copes
  with that, Nix 2.8 does not: build from the exported checkout instead (see
  ``nix_input_url``).
- nothing about the remote is written to the mirror's config: no URL, no
  credentials.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dulwich.objects import Commit, Tag
from dulwich.repo import Repo

from pipeline.signature import CommitSignature
from repos.transport import Auth, Clock, FetchError, make_client
from repos.urls import RemoteSpec, validate_ref

from .errors import classify
from .export import ExportError, export_tree
from .pack_store import PackFile, PackIndex

__all__ = ["Auth", "ExportError", "commit_signature", "FetchError", "FetchResult", "RemoteRefs", "export_tree", "fetch",
           "fetched_ref", "ls_remote", "nix_input_url", "open_mirror"]

FETCHED_PREFIX = b"refs/thymis/fetched/"
Progress = Callable[[str, int, int], None]
_HEX40 = re.compile(rb"[0-9a-f]{40}")


@dataclass
class FetchResult:
    commit: str  # 40-hex id of the fetched commit
    resolved_ref: str  # "refs/heads/main", "refs/tags/v1", or the commit id when one was asked for
    changed: bool  # False when the commit was already in the mirror (fetched before)
    bytes_received: int  # size of the pack received


class RemoteRefs(dict):
    """ls_remote's answer: ref name -> object id (peeled tags as ``refs/tags/x^{}``), plus ``head``."""

    head: str | None = None  # the ref HEAD points at, e.g. "refs/heads/main", when the server says


def fetched_ref(commit: str) -> str:
    """The mirror ref that keeps ``commit`` reachable."""
    return (FETCHED_PREFIX + commit.encode()).decode()


def nix_input_url(checkout: Path) -> str:
    """The Nix flake input URL for an exported checkout (``export_tree``'s ``dest``): ``path:<dir>``.

    Use this rather than ``git+file://<mirror>?rev=...``: the mirror is shallow and
    Nix 2.8 (tested) cannot read a shallow repository through ``git+file`` (its
    ``git fetch`` rejects refs at shallow roots; with ``shallow=1`` it then fails
    walking the missing parents). The checkout is exactly the validated tree, and
    Nix pins it by content (narHash) in flake.lock.
    """
    return f"path:{Path(checkout).resolve()}"


def open_mirror(mirror: Path) -> Repo:
    """Open the bare mirror, creating it (and its parent directories) if missing."""
    mirror = Path(mirror)
    if not (mirror / "objects").is_dir():
        mirror.mkdir(parents=True, exist_ok=True)
        return Repo.init_bare(str(mirror))
    return Repo(str(mirror))


class _Progress:
    """Turns server messages and received bytes into (phase, done, total) calls, at most ~5 per second."""

    pattern = re.compile(rb"([A-Za-z][A-Za-z ]*?):\s+(?:\d+% \()?(\d+)(?:/(\d+)\))?")

    def __init__(self, callback: Progress | None) -> None:
        self.callback = callback
        self.last: tuple[str, float] = ("", 0.0)

    def report(self, phase: str, done: int, total: int, force: bool = False) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if force or phase != self.last[0] or now - self.last[1] >= 0.2 or (total and done >= total):
            self.last = (phase, now)
            self.callback(phase, done, total)

    def server_message(self, data: bytes) -> None:
        for line in re.split(rb"[\r\n]+", data):
            found = self.pattern.search(line)
            if found:
                phase = found.group(1).decode().strip().lower()
                self.report(phase, int(found.group(2)), int(found.group(3) or 0))


class _PackSink:
    """Writes received pack data straight into a new pack file of the mirror, indexing it and checking its
    limits as it arrives (pipeline/pack_store.py); ``commit`` installs it (resolving deltas, thin-pack bases
    from the mirror's objects), ``abort`` drops it. Either way no temporary pack is left behind."""

    def __init__(self, repo: Repo, report: _Progress, index: PackIndex) -> None:
        self.report = report
        self.index = index
        self.pack = PackFile(repo.object_store)
        self.size = 0

    def write(self, data: bytes) -> int:
        self.index.feed(data)
        self.pack.write(data)
        self.size += len(data)
        self.report.report("receiving", self.size, 0)
        return len(data)

    def commit(self) -> None:
        if self.pack.file is not None:
            self.report.report("indexing", 0, 0, force=True)
            try:
                self.pack.install(self.index)
            except FetchError:
                self.pack.drop()
                raise
            except Exception as e:
                self.pack.drop()
                raise FetchError("protocol", f"The received pack is invalid: {e}") from None
            except BaseException:  # a stop (SystemExit, KeyboardInterrupt) must not leave the pack either
                self.pack.drop()
                raise

    def abort(self) -> None:
        self.pack.drop()


class _Want:
    """determine_wants for one ref: resolves it from the advertised refs, wants only its object."""

    def __init__(self, ref: str | None, repo: Repo) -> None:
        self.ref = ref
        self.repo = repo
        self.sha: bytes | None = None
        self.resolved: str | None = None
        self.present = False
        self.by_commit = ref is not None and _HEX40.fullmatch(ref.encode()) is not None

    def prefixes(self) -> list[bytes]:
        if self.ref is None or self.by_commit:
            return [b"HEAD"]
        if self.ref.startswith("refs/"):
            return [self.ref.encode()]
        return [b"refs/heads/" + self.ref.encode(), b"refs/tags/" + self.ref.encode()]

    def __call__(self, refs: dict[bytes, bytes], depth: int | None = None) -> list[bytes]:
        ref = self.ref
        if ref is None:
            self.sha = refs.get(b"HEAD")
            self.resolved = "HEAD"
            if self.sha is None:
                raise FetchError("unknown_ref", "The remote repository has no default branch (HEAD): "
                                 "it may be empty; name a branch or tag")
        elif self.by_commit:
            self.sha, self.resolved = ref.encode(), ref
        else:
            for name in self.prefixes():
                if refs.get(name):
                    self.sha, self.resolved = refs[name], name.decode()
                    break
            else:
                what = "ref" if ref.startswith("refs/") else "branch or tag"
                hint = (" (an abbreviated commit id is not enough: give all 40 characters)"
                        if re.fullmatch(r"[0-9a-fA-F]{4,39}", ref) else "")
                raise FetchError("unknown_ref", f"The remote repository has no {what} named {ref!r}{hint}")
        self.present = self.sha in self.repo.object_store
        return [] if self.present else [self.sha]


def commit_signature(mirror: Path, commit: str):
    """The commit's ``gpgsig`` header (None: unsigned) and the commit object without it: what was signed.
    Read from the stored object's own bytes (not re-serialized), header continuation lines unfolded."""
    raw = Repo(str(mirror)).object_store[commit.encode()].as_raw_string()
    head, sep, message = raw.partition(b"\n\n")
    kept, signature, lines = [], None, head.split(b"\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith(b"gpgsig ") and signature is None:
            parts = [line[len(b"gpgsig "):]]
            while index + 1 < len(lines) and lines[index + 1].startswith(b" "):
                index += 1
                parts.append(lines[index][1:])
            signature = b"\n".join(parts) + b"\n"
        else:
            kept.append(line)
        index += 1
    return CommitSignature(signature, b"\n".join(kept) + sep + message)


def _peel(repo: Repo, sha: bytes, what: str) -> bytes:
    obj = repo[sha]
    while isinstance(obj, Tag):
        obj = repo[obj.object[1]]
    if not isinstance(obj, Commit):
        raise FetchError("unknown_ref", f"{what} points to a {obj.type_name.decode()}, not a commit")
    return obj.id


def fetch(
    mirror: Path,
    spec: RemoteSpec,
    ref: str | None = None,
    *,
    auth: Auth | None = None,
    progress: Progress | None = None,
    connect_timeout: float = 15,
    transfer_timeout: float = 300,
    stall_timeout: float | None = 30,
    max_bytes: int = 512 << 20,
    max_object_bytes: int = 64 << 20,
    depth: int = 1,
) -> FetchResult:
    """Fetch ``ref`` of ``spec`` into the bare ``mirror`` (created if missing), shallow, that ref only.

    ``ref``: None for the remote's HEAD branch (then ``spec.rev``/``spec.ref`` from
    the URL are used if set), a branch or tag name, ``refs/heads/x``/``refs/tags/x``,
    or a full commit id. Annotated tags are peeled to their commit.
    ``progress(phase, done, total)`` is called as the fetch advances (total 0 = unknown;
    phase "receiving" counts bytes). Raises FetchError; on failure the mirror keeps what
    it had. Limits: ``stall_timeout`` s without data from a server that answered, ``max_bytes`` of pack,
    ``max_object_bytes`` per object (checked as the pack arrives, code "too_large"). ``depth``: commits of
    history fetched (1; more for a repository under review, whose commits since the active one are listed).
    """
    if ref is None:
        ref = spec.rev or spec.ref
    if ref is not None:
        try:
            ref = validate_ref(ref)
        except ValueError as e:
            raise FetchError("unknown_ref", str(e)) from None
    auth = auth or Auth()
    report = _Progress(progress)
    report.report("connecting", 0, 0, force=True)
    repo = open_mirror(mirror)
    clock = Clock(connect_timeout, transfer_timeout, stall_timeout)
    want = _Want(ref, repo)
    sink = _PackSink(repo, report, PackIndex(max_bytes, max_object_bytes))
    with repo:
        client = None
        try:
            client, path = make_client(spec, auth, clock)
            heads = [sha for sha in repo.refs.as_dict(FETCHED_PREFIX[:-1]).values() if sha in repo.object_store]
            walker = repo.get_graph_walker(heads=heads)
            result = client.fetch_pack(path, want, walker, sink.write, progress=report.server_message,
                                       depth=depth, ref_prefix=want.prefixes())
        except Exception as exc:
            sink.abort()
            wanted_commit = want.sha is not None and want.by_commit
            raise classify(exc, spec, auth, clock, want.ref, wanted_commit) from None
        except BaseException:
            sink.abort()
            raise
        finally:
            if client is not None:
                client.close()
            clock.close_all()
        sink.commit()
        if not want.present:
            repo.update_shallow(result.new_shallow, result.new_unshallow)
        if want.sha not in repo.object_store:
            raise FetchError("protocol", f"The server did not send {want.resolved} ({want.sha.decode()})")
        commit = _peel(repo, want.sha, want.resolved)
        new = FETCHED_PREFIX + commit not in repo.refs
        repo.refs[FETCHED_PREFIX + commit] = commit
    resolved = want.resolved
    if resolved == "HEAD":
        resolved = (result.symrefs or {}).get(b"HEAD", b"HEAD").decode()
    report.report("done", 1, 1, force=True)
    return FetchResult(commit.decode(), resolved, new, sink.size)


def ls_remote(spec: RemoteSpec, *, auth: Auth | None = None, connect_timeout: float = 15,
              timeout: float = 60, prefixes: list[bytes] | None = None, max_bytes: int | None = None) -> RemoteRefs:
    """All refs of the remote (ref -> id; annotated tags also as ``ref^{}`` -> commit), ``.head`` its HEAD target.

    ``prefixes``: only refs starting with one of them (a protocol v2 server filters them itself);
    ``max_bytes``: the most the server may send, else FetchError("too_large")."""
    auth = auth or Auth()
    clock = Clock(connect_timeout, timeout, max_bytes=max_bytes)
    client = None
    try:
        client, path = make_client(spec, auth, clock)
        answer = client.get_refs(path, ref_prefix=prefixes)
    except Exception as exc:
        raise classify(exc, spec, auth, clock, None) from None
    finally:
        if client is not None:
            client.close()
        clock.close_all()
    # A name that is not UTF-8 (a hostile or broken server) stays unmatched: no ref can be spelled like it.
    refs = RemoteRefs({name.decode(errors="replace"): sha.decode(errors="replace")
                       for name, sha in answer.refs.items() if sha})
    head = (answer.symrefs or {}).get(b"HEAD")
    refs.head = head.decode(errors="replace") if head else None
    return refs
