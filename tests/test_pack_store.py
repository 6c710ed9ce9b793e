"""pipeline/pack_store.py: packs written by git (whole objects, offset and reference deltas, thin packs) are
indexed as they stream in, the index is the one ``git index-pack`` writes, and damaged packs are refused
without leaving a file behind."""
import hashlib
import random
import subprocess
import zlib

import pytest

from pipeline.fetch import open_mirror
from pipeline.pack_store import PackFile, PackIndex
from repos.transport import FetchError
from tests.support.git import bare_repo, git_env, run_git


def history(path, commits=6):
    """A repository whose files change a little per commit: git deltifies them against each other."""
    rng = random.Random(7)
    lines = [f"line {i} {rng.random()}\n" for i in range(400)]
    repo = bare_repo(path)
    for number in range(commits):
        lines[rng.randrange(len(lines))] = f"changed in {number}\n"
        repo.commit({"a/big.txt": "".join(lines), "a/copy.txt": "".join(reversed(lines)),
                     f"n/{number}.txt": f"note {number}\n"}, message=f"commit {number}")
    return repo


def pack_of(repo, revs: str, *options: str) -> bytes:
    return subprocess.run(["git", "--git-dir", str(repo.path), "pack-objects", "--stdout", "--revs", "-q",
                           *options], input=revs.encode(), capture_output=True, env=git_env(), check=True).stdout


def ingest(mirror, data: bytes, chunk: int = 4099):
    repo = open_mirror(mirror)
    index, pack = PackIndex(1 << 30, 1 << 30), PackFile(repo.object_store)
    try:
        for start in range(0, len(data), chunk):
            index.feed(data[start:start + chunk])
            pack.write(data[start:start + chunk])
        pack.install(index)
    except BaseException:
        pack.drop()
        raise
    finally:
        repo.close()
    return index


def pack_files(mirror):
    return sorted(p.name for p in (mirror / "objects" / "pack").iterdir())


@pytest.mark.parametrize("options, chunk", [((), 4099), (("--delta-base-offset",), 4099), (("--delta-base-offset",), 1),
                                            (("--no-reuse-delta", "--window=50"), 65536)])
def test_the_index_is_the_one_git_writes(tmp_path, options, chunk):
    repo = history(tmp_path / "src.git")
    data = pack_of(repo, "main\n", *options)
    index = ingest(tmp_path / "m.git", data, chunk)
    assert index.deltas, "the pack holds deltas (the test would not test their resolution)"
    if "--delta-base-offset" in options:
        assert {kind for _offset, kind, _base in index.deltas} == {6}
    (tmp_path / "git.pack").write_bytes(data)
    run_git("index-pack", "-o", tmp_path / "git.idx", tmp_path / "git.pack")
    [ours] = (tmp_path / "m.git" / "objects" / "pack").glob("pack-*.idx")
    assert ours.read_bytes() == (tmp_path / "git.idx").read_bytes()
    run_git("--git-dir", tmp_path / "m.git", "fsck", "--strict", "--no-dangling", repo.rev("main"))


def test_a_thin_pack_is_completed_from_the_mirrors_objects(tmp_path):
    repo = history(tmp_path / "src.git", commits=3)
    old = repo.rev("main")
    mirror = tmp_path / "m.git"
    ingest(mirror, pack_of(repo, "main\n"))
    new = repo.commit({"a/big.txt": "the first line\n" + repo.git("show", "main:a/big.txt")}, message="more")
    thin = pack_of(repo, f"{new}\n^{old}\n", "--thin", "--delta-base-offset")
    index = ingest(mirror, thin)
    assert any(kind == 7 for _offset, kind, _base in index.deltas), "the thin pack names a base it does not hold"
    run_git("--git-dir", mirror, "fsck", "--strict", "--no-dangling", new)
    assert len(pack_files(mirror)) == 4  # two packs, each with its index


def _object(kind: int, raw: bytes, size: int | None = None) -> bytes:
    size = len(raw) if size is None else size
    head = bytearray([(kind << 4) | (size & 0x0F)])
    size >>= 4
    while size:
        head[-1] |= 0x80
        head.append(size & 0x7F)
        size >>= 7
    return bytes(head) + zlib.compress(raw)


def _pack(*objects: bytes) -> bytes:
    body = b"PACK" + (2).to_bytes(4, "big") + len(objects).to_bytes(4, "big") + b"".join(objects)
    return body + hashlib.sha1(body).digest()


BAD_TREE = b"1x0644 a.txt\0" + bytes(20)


@pytest.mark.parametrize("data, reason", [
    (_pack(_object(3, b"hello\n"))[:-1] + b"\0", "its checksum does not match its content"),
    (_pack(_object(3, b"hello\n"))[:-25], "the pack ended before its last object and checksum"),
    (_pack(_object(3, b"hello\n"), _object(2, BAD_TREE)), "a tree object is malformed"),
    (_pack(_object(1, b"not a commit at all\0\0")), "a commit object is malformed"),
    (_pack(_object(3, b"hello\n", size=5)), "an object inflates to 6 bytes, its header says 5"),
    (_pack(_object(3, b"hello\n")) + b"x", "data follows the pack's checksum"),
])
def test_a_damaged_pack_is_refused_and_leaves_no_file(tmp_path, data, reason):
    with pytest.raises(FetchError) as e:
        ingest(tmp_path / "m.git", data, chunk=3)
    assert e.value.code == "protocol" and reason in e.value.message
    assert pack_files(tmp_path / "m.git") == []


def test_a_delta_whose_base_is_nowhere_is_refused(tmp_path):
    delta = b"\x05\x06\x90\x05" + b"\x01!"  # base 5 bytes, result 6: copy 5 from the base, then insert "!"
    data = _pack(_object(7, delta)[:1] + bytes(20) + _object(7, delta)[1:])
    with pytest.raises(FetchError) as e:
        ingest(tmp_path / "m.git", data)
    assert "base" in e.value.message
    assert pack_files(tmp_path / "m.git") == []
