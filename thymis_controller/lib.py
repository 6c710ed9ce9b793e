"""Small helpers that module authors use (same names as in Thymis)."""

from __future__ import annotations

import base64
import os
import sys

__all__ = ["read_into_base64"]

_MEDIA_TYPES = {
    "svg": "image/svg+xml",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
}


def read_into_base64(path: str | os.PathLike) -> str | None:
    """A ``data:`` URL holding the image at ``path``, or None if it cannot be read.

    A missing icon must not stop a module from loading, so errors are reported
    on stderr and give None (as in Thymis).
    """
    path = os.fspath(path)
    extension = os.path.splitext(path)[1][1:].lower()
    media_type = _MEDIA_TYPES.get(extension, f"image/{extension or 'octet-stream'}")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        print(f"read_into_base64: cannot read {path}: {e.strerror}", file=sys.stderr)
        return None
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"
