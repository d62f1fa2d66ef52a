"""The report document: sections of tables and charts, every title and note in zh and en.

A :class:`Report` is data: the renderers (``reports/render``) draw it as HTML, PDF, XLSX, CSV
or JSON, and a host can read any number straight from it (``report.table("rates").rows``).
Nothing here holds a complainant's or patient's identity: reports are built from case facts
that carry none.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

#: one table cell
Value = int | float | str | date | datetime | bool | None

#: kinds of column: how a cell is shown and formatted (``pct`` is a share: 0.53 = 53 %)
ColumnKind = Literal["text", "int", "float", "pct", "date", "datetime"]
#: units of a chart's axis
ChartUnit = Literal["count", "pct", "rate", "min"]


@dataclass(frozen=True, slots=True)
class Bi:
    """A text in Chinese and English."""

    zh: str
    en: str

    def __str__(self) -> str:
        return self.zh if self.zh == self.en else f"{self.zh} {self.en}"

    def to_json(self) -> dict[str, str]:
        return {"en": self.en, "zh": self.zh}


def json_value(v: Value) -> Any:
    """A cell as JSON: times in ISO 8601 with their offset, floats to 6 places."""
    if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
        return v
    if isinstance(v, float):
        return round(v, 6)
    return v.isoformat()


@dataclass(frozen=True, slots=True)
class Column:
    """``group="trend"``: one of the 12 month columns a renderer may draw as a sparkline."""

    key: str
    title: Bi
    kind: ColumnKind = "int"
    group: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"group": self.group, "key": self.key, "kind": self.kind,
                "title": self.title.to_json()}


@dataclass(frozen=True, slots=True)
class Series:
    name: Bi
    values: tuple[float | int | None, ...]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name.to_json(), "values": list(self.values)}


@dataclass(frozen=True, slots=True)
class ReferenceLine:
    """A horizontal line on a chart: a benchmark or a published reference figure."""

    label: Bi
    value: float

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label.to_json(), "value": self.value}


@dataclass(frozen=True, slots=True)
class Chart:
    """A line chart over months (``categories`` are months) or horizontal bars per row."""

    id: str
    title: Bi
    kind: Literal["line", "bar"]
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    unit: ChartUnit = "count"
    references: tuple[ReferenceLine, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"categories": list(self.categories), "id": self.id, "kind": self.kind,
                "references": [r.to_json() for r in self.references],
                "series": [s.to_json() for s in self.series], "title": self.title.to_json(),
                "unit": self.unit}


@dataclass(frozen=True, slots=True)
class Table:
    id: str
    title: Bi
    columns: tuple[Column, ...]
    rows: tuple[tuple[Value, ...], ...]
    notes: tuple[Bi, ...] = ()
    chart: Chart | None = None

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"table {self.id}: a row has {len(row)} cells for "
                                 f"{len(self.columns)} columns")

    def row(self, key: str) -> tuple[Value, ...]:
        """The row whose first cell is ``key``."""
        for row in self.rows:
            if row and row[0] == key:
                return row
        raise KeyError(f"table {self.id} has no row {key!r}")

    def column(self, key: str) -> list[Value]:
        """Every row's value in column ``key``."""
        i = [c.key for c in self.columns].index(key)
        return [row[i] for row in self.rows]

    def to_json(self) -> dict[str, Any]:
        return {"chart": self.chart.to_json() if self.chart is not None else None,
                "columns": [c.to_json() for c in self.columns], "id": self.id,
                "notes": [n.to_json() for n in self.notes],
                "rows": [[json_value(v) for v in row] for row in self.rows],
                "title": self.title.to_json()}


@dataclass(frozen=True, slots=True)
class Section:
    """``available=False``: the section has no data source here; its notes say why."""

    id: str
    title: Bi
    tables: tuple[Table, ...] = ()
    notes: tuple[Bi, ...] = ()
    charts: tuple[Chart, ...] = ()
    available: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"available": self.available, "charts": [c.to_json() for c in self.charts],
                "id": self.id, "notes": [n.to_json() for n in self.notes],
                "tables": [t.to_json() for t in self.tables], "title": self.title.to_json()}


@dataclass(frozen=True, slots=True)
class Report:
    """One built report. ``period`` is ``"2026-11"`` or ``"2026-08..2026-10"``; ``as_of`` the
    instant the records are counted at; ``meta`` extra facts (months, policy, cases read)."""

    id: str
    title: Bi
    period: str
    scope: Bi
    as_of: datetime
    generated_at: datetime
    sections: tuple[Section, ...]
    notes: tuple[Bi, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)

    def tables(self) -> Iterator[Table]:
        for section in self.sections:
            yield from section.tables

    def charts(self) -> Iterator[Chart]:
        """Every chart: the sections' own, then the tables'."""
        for section in self.sections:
            yield from section.charts
            for t in section.tables:
                if t.chart is not None:
                    yield t.chart

    def table(self, table_id: str) -> Table:
        for t in self.tables():
            if t.id == table_id:
                return t
        raise KeyError(f"report {self.id} has no table {table_id!r}")

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(f"report {self.id} has no section {section_id!r}")

    def to_json(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "generated_at": self.generated_at.isoformat(),
                "meta": dict(self.meta), "notes": [n.to_json() for n in self.notes],
                "period": self.period, "report": self.id, "scope": self.scope.to_json(),
                "sections": [s.to_json() for s in self.sections], "title": self.title.to_json()}
