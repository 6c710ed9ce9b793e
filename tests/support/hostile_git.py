"""Hostile answers for ``GitServer``: the real ``git http-backend`` answers a fetch, and its pack is swapped.

The protocol around the pack (v2 sections or v0 ACK/NAK, shallow lines, side-band progress) stays what git
sent; from the first pack-data packet (side-band 1) on, the server sends something else instead::

    git_server.hostile(name, "garbage")   # an undefined object type, then random bytes, after a valid pack header
    git_server.hostile(name, "bomb")      # a ~1 MB pack holding one 1 GiB blob of zeros (a decompression bomb)
    git_server.hostile(name, "silence")   # the first part of the real pack, then nothing (connection kept open)
    git_server.hostile(name, "trickle")   # the real pack in TRICKLE_PIECES pieces, TRICKLE_GAP s apart (slow, alive)
"""
from __future__ import annotations

import functools
import hashlib
import os
import struct
import threading
import time
import zlib

MODES = ("garbage", "bomb", "silence", "trickle")
BOMB_SIZE = 1 << 30
TRICKLE_PIECES, TRICKLE_GAP = 6, 0.5


def _pkt(payload: bytes) -> bytes:
    return b"%04x" % (len(payload) + 4) + payload


def _band1(data: bytes) -> bytes:
    return b"".join(_pkt(b"\x01" + data[i:i + 65515]) for i in range(0, len(data), 65515))


def _object_header(kind: int, size: int) -> bytes:
    out = bytearray([(kind << 4) | (size & 0x0F)])
    size >>= 4
    while size:
        out[-1] |= 0x80
        out.append(size & 0x7F)
        size >>= 7
    return bytes(out)


@functools.cache
def bomb_pack() -> bytes:
    """A valid pack with one blob of BOMB_SIZE zero bytes; it deflates to about 1 MB.

    One MiB of zeros is deflated once into a self-contained block (a full flush resets the dictionary), the
    block repeated for the whole size, then ended and checksummed as zlib wants: no GiB is deflated here."""
    chunk = bytes(1 << 20)
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = raw.compress(chunk) + raw.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty final block
    adler = 1
    for _ in range(BOMB_SIZE // len(chunk)):
        adler = zlib.adler32(chunk, adler)
    body = b"\x78\xda" + block * (BOMB_SIZE // len(chunk)) + end + struct.pack(">I", adler)
    pack = b"PACK" + struct.pack(">II", 2, 1) + _object_header(3, BOMB_SIZE) + body
    return pack + hashlib.sha1(pack).digest()


def garbage_pack() -> bytes:
    # The first object header names type 5, which git does not define, so the data is refused as invalid
    # whatever the random rest says (random bytes could otherwise read as a huge object and hit a size limit).
    return b"PACK" + struct.pack(">II", 2, 3) + bytes([0x50]) + os.urandom(256 * 1024)


def _read_pkt(stream) -> tuple[bytes, bytes] | None:
    """One pkt-line from ``stream``: (raw bytes, payload); None at the end."""
    head = stream.read(4)
    if len(head) < 4:
        return None
    length = int(head, 16)
    payload = stream.read(length - 4) if length > 4 else b""
    return head + payload, payload


def answer(mode: str, stdout, wfile, released: threading.Event) -> None:
    """Copy git's answer from ``stdout`` to ``wfile`` until the pack starts, then misbehave as ``mode`` says."""
    while (pkt := _read_pkt(stdout)) is not None:
        raw, payload = pkt
        if payload[:1] != b"\x01":
            wfile.write(raw)
            continue
        if mode == "trickle":
            _trickle(pkt, stdout, wfile)
            return
        if mode == "silence":
            wfile.write(raw)  # the first packet of the real pack, then not another byte
            wfile.flush()
            released.wait(60)
            return
        wfile.write(_band1(bomb_pack() if mode == "bomb" else garbage_pack()) + b"0000")
        return


def _trickle(pkt, stdout, wfile) -> None:
    """The rest of git's answer, its pack data (however many packets) in TRICKLE_PIECES pieces with pauses."""
    data, after = bytearray(), []
    while pkt is not None:
        raw, payload = pkt
        if payload[:1] == b"\x01":
            data += payload[1:]
        elif payload[:1] != b"\x02":  # progress messages are dropped
            after.append(raw)
        pkt = _read_pkt(stdout)
    step = max(1, -(-len(data) // TRICKLE_PIECES))
    for i in range(0, len(data), step):
        wfile.write(_band1(bytes(data[i:i + step])))
        wfile.flush()
        time.sleep(TRICKLE_GAP)
    wfile.write(b"".join(after))
