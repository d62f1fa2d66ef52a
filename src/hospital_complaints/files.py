"""Reading the files people hand us: complaint JSON, exam CSV exported from Excel, feeds.

- **Encodings.** A CSV saved by Excel on a zh-CN PC is GB18030 (GBK), or UTF-8 with a byte
  order mark; a file from a Linux system is UTF-8 without one. :func:`detect_encoding` reads
  UTF-8 (with or without BOM), UTF-16 with a BOM, and GB18030, in that order; anything else is
  an :class:`InvalidInput` naming the file and the byte offset of the first byte that is not
  UTF-8. An explicit encoding (``--encoding``) is decoded strictly, with the same kind of error.
- **JSON.** :func:`load_json` turns a syntax error into a message with line and column, and
  refuses nesting deeper than :data:`MAX_DEPTH` (a file nested 200,000 deep would otherwise
  exhaust Python's stack).

Messages never quote the file's content: it may hold personal data.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

from .errors import FieldProblem, InvalidInput

MAX_DEPTH = 64
_CHUNK = 1 << 20


def _problem(what: str, where: str, allowed: str, zh: str) -> InvalidInput:
    return InvalidInput(what, [FieldProblem(where, "(bytes not shown)", allowed)], [zh])


def detect_encoding(data: bytes, name: str) -> str:
    """The encoding of ``data`` (a whole file): ``utf-8-sig``, ``utf-8``, ``utf-16`` or
    ``gb18030``; :class:`InvalidInput` naming ``name`` and the first bad byte otherwise."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise _problem(
            name, f"{name} byte {first_bad}",
            f"text in UTF-8 (with or without BOM) or GB18030/GBK; the byte at offset "
            f"{first_bad} is neither (give --encoding if the file uses another one)",
            f"  - {name}：第 {first_bad} 字节起无法按 UTF-8 或 GB18030/GBK 解码；"
            "请另存为 UTF-8，或用 --encoding 指定编码") from None
    if "\x00" in text:
        raise _problem(name, f"{name} byte {text.index(chr(0))}",
                       "a text file (this one holds NUL bytes: is it binary?)",
                       f"  - {name}：文件含 NUL 字节，不是文本文件")
    return "gb18030"


def decode(data: bytes, name: str, encoding: str | None = None) -> str:
    """``data`` as text, in ``encoding`` or the detected one (see the module's doc)."""
    if encoding is None:
        encoding = detect_encoding(data, name)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise _problem(name, "--encoding",
                       f"a known encoding such as utf-8 or gb18030, not {encoding[:40]!r}",
                       f"  - --encoding：未知编码 {encoding[:40]!r}") from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _problem(
            name, f"{name} byte {exc.start}",
            f"text in {encoding}; the byte at offset {exc.start} is not",
            f"  - {name}：第 {exc.start} 字节不是有效的 {encoding} 编码") from None


def read_text(path: Path, encoding: str | None = None) -> str:
    """A whole text file (``-`` is not handled here), decoded as :func:`decode` does."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _problem(str(path), str(path), f"a readable file ({exc.strerror})",
                       f"  - {path}：无法读取（{exc.strerror}）") from None
    return decode(data, path.name, encoding)


def file_encoding(path: Path, encoding: str | None = None) -> str:
    """The encoding to open a (possibly large) file with: checked by streaming the bytes
    through an incremental decoder, never holding the whole file."""
    if encoding is not None:
        decode(b"", path.name, encoding)  # a known name
        return _check_stream(path, encoding)
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return _check_stream(path, "utf-8-sig")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _check_stream(path, "utf-16")
    try:
        return _check_stream(path, "utf-8")
    except InvalidInput:
        pass
    try:
        return _check_stream(path, "gb18030")
    except InvalidInput:
        raise _problem(
            path.name, f"{path.name} byte {_first_bad_utf8(path)}",
            "text in UTF-8 (with or without BOM) or GB18030/GBK (give --encoding if the file "
            "uses another one)",
            f"  - {path.name}：无法按 UTF-8 或 GB18030/GBK 解码；请另存为 UTF-8，或用 --encoding "
            "指定编码") from None


def _check_stream(path: Path, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as f:
        while True:
            block = f.read(_CHUNK)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                raise _problem(path.name, f"{path.name} byte {offset + max(exc.start, 0)}",
                               f"text in {encoding}",
                               f"  - {path.name}：不是有效的 {encoding} 编码") from None
            if not block:
                return encoding
            offset += len(block)


def _first_bad_utf8(path: Path) -> int:
    try:
        _check_stream(path, "utf-8")
    except InvalidInput as exc:
        return int(exc.problems[0].field.rsplit(" ", 1)[-1])
    return 0


def load_json(text: str, what: str) -> Any:
    """Parse JSON with errors a person can act on (line, column; too deep)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(what, [FieldProblem(what, "(text not shown)", f"valid JSON ({exc.msg} "
                                               f"at line {exc.lineno} column {exc.colno})")],
                           [f"  - {what}：不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列："
                            f"{exc.msg}）"]) from None
    except RecursionError:
        raise _too_deep(what) from None
    if _depth(data) > MAX_DEPTH:
        raise _too_deep(what)
    return data


def _too_deep(what: str) -> InvalidInput:
    return InvalidInput(what, [FieldProblem(what, "(text not shown)",
                                            f"JSON nested at most {MAX_DEPTH} levels deep")],
                        [f"  - {what}：JSON 嵌套层数超过 {MAX_DEPTH} 层"])


def _depth(data: Any) -> int:
    """How deeply ``data`` nests (iterative: safe for any depth json.loads accepted)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            stack.extend((v, depth + 1) for v in item)
    return deepest
