"""Console output: rich tables that stay readable when piped (no terminal width to follow)."""

from __future__ import annotations

from rich.console import Console


def console() -> Console:
    plain = Console()
    return plain if plain.is_terminal else Console(width=160)
