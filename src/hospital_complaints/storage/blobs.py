"""Attachments: content-addressed blobs, encrypted at rest, with size and type checks.

A blob's key is the SHA-256 of its *plaintext* (``sha256:<hex>``), so the same file stored
twice is kept once and a reader can verify what it got. Files are streamed, never read whole:
:meth:`FileBlobStore.stage` reads at most ``max_bytes + 1`` bytes of the source (a 20 MB limit
stops ``/dev/zero`` after 20 MB), encrypting as it goes into a temporary file; nothing is
visible under the blob's key until :meth:`StagedBlob.commit`. The service commits a blob only
after the case accepted the attachment, so a refused attachment writes no blob.

On disk (``HC_BLOB_DIR``, default ``hospital-complaints-blobs``): ``<root>/<2 hex>/<sha256>``,

    header  = b"HCBLOB1\\n" | key id (8 ASCII hex) | nonce prefix (7 bytes) | chunk size (u32 BE)
    chunk i = AES-256-GCM(key, nonce = prefix | i (u32 BE) | last (1 byte), plaintext chunk,
                          associated data = header)

Each chunk is authenticated and numbered, and the last one is marked, so a reordered,
truncated or extended file does not decrypt; reading also checks the plaintext's SHA-256
against the key. Blobs written by release 0.1 are plaintext: they are still read (and their
hash checked), and ``hospital-complaints keys rotate`` encrypts them.

The file type is decided from the first bytes, never from the name.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import FieldProblem, InvalidInput
from .keys import EncryptionKeyError, KeyRing

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
CHUNK = 64 * 1024
SNIFF_BYTES = 64 * 1024
MAGIC = b"HCBLOB1\n"
_HEADER = struct.Struct(">8s8s7sI")  # magic, key id, nonce prefix, chunk size
#: control characters that do not occur in a text file (tab, newlines, form feed do)
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")

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
    """The media type of ``data`` (a file's first bytes) from its signature, or None if it
    is not an allowed type."""
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
    head = data[:SNIFF_BYTES]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the end of the sample
            return None
        text = head[:exc.start].decode("utf-8")
    if not _CONTROL.search(text):
        return "text/plain"
    return None


def _too_large(filename: str, max_bytes: int) -> InvalidInput:
    return InvalidInput("attachment", [FieldProblem(
        filename, f"more than {max_bytes:,} bytes", f"at most {max_bytes:,} bytes")],
        [f"  - {filename}：文件过大（上限 {max_bytes // (1024 * 1024)} MB），未保存"])


def check_head(head: bytes, size: int, filename: str,
               max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The media type of an acceptable attachment whose first bytes are ``head`` and whose
    size is ``size``; :class:`InvalidInput` otherwise."""
    if size > max_bytes:
        raise _too_large(filename, max_bytes)
    if size == 0:
        raise InvalidInput("attachment", [FieldProblem(filename, "0 bytes", "a non-empty file")],
                           [f"  - {filename}：文件为空"])
    media_type = sniff(head)
    if media_type is None:
        allowed = ", ".join(ALLOWED_TYPES.values())
        raise InvalidInput("attachment", [FieldProblem(
            filename, f"a file starting with bytes {head[:8].hex(' ')}",
            f"a file of one of these types: {allowed}")],
            [f"  - {filename}：不支持的文件类型"
             "（允许：PDF、JPEG、PNG、WAV、MP3、MP4、UTF-8 文本）"])
    return media_type


def check(data: bytes, filename: str, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """:func:`check_head` for a file held in memory."""
    return check_head(data[:SNIFF_BYTES], len(data), filename, max_bytes)


def _chunks(source: BinaryIO | bytes, limit: int) -> Iterator[bytes]:
    """The source in chunks, at most ``limit`` bytes in all (the caller sees the size)."""
    stream: BinaryIO = io.BytesIO(source) if isinstance(source, bytes) else source
    left = limit
    while left > 0:
        data = stream.read(min(CHUNK, left))
        if not data:
            return
        left -= len(data)
        yield data


@dataclass
class StagedBlob:
    """A file read, checked for size, hashed and (for the file store) encrypted into a
    temporary place. ``commit()`` makes it visible under its key; ``discard()`` forgets it."""

    sha256: str
    size: int
    head: bytes
    _commit: Callable[[], bool] | None = field(repr=False, default=None)
    _discard: Callable[[], None] | None = field(repr=False, default=None)
    created: bool = False

    @property
    def key(self) -> str:
        return f"sha256:{self.sha256}"

    def commit(self) -> str:
        """Store it; returns the key. ``created`` says whether this call wrote a new blob
        (the same content may be stored already)."""
        if self._commit is not None:
            self.created = self._commit()
            self._commit = None
        return self.key

    def discard(self) -> None:
        if self._discard is not None:
            self._discard()


class BlobStore(Protocol):
    def stage(self, source: BinaryIO | bytes, filename: str,
              max_bytes: int = DEFAULT_MAX_BYTES) -> StagedBlob:
        """Read ``source`` (at most ``max_bytes``; more is :class:`InvalidInput` and nothing
        is kept) into a staged blob."""
        ...

    def get(self, key: str) -> bytes:
        """The plaintext of a stored blob, verified against its key."""
        ...

    def delete(self, key: str) -> None:
        """Remove a blob (used to undo a blob a failed transaction created)."""
        ...


class FileBlobStore:
    """Encrypted blobs as files ``<root>/<first two hex digits>/<sha256>``."""

    def __init__(self, root: str | Path, key_ring: KeyRing) -> None:
        self.root = Path(root)
        self.key_ring = key_ring

    def path(self, key: str) -> Path:
        digest = key.removeprefix("sha256:")
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise InvalidInput("attachment", [FieldProblem("key", key, "sha256:<64 hex digits>")],
                               ["  - 附件标识格式错误"])
        return self.root / digest[:2] / digest

    # -- writing ---------------------------------------------------------------------------

    def stage(self, source: BinaryIO | bytes, filename: str,
              max_bytes: int = DEFAULT_MAX_BYTES) -> StagedBlob:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".staging-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                digest, size, head = self._encrypt_into(source, out, max_bytes + 1)
                out.flush()
                os.fsync(out.fileno())
            if size > max_bytes:
                raise _too_large(filename, max_bytes)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        final = self.root / digest[:2] / digest

        def commit() -> bool:
            if final.exists():
                tmp.unlink(missing_ok=True)
                return False
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
            return True

        return StagedBlob(digest, size, head, commit, lambda: tmp.unlink(missing_ok=True))

    def _encrypt_into(self, source: BinaryIO | bytes, out: BinaryIO,
                      limit: int) -> tuple[str, int, bytes]:
        key_id = self.key_ring.current_id
        prefix = os.urandom(7)
        header = _HEADER.pack(MAGIC, key_id.encode("ascii"), prefix, CHUNK)
        out.write(header)
        aead = AESGCM(self.key_ring.keys[0])
        hasher = hashlib.sha256()
        size = 0
        head = b""
        pending: bytes | None = None
        index = 0
        for data in _chunks(source, limit):
            hasher.update(data)
            size += len(data)
            if len(head) < SNIFF_BYTES:
                head += data[:SNIFF_BYTES - len(head)]
            if pending is not None:
                out.write(aead.encrypt(_nonce(prefix, index, last=False), pending, header))
                index += 1
            pending = data
        out.write(aead.encrypt(_nonce(prefix, index, last=True), pending or b"", header))
        return hasher.hexdigest(), size, head

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    # -- reading ---------------------------------------------------------------------------

    def get(self, key: str) -> bytes:
        return b"".join(self.read_chunks(key))

    def read_chunks(self, key: str) -> Iterator[bytes]:
        """The plaintext in chunks. The SHA-256 is checked at the end: a reader that acts
        before the last chunk must be ready for :class:`EncryptionKeyError` then."""
        path = self.path(key)
        digest = key.removeprefix("sha256:")
        hasher = hashlib.sha256()
        with path.open("rb") as f:
            first = f.read(_HEADER.size)
            if self.is_encrypted_header(first):
                yield from self._decrypt(f, first, key, hasher)
            else:  # a plaintext blob written by release 0.1
                data = first
                while data:
                    hasher.update(data)
                    yield data
                    data = f.read(CHUNK)
        if hasher.hexdigest() != digest:
            raise EncryptionKeyError(
                f"attachment {key[:19]}... does not match its SHA-256: the file was altered",
                f"附件 {key[:19]}... 与其 SHA-256 不符：文件已被改动")

    @staticmethod
    def is_encrypted_header(first: bytes) -> bool:
        return len(first) == _HEADER.size and first.startswith(MAGIC)

    def _decrypt(self, f: BinaryIO, header: bytes, key: str,
                 hasher: hashlib._Hash) -> Iterator[bytes]:
        _, key_id_raw, prefix, chunk = _HEADER.unpack(header)
        where = f"attachment {key[:19]}..."
        aead = AESGCM(self.key_ring.key(key_id_raw.decode("ascii", "replace"), where))
        size = chunk + 16
        index = 0
        block = f.read(size)
        while True:
            following = f.read(size)
            last = not following
            try:
                plain = aead.decrypt(_nonce(prefix, index, last=last), block, header)
            except InvalidTag:
                raise EncryptionKeyError(
                    f"{where} does not decrypt (chunk {index}): the key is wrong or the file "
                    "was altered, truncated or extended",
                    f"{where} 无法解密（第 {index} 块）：密钥错误或文件被改动、截断") from None
            hasher.update(plain)
            yield plain
            if last:
                return
            block, index = following, index + 1

    def key_id_of(self, key: str) -> str | None:
        """The key id a blob is encrypted with, or ``None`` for a plaintext (0.1) blob."""
        with self.path(key).open("rb") as f:
            first = f.read(_HEADER.size)
        if not self.is_encrypted_header(first):
            return None
        return str(_HEADER.unpack(first)[1].decode("ascii", "replace"))

    def stored(self) -> Iterator[str]:
        """Every stored blob's key."""
        if not self.root.is_dir():
            return
        for sub in sorted(self.root.iterdir()):
            if sub.is_dir() and len(sub.name) == 2:
                for path in sorted(sub.iterdir()):
                    if len(path.name) == 64 and path.name.startswith(sub.name):
                        yield f"sha256:{path.name}"

    def rewrite(self, key: str) -> bool:
        """Re-encrypt one blob under the current key (a 0.1 plaintext blob too); returns
        whether it changed. The plaintext is checked against its hash on the way."""
        if self.key_id_of(key) == self.key_ring.current_id:
            return False
        path = self.path(key)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".staging-")
        try:
            with os.fdopen(fd, "wb") as out:
                reader = cast(BinaryIO, _Reader(self.read_chunks(key)))
                digest, _, _ = self._encrypt_into(reader, out, 1 << 62)
                out.flush()
                os.fsync(out.fileno())
            if f"sha256:{digest}" != key:  # pragma: no cover - read_chunks verified it
                raise EncryptionKeyError(f"attachment {key[:19]}... changed while rewriting")
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return True


class _Reader(io.RawIOBase):
    """A file-like view of an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            try:
                self._buf += next(self._chunks)
            except StopIteration:
                break
        if n < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out


def _nonce(prefix: bytes, index: int, *, last: bool) -> bytes:
    return prefix + struct.pack(">I", index) + (b"\x01" if last else b"\x00")


class MemoryBlobStore:
    """A real in-memory blob store, for tests and the in-memory service (not at rest, so
    not encrypted)."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def stage(self, source: BinaryIO | bytes, filename: str,
              max_bytes: int = DEFAULT_MAX_BYTES) -> StagedBlob:
        data = b"".join(_chunks(source, max_bytes + 1))
        if len(data) > max_bytes:
            raise _too_large(filename, max_bytes)
        digest = hashlib.sha256(data).hexdigest()
        key = f"sha256:{digest}"

        def commit() -> bool:
            created = key not in self.blobs
            self.blobs[key] = data
            return created

        return StagedBlob(digest, len(data), data[:SNIFF_BYTES], commit, None)

    def put(self, data: bytes) -> str:
        return self.stage(data, "blob", max_bytes=max(len(data), 1)).commit()

    def get(self, key: str) -> bytes:
        return self.blobs[key]

    def delete(self, key: str) -> None:
        self.blobs.pop(key, None)
