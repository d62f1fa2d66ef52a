"""Attachments: content-addressed blobs behind a pluggable store, with size and type checks.

The filesystem store is the default (``HC_BLOB_DIR``, default ``hospital-complaints-blobs``).
A blob's key is its SHA-256, so the same file stored twice is kept once. The type is decided
from the file's first bytes, never from its name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from ..errors import FieldProblem, InvalidInput

DEFAULT_MAX_BYTES = 20 * 1024 * 1024

#: media type -> description, for the message that lists what is allowed
ALLOWED_TYPES: dict[str, str] = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG photo",
    "image/png": "PNG image",
    "audio/wav": "WAV recording",
    "audio/mpeg": "MP3 recording",
    "video/mp4": "MP4 video",
    "text/plain": "UTF-8 text",
}


def sniff(data: bytes) -> str | None:
    """The media type of ``data`` from its signature, or None if not an allowed type."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"ID3") or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    try:
        text = data[:65536].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\x00" not in text:
        return "text/plain"
    return None


def check(data: bytes, filename: str, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The media type of an acceptable attachment; :class:`InvalidInput` otherwise."""
    if len(data) > max_bytes:
        raise InvalidInput("attachment", [FieldProblem(
            filename, f"{len(data):,} bytes", f"at most {max_bytes:,} bytes")],
            [f"  - {filename}：文件过大（上限 {max_bytes // (1024 * 1024)} MB）"])
    if not data:
        raise InvalidInput("attachment", [FieldProblem(filename, "0 bytes", "a non-empty file")],
                           [f"  - {filename}：文件为空"])
    media_type = sniff(data)
    if media_type is None:
        allowed = ", ".join(ALLOWED_TYPES.values())
        raise InvalidInput("attachment", [FieldProblem(
            filename, data[:8].hex(" "), f"a file of one of these types: {allowed}")],
            [f"  - {filename}：不支持的文件类型（允许：PDF、JPEG、PNG、WAV、MP3、MP4、文本）"])
    return media_type


class BlobStore(Protocol):
    def put(self, data: bytes) -> str:
        """Store ``data``; return its key (``sha256:<hex>``)."""
        ...

    def get(self, key: str) -> bytes: ...


class FileBlobStore:
    """Blobs as files ``<root>/<first two hex digits>/<sha256>``, written atomically."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.root / digest[:2] / digest
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        return f"sha256:{digest}"

    def get(self, key: str) -> bytes:
        digest = key.removeprefix("sha256:")
        return (self.root / digest[:2] / digest).read_bytes()


class MemoryBlobStore:
    """A real in-memory blob store, for tests and the in-memory service."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        key = f"sha256:{hashlib.sha256(data).hexdigest()}"
        self.blobs[key] = data
        return key

    def get(self, key: str) -> bytes:
        return self.blobs[key]
