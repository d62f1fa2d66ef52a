"""Bridges between the core's blocking streams and the ASGI server's async ones.

- :class:`ExportStream`: an exporter writes to a text stream, case by case, in a worker
  thread; the response reads what it wrote through a small bounded queue. Nothing is held
  whole, and a client that goes away stops the export at its next write.
- :class:`MultipartFile`: the file part of a ``multipart/form-data`` upload as a blocking
  binary stream the core's ``attach`` reads, parsed from the request body as it arrives
  (nothing spooled to disk in plaintext, nothing held whole).
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import AsyncIterator, Callable
from email.message import Message
from typing import IO, Any, cast

import anyio
import anyio.from_thread
from python_multipart.multipart import MultipartParser
from starlette.types import Receive

from .problems import Problem, invalid

CHUNK = 64 * 1024
_DONE = object()


class _Stopped(Exception):
    """The reader went away; the writing thread stops."""


class _QueueWriter(io.TextIOBase):
    def __init__(self, q: queue.Queue[object], stopped: threading.Event) -> None:
        self._q = q
        self._stopped = stopped
        self._buf: list[bytes] = []
        self._size = 0

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        data = s.encode("utf-8")
        self._buf.append(data)
        self._size += len(data)
        if self._size >= CHUNK:
            self.flush()
        return len(s)

    def flush(self) -> None:
        if self._buf:
            self._put(b"".join(self._buf))
            self._buf, self._size = [], 0

    def _put(self, item: object) -> None:
        while True:
            if self._stopped.is_set():
                raise _Stopped
            try:
                self._q.put(item, timeout=0.5)
                return
            except queue.Full:
                continue


class ExportStream:
    """Run ``write(out)`` in a thread and yield what it writes, as UTF-8 chunks."""

    def __init__(self, write: Callable[[IO[str]], Any]) -> None:
        self._write = write
        self._q: queue.Queue[object] = queue.Queue(maxsize=8)
        self._stopped = threading.Event()

    def _run(self) -> None:
        writer = _QueueWriter(self._q, self._stopped)
        try:
            self._write(cast(IO[str], writer))
            writer.flush()
            writer._put(_DONE)
        except _Stopped:
            return
        except BaseException as exc:  # handed to the reader, which ends the response
            try:
                writer._put(exc)
            except _Stopped:
                return

    async def __aiter__(self) -> AsyncIterator[bytes]:
        thread = threading.Thread(target=self._run, name="hc-http-export", daemon=True)
        thread.start()
        try:
            while True:
                item = await anyio.to_thread.run_sync(self._q.get)
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, bytes)
                yield item
        finally:
            self._stopped.set()


class MultipartFile(io.RawIOBase):
    """The part named ``field`` of a multipart body, read as it arrives.

    Used from a worker thread: ``next_chunk`` fetches the next piece of the request body
    from the event loop (``b""`` at its end). Call :meth:`open` first: it reads up to the
    part's headers and returns the file name the client gave.
    """

    def __init__(self, content_type: str, next_chunk: Callable[[], bytes], *,
                 field: str = "file") -> None:
        self._next = next_chunk
        self._field = field
        self._boundary = _boundary(content_type)
        self._parser = MultipartParser(self._boundary, callbacks={
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        })
        self._field_name = b""
        self._field_value = b""
        self._headers: dict[str, str] = {}
        self._in_file = False
        self._file_found = False
        self._file_done = False
        self._body_done = False
        self._filename: str | None = None
        self._pending = bytearray()

    # -- parser callbacks --------------------------------------------------------------------

    def _part_begin(self) -> None:
        self._headers = {}
        self._in_file = False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field_name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._field_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field_name.decode("latin-1").strip().lower()] = \
            self._field_value.decode("utf-8", "replace").strip()
        self._field_name, self._field_value = b"", b""

    def _headers_finished(self) -> None:
        name, filename = _disposition(self._headers.get("content-disposition", ""))
        if name == self._field and not self._file_found:
            self._in_file = True
            self._file_found = True
            self._filename = filename

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._pending += data[start:end]

    def _part_end(self) -> None:
        if self._in_file:
            self._in_file = False
            self._file_done = True

    # -- reading -------------------------------------------------------------------------------

    def _feed(self) -> bool:
        """Parse one more piece of the body; ``False`` when the body has ended."""
        if self._body_done:
            return False
        chunk = self._next()
        if not chunk:
            self._body_done = True
            self._parser.finalize()
            return False
        try:
            self._parser.write(chunk)
        except Exception:  # python-multipart raises its own errors on a malformed body
            raise _malformed("the body is not well-formed multipart/form-data") from None
        return True

    def open(self) -> str:
        """Read up to the file part's headers; its file name (422 when there is none)."""
        while not self._file_found:
            if not self._feed():
                raise invalid(self._field, None, f"a multipart/form-data part named "
                              f"{self._field!r} holding the file",
                              f"  - {self._field}：缺少名为 {self._field!r} 的文件部分")
        if not self._filename:
            raise invalid(self._field, "(a part without a file name)", "a file part "
                          "(Content-Disposition: form-data; name=\"file\"; filename=\"...\")",
                          f"  - {self._field}：文件部分缺少文件名（filename）")
        return self._filename

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._pending and not self._file_done:
            if not self._feed():
                if not self._file_done:
                    raise _malformed("the body ended inside the file part")
                break
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        del self._pending[:n]
        return n


def _malformed(why: str) -> Problem:
    return invalid("(body)", f"a body that does not parse ({why})",
                   "multipart/form-data with a part named 'file'",
                   "  - 请求体不是有效的 multipart/form-data")


def _boundary(content_type: str) -> bytes:
    message = Message()
    message["content-type"] = content_type
    if message.get_content_type() != "multipart/form-data":
        raise Problem("unsupported-media-type",
                      "an attachment is uploaded as multipart/form-data with a part named "
                      f"'file', not {content_type.split(';')[0][:60]!r}",
                      "附件须以 multipart/form-data 上传，文件部分名为 file")
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not 0 < len(boundary) <= 70:
        raise _malformed("no boundary parameter in Content-Type")
    return boundary.encode("latin-1", "replace")


def _disposition(value: str) -> tuple[str | None, str | None]:
    message = Message()
    message["content-disposition"] = value
    name = message.get_param("name", header="content-disposition")
    filename = message.get_filename()
    return (name if isinstance(name, str) else None,
            filename if isinstance(filename, str) else None)


def body_reader(receive: Receive) -> Callable[[], bytes]:
    """A blocking ``next_chunk`` for a worker thread, reading the ASGI body on the loop."""
    finished = False

    async def next_piece() -> bytes:
        nonlocal finished
        while not finished:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Problem("bad-request", "the client went away during the upload",
                              "上传过程中客户端已断开")
            data = bytes(message.get("body", b""))
            if not message.get("more_body", False):
                finished = True
            if data:
                return data
        return b""

    def next_chunk() -> bytes:
        return anyio.from_thread.run(next_piece)

    return next_chunk
