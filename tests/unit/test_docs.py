"""Documentation stays true to the code (datasette's test_docs idea)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from hospital_complaints.config import __doc__ as config_doc
from hospital_complaints.domain import workflow
from hospital_complaints.domain.commands import ALL_COMMANDS
from hospital_complaints.domain.taxonomy import CaseState
from hospital_complaints.plugins import hookspecs

DOCS = Path(__file__).resolve().parents[2] / "docs"
HOOKS = [(name, fn) for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
         if name.startswith("hc_")]


def hook_sections() -> dict[str, str]:
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    parts = re.split(r"^### ", text, flags=re.M)[1:]
    return {p.split("(", 1)[0].strip(): p for p in parts}


def test_there_are_hooks():
    assert len(HOOKS) >= 9


@pytest.mark.parametrize("name,fn", HOOKS, ids=[n for n, _ in HOOKS])
def test_every_hook_and_argument_is_documented(name, fn):
    sections = hook_sections()
    assert name in sections, f"docs/hooks.md has no '### {name}(...)' section"
    params = list(inspect.signature(fn).parameters)
    heading = sections[name].splitlines()[0]
    assert heading == f"{name}({', '.join(params)})", "heading must show the exact signature"
    for p in params:
        assert f"`{p}`" in sections[name], f"argument {p} of {name} is not described"


def test_no_documented_hook_is_missing_from_the_code():
    assert set(hook_sections()) == {n for n, _ in HOOKS}


def markdown_table(text: str, first_header: str) -> list[list[str]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def test_workflow_table_in_docs_matches_code():
    text = (DOCS / "workflow.md").read_text(encoding="utf-8")
    states = list(CaseState)
    documented = {}
    for row in markdown_table(text, "command | registered"):
        cells = row[1:]
        assert len(cells) == len(states), row
        documented[row[0]] = {s: c for s, c in zip(states, cells, strict=True) if c}
    in_code = {cmd: {s: ("=" if t == workflow.SAME else str(t)) for s, t in row.items()}
               for cmd, row in workflow.TABLE.items()}
    assert documented == in_code


def test_event_types_in_docs_match_code():
    text = (DOCS / "workflow.md").read_text(encoding="utf-8")
    documented = {r[0]: r[1] for r in markdown_table(text, "command | event type")}
    assert documented == {c.name: c.event_type for c in ALL_COMMANDS}


def test_every_setting_variable_is_documented_for_users():
    variables = set(re.findall(r"HC_[A-Z_]+", config_doc or ""))
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    missing = {v for v in variables if v not in readme}
    assert not missing, f"README does not mention {missing}"
