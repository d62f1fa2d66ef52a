"""HL7 v2 adapter for hospital-complaints: IHE Scheduled Workflow messages -> exam events.

- :func:`extract_bytes` / :func:`extract`: the fast path (no hl7apy), bytes -> events.
- :func:`parse_message`, :func:`split_batch`: the tokeniser (MSH-18, escapes, batches).
- :class:`MessageSink` with :class:`MemorySink` and :class:`SqlSink`: durable storage.
- :class:`MllpListener`: the asyncio MLLP receiver; :func:`receive`: one message end to end.
- :func:`build_ack`: ACK/NAK via hl7apy. :func:`validate_structure`: optional hl7apy check.
"""

from .ack import Header, build_ack, read_header
from .errors import Hl7InputError
from .extract import Extraction, ExtractOptions, Hl7Event, extract, extract_bytes
from .mllp import MllpListener, frame
from .receive import Outcome, receive
from .sink import Disposition, Incoming, MemorySink, MessageSink, SqlSink, StoredMessage
from .times import DEFAULT_ZONE, parse_dtm
from .tokenise import Encoding, Message, escape, parse_message, split_batch, unescape
from .validate import validate_structure

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
