"""A received pack indexed while it arrives, then installed in the mirror without reading it all again.

Dulwich's ``DiskObjectStore.add_pack`` indexes a finished pack by reading it twice (once to find the objects,
once to hash them) and reads it twice more to check that every object parses; with the limits' own pass
while receiving, every object was inflated five times (profile: about two thirds of a first fetch).

Here ``PackIndex`` (the receiving limits of pack_limits.py) hashes each whole object, computes each object's
CRC-32 and the pack's checksum on the same single pass over the stream, and parses every commit, tree and
tag (a malformed one refuses the pack, as Dulwich's own check does). ``install`` then reads back from the
file only the deltas and the objects they are based on (Dulwich's DeltaChainIterator with its Rust
``apply_delta``), completes a thin pack with the mirror's base objects, renames the pack into place and
writes its index (``.idx`` last: Dulwich only opens a pack that has one).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import zlib
from contextlib import suppress

from dulwich.file import GitFile
from dulwich.object_store import PACK_MODE
from dulwich.objects import ShaFile
from dulwich.pack import (
    DELTA_TYPES,
    PackData,
    UnpackedObject,
    UnpackedObjectIterator,
    UnresolvedDeltas,
    extend_pack,
    iter_sha1,
    write_pack_index,
)

from repos.transport import FetchError

from .pack_limits import PackLimits, _bad

__all__ = ["PackFile", "PackIndex"]

_NAMES = {1: b"commit", 2: b"tree", 3: b"blob", 4: b"tag"}
_PARSED = (1, 2, 4)  # commits, trees and tags are parsed; a blob is any bytes


def _parse(type_num: int, chunks: list[bytes]) -> None:
    try:
        ShaFile.from_raw_chunks(type_num, chunks)
    except Exception as e:  # noqa: BLE001 - Dulwich raises several kinds for a malformed object
        raise _bad(f"a {_NAMES[type_num].decode()} object is malformed ({e})") from None


class PackIndex(PackLimits):
    """PackLimits that also records, per object, its offset, CRC-32 and (whole objects) its id."""

    def __init__(self, max_bytes: int, max_object_bytes: int) -> None:
        super().__init__(max_bytes, max_object_bytes)
        self.offset = 0  # of the next pack byte
        self.checksum = hashlib.sha1()
        self.trailer = b""
        self.entries: dict[int, list] = {}  # offset -> [object id (None for a delta until resolved), crc32, type]
        self.deltas: list[tuple[int, int, int | bytes]] = []  # (offset, pack type, distance back or base id)
        self._current: list | None = None  # offset, type, size, inflated so far, hasher, chunks, crc32

    def _begin(self, kind: int, size: int, base: int | bytes | None) -> None:
        offset = self.offset
        hasher = chunks = None
        if kind in DELTA_TYPES:
            if kind == 6 and not 0 < base <= offset - 12:
                raise _bad("an offset delta's base is outside the pack")
            self.deltas.append((offset, kind, base))
        else:
            hasher = hashlib.sha1(b"%s %d\0" % (_NAMES[kind], size))
            chunks = [] if kind in _PARSED else None
        self._current = [offset, kind, size, 0, hasher, chunks, 0]

    def _consumed(self, raw: bytes) -> None:
        self.checksum.update(raw)
        self.offset += len(raw)
        if self._current is not None:
            self._current[6] = zlib.crc32(raw, self._current[6])

    def _inflated(self, out: bytes) -> None:
        current = self._current
        current[3] += len(out)
        if current[4] is not None:
            current[4].update(out)
        if current[5] is not None:
            current[5].append(out)

    def _end(self) -> None:
        offset, kind, size, inflated, hasher, chunks, crc = self._current
        self._current = None
        if inflated != size:
            raise _bad(f"an object inflates to {inflated} bytes, its header says {size}")
        if chunks is not None:
            _parse(kind, chunks)
        self.entries[offset] = [hasher.digest() if hasher is not None else None, crc, kind]

    def _trailer(self, data: bytes) -> None:
        self.trailer += data
        if len(self.trailer) > 20:
            raise _bad("data follows the pack's checksum")

    def check_complete(self) -> None:
        if self.objects_left is None or self.objects_left or self.inflater is not None or len(self.trailer) < 20:
            raise _bad("the pack ended before its last object and checksum")
        if self.trailer != self.checksum.digest():
            raise _bad("its checksum does not match its content")


class PackFile:
    """The temporary pack file in the store's pack directory (created on the first write); ``install`` moves
    it into place with its index, ``drop`` removes it. Named like Dulwich's (tmp*.pack: the start-up sweep
    of leftovers knows them)."""

    def __init__(self, store) -> None:
        self.store = store
        self.path: str | None = None
        self.file = None

    def write(self, data: bytes) -> None:
        if self.file is None:
            fd, self.path = tempfile.mkstemp(dir=self.store.pack_dir, suffix=".pack")
            self.file = os.fdopen(fd, "w+b")
        self.file.write(data)

    def drop(self) -> None:
        """Close and remove the temporary file; closing may fail to flush on a full disk, removing still works."""
        if self.file is not None:
            with suppress(OSError):
                self.file.close()
            self.file = None
        if self.path is not None:
            with suppress(FileNotFoundError):
                os.remove(self.path)
            self.path = None

    def install(self, index: PackIndex) -> None:
        """Resolve the deltas, complete a thin pack, move the pack in and write its index."""
        index.check_complete()
        store, f = self.store, self.file
        f.flush()
        ext_refs = _resolve_deltas(store, self.path, f, index) if index.deltas else []
        pack_sha, extra = index.trailer, []
        if ext_refs:
            pack_sha, extra = extend_pack(f, set(ext_refs), store.get_raw, store.object_format,
                                          compression_level=store.pack_compression_level)
        f.flush()
        if store.fsync_object_files:
            os.fsync(f.fileno())
        f.close()
        self.file = None
        entries = sorted([(sha, offset, crc) for offset, (sha, crc, _kind) in index.entries.items()] + extra)
        base = os.path.join(store.pack_dir, "pack-" + iter_sha1(e[0] for e in entries).decode("ascii"))
        if os.path.exists(base + ".pack") and os.path.exists(base + ".idx"):
            self.drop()  # the mirror has this very pack already
            return
        os.chmod(self.path, PACK_MODE)
        os.rename(self.path, base + ".pack")
        self.path = base + ".pack"  # a failure from here on removes the moved pack
        with GitFile(base + ".idx", "wb", mask=PACK_MODE, fsync=store.fsync_object_files) as idx:
            write_pack_index(idx, entries, pack_sha, version=store.pack_index_version)
        self.path = None


def _resolve_deltas(store, path: str, f, index: PackIndex) -> list[bytes]:
    """Give every delta its object id (parsing the commits, trees and tags they make); returns the ids of
    bases outside the pack (a thin pack), which the mirror has."""
    entries = index.entries
    walker = UnpackedObjectIterator(None, store.object_format.hash_func, resolve_ext_ref=store.get_raw,
                                    object_format=store.object_format)
    ref_bases = set()
    ofs_bases = set()
    for offset, kind, base in index.deltas:
        walker.record(UnpackedObject(kind, delta_base=base, offset=offset))
        if kind == 6:
            ofs_bases.add(offset - base)
        else:
            ref_bases.add(base)
    for offset, (sha, _crc, kind) in entries.items():
        if sha is not None and (offset in ofs_bases or sha in ref_bases):
            walker.record(UnpackedObject(kind, offset=offset))
    missing = _bad("a delta's base is neither in the pack nor in the mirror")
    try:
        with PackData(path, file=f, object_format=store.object_format) as data:
            walker.set_pack_data(data)
            for unpacked in walker:
                entry = entries[unpacked.offset]
                if entry[0] is None:
                    entry[0] = unpacked.sha()
                    if unpacked.obj_type_num in _PARSED:
                        _parse(unpacked.obj_type_num, unpacked.obj_chunks)
    except FetchError:
        raise
    except UnresolvedDeltas:
        raise missing from None
    except Exception as e:  # noqa: BLE001 - a delta that does not apply, an offset that is no object, ...
        raise _bad(f"a delta cannot be resolved ({type(e).__name__}: {e})") from None
    if any(sha is None for sha, _crc, _kind in entries.values()):
        raise missing
    return list(walker.ext_refs())
