"""HL7 v2 adapter for hospital-complaints: IHE Scheduled Workflow messages -> exam events.

- :func:`extract_bytes` / :func:`extract`: the fast path (no hl7apy), bytes -> events.
- :func:`parse_message`, :func:`split_batch`: the tokeniser (MSH-18, escapes, batches).
- :class:`MessageSink` with :class:`MemorySink` and :class:`SqlSink`: durable storage.
- :class:`MllpListener`: the asyncio MLLP receiver; :func:`receive`: one message end to end.
- :func:`build_ack`: ACK/NAK via hl7apy. :func:`validate_structure`: optional hl7apy check.
"""

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

from hospital_complaints.plugin_api import lazy_exports

if TYPE_CHECKING:
    from .ack import Header, build_ack, read_header
    from .errors import Hl7InputError
    from .extract import Extraction, ExtractOptions, Hl7Event, extract, extract_bytes
    from .mllp import MllpListener, frame
    from .receive import Outcome, receive
    from .sink import Disposition, Incoming, MemorySink, MessageSink, SqlSink, StoredMessage
    from .times import DEFAULT_ZONE, parse_dtm
    from .tokenise import Encoding, Message, escape, parse_message, split_batch, unescape
    from .validate import validate_structure

#: public name -> (module, attribute): imported on first use, so that loading the plugin
#: (the command line's start) does not import the whole adapter
_WHERE: dict[str, tuple[str, str]] = {
    "Header": (".ack", "Header"),
    "build_ack": (".ack", "build_ack"),
    "read_header": (".ack", "read_header"),
    "Hl7InputError": (".errors", "Hl7InputError"),
    "Extraction": (".extract", "Extraction"),
    "ExtractOptions": (".extract", "ExtractOptions"),
    "Hl7Event": (".extract", "Hl7Event"),
    "extract": (".extract", "extract"),
    "extract_bytes": (".extract", "extract_bytes"),
    "MllpListener": (".mllp", "MllpListener"),
    "frame": (".mllp", "frame"),
    "Outcome": (".receive", "Outcome"),
    "receive": (".receive", "receive"),
    "Disposition": (".sink", "Disposition"),
    "Incoming": (".sink", "Incoming"),
    "MemorySink": (".sink", "MemorySink"),
    "MessageSink": (".sink", "MessageSink"),
    "SqlSink": (".sink", "SqlSink"),
    "StoredMessage": (".sink", "StoredMessage"),
    "DEFAULT_ZONE": (".times", "DEFAULT_ZONE"),
    "parse_dtm": (".times", "parse_dtm"),
    "Encoding": (".tokenise", "Encoding"),
    "Message": (".tokenise", "Message"),
    "escape": (".tokenise", "escape"),
    "parse_message": (".tokenise", "parse_message"),
    "split_batch": (".tokenise", "split_batch"),
    "unescape": (".tokenise", "unescape"),
    "validate_structure": (".validate", "validate_structure"),
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())


class _Package(ModuleType):
    """``receive`` and ``extract`` are functions named like their submodules: importing the
    submodule makes Python set the package attribute to the module, so these two are always
    answered with the function (as the eager ``from .receive import receive`` did)."""

    def __getattribute__(self, name: str) -> Any:
        if name in ("receive", "extract"):
            return getattr(import_module(f"{__name__}.{name}"), name)
        return super().__getattribute__(name)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "DEFAULT_ZONE",
    "Disposition",
    "Encoding",
    "ExtractOptions",
    "Extraction",
    "Header",
    "Hl7Event",
    "Hl7InputError",
    "Incoming",
    "MemorySink",
    "Message",
    "MessageSink",
    "MllpListener",
    "Outcome",
    "SqlSink",
    "StoredMessage",
    "build_ack",
    "escape",
    "extract",
    "extract_bytes",
    "frame",
    "parse_dtm",
    "parse_message",
    "read_header",
    "receive",
    "split_batch",
    "unescape",
    "validate_structure",
]
