"""Built-in export mappers: masked case summaries as JSON lines and CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING

from .. import hookimpl

if TYPE_CHECKING:
    from ...domain.case import Case
    from ...domain.views import CaseSummary
    from ..types import Exporter

_COLUMNS = ["reference", "kind", "channel", "state", "received_at", "department", "owner",
            "categories", "subject", "complainant", "patient", "accession_numbers", "outcome",
            "version"]


def _summaries(cases: Iterable[Case]) -> Iterable[CaseSummary]:
    from ...domain.views import summarize

    for c in cases:
        yield summarize(c)


class JsonLinesExporter:
    id = "jsonl"
    description = "one masked case summary per line, as JSON (UTF-8)"

    def export(self, cases: Iterable[Case], out: IO[str]) -> int:
        n = 0
        for s in _summaries(cases):
            out.write(json.dumps(s.model_dump(mode="json"), ensure_ascii=False) + "\n")
            n += 1
        return n


class CsvExporter:
    id = "csv"
    description = "masked case summaries as CSV with a header row (UTF-8)"

    def export(self, cases: Iterable[Case], out: IO[str]) -> int:
        writer = csv.DictWriter(out, fieldnames=_COLUMNS)
        writer.writeheader()
        n = 0
        for s in _summaries(cases):
            row = s.model_dump(mode="json")
            row["categories"] = ";".join(row["categories"])
            row["accession_numbers"] = ";".join(row["accession_numbers"])
            writer.writerow(row)
            n += 1
        return n


@hookimpl
def hc_register_exporters(register: Callable[[Exporter], None]) -> None:
    register(JsonLinesExporter())
    register(CsvExporter())
