"""JSON: every number and text the other formats show, as data."""

from __future__ import annotations

import json
from pathlib import Path

from ..build.model import Report


def report_json(report: Report) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=1, allow_nan=False)


def write_json(report: Report, path: Path) -> None:
    path.write_text(report_json(report) + "\n", encoding="utf-8")
