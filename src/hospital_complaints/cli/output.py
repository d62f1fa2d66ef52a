"""Console output for the command line.

Stored text comes from outside (a complaint's subject, a department's name, an HL7 field) and
is data, never markup: every console here has Rich markup, emoji codes and highlighting turned
off, so ``[/bold]`` or ``[link=...]`` in a subject prints as typed instead of failing (or
styling) the output. Our own styling is explicit: :func:`styled` builds ``Text`` from
``(text, style)`` parts. Tables stay readable when piped (a fixed width, no terminal to follow).
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text


def console(width: int | None = None) -> Console:
    plain = Console(markup=False, emoji=False, highlight=False, width=width)
    if plain.is_terminal or width is not None:
        return plain
    return Console(markup=False, emoji=False, highlight=False, width=160)


def styled(*parts: str | tuple[str, str]) -> Text:
    """``styled((ref, "bold"), " ", subject)``: our styles on plain text, never parsed."""
    return Text.assemble(*parts)
