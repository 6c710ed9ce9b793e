"""Limits on a pack while it is received: its total size and the size of every object in it.

``PackLimits.feed`` reads the pack stream as it arrives, chunk by chunk: the 12-byte header,
then each object's header (type and inflated size) and its zlib stream, which is inflated in
small pieces and thrown away only to find where the next object starts (a subclass may keep what it
needs through the ``_begin``/``_consumed``/``_inflated``/``_end``/``_trailer`` hooks: pipeline/pack_store.py).
An object whose header announces more than the limit fails at once, before any of it is inflated; for a delta the size
of the object it produces (from the delta's own header) is checked as well, so a small delta
cannot expand into a huge object. Data that is not a pack fails as soon as it is seen.
"""
from __future__ import annotations

import zlib

from repos.transport import FetchError

__all__ = ["PackLimits", "limit_error", "size_text"]

_TYPES = {1: "commit", 2: "tree", 3: "blob", 4: "tag", 6: "delta", 7: "delta"}
_PIECE = 64 * 1024  # inflate at most this much at a time


def size_text(n: int) -> str:
    """``512 MiB``, ``64 KiB``, ``1000 bytes``: the exact value, in the largest unit that divides it."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    return f"{n} bytes"


def limit_error(what: str, limit: int, setting: str, *, count: bool = False) -> FetchError:
    shown = str(limit) if count else size_text(limit)
    return FetchError("too_large", f"{what} exceeds the limit of {shown} ({setting})")


def _bad(reason: str) -> FetchError:
    return FetchError("protocol", f"The remote sent invalid pack data: {reason}")


def _varint(buf: bytes | bytearray, pos: int) -> tuple[int, int] | None:
    """A little-endian base-128 number at ``pos``: (value, next position), None when incomplete."""
    value = shift = 0
    while pos < len(buf):
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 70:
            raise _bad("an object size is too long to be real")
    return None


class PackLimits:
    """Feed it every chunk of the pack as it arrives; raises FetchError when a limit is passed."""

    def __init__(self, max_bytes: int, max_object_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.max_object = max_object_bytes
        self.received = 0
        self.buf = bytearray()
        self.objects_left: int | None = None  # None until the pack header is read
        self.inflater = None  # the current object's zlib stream
        self.delta_head: bytearray | None = None  # first inflated bytes of a delta (its two sizes)

    def feed(self, data: bytes) -> None:
        self.received += len(data)
        if self.received > self.max_bytes:
            raise limit_error("The pack the remote is sending", self.max_bytes, "THYMIS_FETCH_MAX_BYTES")
        self.buf += data
        while self._step():
            pass

    def _step(self) -> bool:
        """Advance over what is buffered; False when more data is needed."""
        if self.inflater is not None:
            return self._inflate()
        if self.objects_left is None:
            return self._pack_header()
        if self.objects_left == 0:
            self._trailer(bytes(self.buf))  # the checksum
            self.buf.clear()
            return False
        return self._object_header()

    def _pack_header(self) -> bool:
        if len(self.buf) < 12:
            if not b"PACK".startswith(bytes(self.buf[:4])):
                raise _bad("it does not start with 'PACK'")
            return False
        if self.buf[:4] != b"PACK" or int.from_bytes(self.buf[4:8], "big") not in (2, 3):
            raise _bad("it does not start with a pack header")
        self.objects_left = int.from_bytes(self.buf[8:12], "big")
        self._consumed(bytes(self.buf[:12]))
        del self.buf[:12]
        return True

    def _object_header(self) -> bool:
        buf = self.buf
        if not buf:
            return False
        kind = (buf[0] >> 4) & 7
        if kind not in _TYPES:
            raise _bad(f"unknown object type {kind}")
        size, pos, shift = buf[0] & 0x0F, 1, 4
        more = buf[0] & 0x80
        while more:
            if pos >= len(buf):
                return False
            size |= (buf[pos] & 0x7F) << shift
            more = buf[pos] & 0x80
            pos, shift = pos + 1, shift + 7
            if shift > 70:
                raise _bad("an object size is too long to be real")
        base: int | bytes | None = None
        if kind == 6:  # offset delta: the distance back to its base follows (git's offset encoding)
            base = -1
            while True:
                if pos >= len(buf):
                    return False
                base = ((base + 1) << 7) | (buf[pos] & 0x7F)
                pos += 1
                if not buf[pos - 1] & 0x80:
                    break
        elif kind == 7:  # reference delta: the base object's id follows
            pos += 20
            if pos > len(buf):
                return False
            base = bytes(buf[pos - 20:pos])
        self._check(size, _TYPES[kind])
        self._begin(kind, size, base)
        self._consumed(bytes(buf[:pos]))
        del buf[:pos]
        self.inflater = zlib.decompressobj()
        self.delta_head = bytearray() if kind in (6, 7) else None
        return True

    def _check(self, size: int, kind: str) -> None:
        if size > self.max_object:
            raise limit_error(f"An object in the pack ({kind}, {size_text(size)})", self.max_object,
                              "THYMIS_FETCH_MAX_OBJECT_BYTES")

    def _inflate(self) -> bool:
        if not self.buf:
            return False
        data, self.buf = bytes(self.buf), bytearray()
        inflater, given = self.inflater, data
        try:
            while data and not inflater.eof:
                out = inflater.decompress(data, _PIECE)
                data = inflater.unconsumed_tail
                self._delta_sizes(out)
                self._inflated(out)
        except zlib.error as e:
            raise _bad(f"an object's data does not inflate ({e})") from None
        if not inflater.eof:
            self._consumed(given)
            return False
        rest = inflater.unused_data
        self._consumed(given[:len(given) - len(rest)])
        self.buf = bytearray(rest)
        self.inflater = self.delta_head = None
        self.objects_left -= 1
        self._end()
        return True

    # Hooks for a subclass that indexes the pack as it arrives; the base class needs none of them.
    def _begin(self, kind: int, size: int, base: int | bytes | None) -> None:
        """An object starts: pack type, inflated size, delta base (distance back, or object id)."""

    def _consumed(self, raw: bytes) -> None:
        """Pack bytes before the trailer, in order, each exactly once (headers and compressed data)."""

    def _inflated(self, out: bytes) -> None:
        """The current object's inflated bytes, in order."""

    def _end(self) -> None:
        """The current object's data ended."""

    def _trailer(self, data: bytes) -> None:
        """What follows the last object (a complete pack: its 20-byte checksum), possibly in pieces."""

    def _delta_sizes(self, out: bytes) -> None:
        """A delta starts with the size of its base and of the object it makes: check the latter."""
        if self.delta_head is None or not out:
            return
        self.delta_head += out[:40]
        base = _varint(self.delta_head, 0)
        target = base and _varint(self.delta_head, base[1])
        if target:
            self.delta_head = None
            self._check(target[0], "the result of a delta")
        elif len(self.delta_head) >= 40:
            raise _bad("a delta's header is malformed")
