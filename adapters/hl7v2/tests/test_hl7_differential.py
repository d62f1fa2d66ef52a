"""Differential test: for every field the fast path used, hl7apy's full parse (TOLERANT)
finds the same value at the same place (segment, field, component).

hl7apy does not resolve escape sequences when parsing, so its raw component is unescaped
with our ``unescape`` before comparing; the part under test is where fields, components,
repetitions and segments begin and end, and which segment each value came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message as apy_parse

from hc_hl7v2 import Message, extract, parse_message, split_batch, unescape

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = sorted(p.name for p in FIXTURES.glob("*.hl7") if not p.name.startswith("bad_"))


def _apy(msg: Message) -> Any:
    # hl7apy reads the encoding characters from MSH-1/MSH-2 itself
    return apy_parse("\r".join(msg.segments), validation_level=VALIDATION_LEVEL.TOLERANT,
                     find_groups=False)


def _apy_value(apy: Any, msg: Message, idx: int, n: int, comp: int) -> str:
    seg = apy.children[idx]
    assert seg.name == msg.segments[idx][:3]
    chars = {"FIELD": msg.encoding.field, "COMPONENT": msg.encoding.component,
             "SUBCOMPONENT": msg.encoding.subcomponent,
             "REPETITION": msg.encoding.repetition, "ESCAPE": msg.encoding.escape}
    field = getattr(seg, f"{seg.name.lower()}_{n}")
    first = field[0]  # first repetition
    named = [c for c in first.children if c.name.endswith(f"_{comp}")]
    if named:
        text: str = named[0].to_er7(encoding_chars=chars)
    else:  # a Z-segment or a field hl7apy keeps as one string: split its ER7 ourselves
        parts = first.to_er7(encoding_chars=chars).split(msg.encoding.component)
        text = parts[comp - 1] if comp <= len(parts) else ""
    text = text.split(msg.encoding.subcomponent)[0]
    return unescape(text, msg.encoding).strip()


def _messages() -> list[tuple[str, bytes]]:
    out = []
    for name in GOOD:
        for i, (_, raw) in enumerate(split_batch((FIXTURES / name).read_bytes())):
            out.append((f"{name}#{i}", raw))
    return out


@pytest.mark.parametrize(("where", "raw"), _messages(), ids=[w for w, _ in _messages()])
def test_fast_path_and_hl7apy_read_the_same_values(where: str, raw: bytes) -> None:
    msg = parse_message(raw)
    x = extract(msg)
    apy = _apy(msg)
    assert apy.msh.msh_10.to_er7() == msg.control_id
    assert apy.msh.msh_9.msh_9_1.to_er7() == msg.value("MSH", 9, 1)
    assert [c.name for c in apy.children] == [s[:3] for s in msg.segments]
    compared = 0
    for ev in x.events:
        for attr, (idx, n, comp) in ev.sources.items():
            ours = msg.at(idx, n, comp).strip()
            theirs = _apy_value(apy, msg, idx, n, comp)
            assert ours == theirs, f"{attr} at {msg.segments[idx][:3]}-{n}.{comp}"
            value = getattr(ev, attr)
            if isinstance(value, str):
                assert value == (ours.upper() if attr == "modality" else ours)
            compared += 1
    assert compared >= (2 if x.events else 0)
