"""The formats: self-contained HTML with escaped text, CSV as Excel reads it, XLSX re-read
with openpyxl, JSON with every number; none carries identity; nothing is half-written."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from hospital_complaints import InvalidInput
from hospital_complaints.reports.render import write_report
from hospital_complaints.reports.render.html import report_html

#: every personal value the demo registers
PERSONAL = ("陈建国", "13912345678", "陈秀英", "P0012345", "黄伟", "海淀区某小区", "13700002222",
            "王海涛", "wb@example.org")


@pytest.fixture(scope="module")
def written(demo_app, demo_report, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("out")
    return {fmt: demo_app.reports.write(demo_report, fmt, folder / f"report.{fmt}")
            for fmt in ("html", "csv", "xlsx", "json")}


def _all_text(path: Path) -> str:
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return path.read_text(encoding="utf-8-sig")


def test_no_format_carries_identity(written):
    for fmt, path in written.items():
        text = _all_text(path)
        for value in PERSONAL:
            assert value not in text, (fmt, value)


def test_html_is_self_contained_and_printable(written):
    page = written["html"].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and 'lang="zh-CN"' in page
    assert "default-src 'none'" in page  # the page may fetch nothing
    assert "@media print" in page and "@page" in page
    for banned in ("<script", "<link", "@import", "url(", "src=", "href=\"http"):
        assert banned not in page, banned
    urls = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}  # the SVG namespace, never fetched
    assert page.count("<svg") >= 20 and 'data-chart="deadlines_trend"' in page
    assert "投诉管理月报" in page and "三率" in page


def test_outside_text_is_escaped_in_html(mem_app, rclock, scenario):
    from hospital_complaints.domain.commands import Acknowledge, RecordFinding, StartInvestigation
    from hospital_complaints.domain.complaint import TeamMember

    rclock.set(datetime(2026, 10, 5, 9, tzinfo=scenario.TZ))
    ref = mem_app.complaints.register({
        "channel": "letter", "received_at": "2026-10-05T08:00:00+08:00",
        "complainant": {"role": "anonymous"}, "subject": "s", "description": "d",
        "department": "<img src=x onerror=alert(1)>"}, actor="t").reference
    svc = mem_app.complaints
    svc.execute(ref, Acknowledge(method="phone", message="ok"), actor="t")
    svc.execute(ref, StartInvestigation(team=[TeamMember(name="a", role="qc")]), actor="t")
    svc.execute(ref, RecordFinding(text="f", root_causes=['<b>流程</b> & "x"</td>']), actor="t")
    from hospital_complaints.domain.commands import Withdraw

    svc.execute(ref, Withdraw(reason="r"), actor="t")
    page = report_html(mem_app.reports.monthly("2026-10"))
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>流程</b>" not in page and "&lt;b&gt;流程&lt;/b&gt; &amp; &quot;x&quot;" in page


def test_json_carries_the_numbers_of_every_table(written, demo_report):
    data = json.loads(written["json"].read_text(encoding="utf-8"))
    tables = {t["id"]: t for s in data["sections"] for t in s["tables"]}
    for table in demo_report.tables():
        assert tables[table.id]["columns"][0]["key"] == table.columns[0].key
        assert len(tables[table.id]["rows"]) == len(table.rows)
    flow = tables["flow"]
    assert flow["rows"][0][:2] == ["新受理 new", 7]
    assert data["period"] == "2026-11" and data["as_of"].startswith("2026-12-01T00:00")


def test_csv_reads_in_excel_as_chinese(written):
    raw = written["csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM a zh-CN Excel needs for UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][0] == "投诉管理月报 Monthly complaints report"
    flow = rows.index(["[flow]", "案件流转", "Case flow"])
    assert rows[flow + 1][:3] == ["项目 item", "本月 this month", "上月 previous month"]
    assert rows[flow + 2][:2] == ["新受理 new", "7"]
    deadlines = rows.index(["[deadlines]", "时限", "Deadlines"])
    assert re.fullmatch(r"\d+\.\d%", rows[deadlines + 2][1])  # shares as Excel percentages


def test_xlsx_opens_cleanly_with_dates_numbers_and_charts(written, demo_report):
    wb = load_workbook(written["xlsx"])
    assert wb.sheetnames[0] == "report"
    assert set(wb.sheetnames[1:]) == {t.id for t in demo_report.tables()}
    cover = wb["report"]
    assert cover["A1"].value == "投诉管理月报 Monthly complaints report"
    assert isinstance(cover["B5"].value, datetime)  # as of: an Excel date, not text
    overdue = wb["overdue"]
    assert overdue["A1"].value.startswith("超期清单")
    due = overdue.cell(row=4, column=4)
    assert isinstance(due.value, datetime) and due.number_format == "yyyy-mm-dd hh:mm"
    deadlines = wb["deadlines"]
    share = deadlines.cell(row=4, column=2)
    assert isinstance(share.value, float) and share.number_format == "0.0%"
    assert deadlines._charts, "native Excel chart"
    flow = wb["flow"]
    assert [flow.cell(row=4, column=c).value for c in (1, 2)] == ["新受理 new", 7]


def test_a_failed_write_leaves_nothing(demo_report, tmp_path):
    with pytest.raises(InvalidInput) as err:
        write_report(demo_report, "docx", tmp_path / "r.docx")
    assert "html, pdf, xlsx, csv, json" in str(err.value)
    with pytest.raises(InvalidInput) as err:
        write_report(demo_report, "html", tmp_path / "missing" / "r.html")
    assert "OUT" in str(err.value)

    def boom(*_args: object) -> None:
        raise RuntimeError("disk full")

    import hospital_complaints.reports.render.jsonout as jsonout

    original = jsonout.report_json
    jsonout.report_json = boom  # type: ignore[assignment]
    try:
        with pytest.raises(RuntimeError):
            write_report(demo_report, "json", tmp_path / "r.json")
    finally:
        jsonout.report_json = original
    assert list(tmp_path.iterdir()) == []
