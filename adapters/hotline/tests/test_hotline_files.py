"""File exchange for hospitals that download their orders: import the platform's exported list
(XLSX, or CSV as Excel saves it), again without duplicates, with unusable rows kept and named;
export the replies in the platform's layout, one row per ticket."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

from hospital_complaints.testing import make_app, run_cli
from openpyxl import Workbook, load_workbook

from hc_hotline import EXAMPLE, plugin
from hc_hotline.store import store_for

HEADER = ["序号", "工单编号", "受理时间", "来电人", "联系电话", "是否同意回访", "诉求类型", "标题",
          "诉求内容", "诉求人要求", "检查号", "办理时限", "时限等级"]


def row(n: int, ticket: Any, accepted: Any, kind: str = "投诉", **extra: Any) -> list[Any]:
    values = {"工单编号": ticket, "受理时间": accepted, "来电人": "刘芳", "联系电话": "13600001111",
              "是否同意回访": "是", "诉求类型": kind, "标题": "CT 等候时间过长",
              "诉求内容": f"第 {n} 号来电：CT 检查等了两个多小时。", "诉求人要求": "说明原因",
              "检查号": f"CT2026112000{n}", "办理时限": "2026-11-27 18:00:00", "时限等级": "2",
              **extra}
    return [n, *(values[h] for h in HEADER[1:])]


def xlsx(path: Path, rows: list[list[Any]]) -> Path:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "工单列表"
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    book.save(path)
    return path


def app_for(tmp_path: Path) -> Any:
    return make_app(plugin, sql=tmp_path)


def test_import_xlsx_again_without_duplicates(tmp_path: Path) -> None:
    app = app_for(tmp_path)
    rows = [row(1, 2026112000101, datetime(2026, 11, 20, 8, 30)),
            row(2, "QC-X-0002", "2026-11-20 08:40:00", kind="咨询"),
            row(3, "QC-X-0003", "2026/11/20", kind="投诉"),
            row(4, "QC-X-0004", "2026-11-20 08:50:00", kind="其他")]
    path = xlsx(tmp_path / "export.xlsx", rows)
    result = run_cli(app, "hotline", "import", str(path), "--mapping", str(EXAMPLE),
                     "--progress-every", "2")
    assert result.exit_code == 1, result.output  # two rows were unusable
    assert "4 rows: 2 new" in result.output and "2 kept as unusable" in result.output
    assert "row 4" in result.output and "row 5" in result.output
    assert "受理时间 (accepted_at): got '2026/11/20'" in result.output
    assert "诉求类型 (category): got '其他'" in result.output
    assert "13600001111" not in result.output
    assert "2 / 4 rows" in result.stderr and "4 / 4 rows" in result.stderr

    ref = store_for(app).ticket("qingchuan-12345", "2026112000101")
    assert ref is not None and ref.due == datetime.fromisoformat("2026-11-27T18:00:00+08:00")
    case = app.complaints.get(ref.reference)
    assert case.complaint.received_at.isoformat() == "2026-11-20T08:30:00+08:00"
    assert case.complaint.external_id == "2026112000101"

    again = run_cli(app, "hotline", "import", str(path), "--mapping", str(EXAMPLE))
    assert "0 new, 2 already registered" in again.output
    assert len(store_for(app).rejects()) == 2  # kept once, not again


def test_import_a_gb18030_csv_and_a_missing_column(tmp_path: Path) -> None:
    app = app_for(tmp_path)
    path = tmp_path / "export.csv"
    with path.open("w", encoding="gb18030", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerow(row(1, "QC-C-0001", "2026-11-20 08:30:00"))
    result = run_cli(app, "hotline", "import", str(path), "--mapping", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert "1 new" in result.output
    case = app.complaints.get(store_for(app).ticket("qingchuan-12345", "QC-C-0001").reference)
    assert case.complaint.subject == "CT 等候时间过长"

    broken = tmp_path / "broken.csv"
    broken.write_text("工单编号,诉求内容\nQC-1,x\n", encoding="utf-8")
    bad = run_cli(app, "hotline", "import", str(broken), "--mapping", str(EXAMPLE))
    assert bad.exit_code == 1
    assert "'受理时间' (accepted_at)" in bad.output and "file.columns.accepted_at" in bad.output
    assert "Traceback" not in bad.output


def test_export_replies_in_the_platforms_layout(tmp_path: Path) -> None:
    app = app_for(tmp_path)
    path = xlsx(tmp_path / "export.xlsx", [row(1, "QC-E-0001", "2026-11-20 08:30:00"),
                                           row(2, "QC-E-0002", "2026-11-20 08:40:00")])
    assert run_cli(app, "hotline", "import", str(path), "--mapping", str(EXAMPLE)).exit_code == 0
    a = store_for(app).ticket("qingchuan-12345", "QC-E-0001").reference
    b = store_for(app).ticket("qingchuan-12345", "QC-E-0002").reference
    app.workorders.merge(a, b, reason="重复来电", actor="clerk:wang")
    for name, fields in (("sign_work_order", {}), ("reply_work_order", {
            "method": "phone", "text": "=已致歉，并调整排班", "resolution": "partly_resolved",
            "outcome": {"kind": "resolved_by_explanation", "reason": "排班"}})):
        app.complaints.execute(a, (name, fields), actor="clerk:wang")

    out = tmp_path / "replies.xlsx"
    result = run_cli(app, "hotline", "export-replies", str(out), "--mapping", str(EXAMPLE),
                     "--from", "2026-11-20", "--to", "2026-11-20")
    assert result.exit_code == 0, result.output
    assert "2 reply row(s)" in result.output
    ws = load_workbook(out).active
    assert ws is not None
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0] == ["工单编号", "办结时间", "办理结果", "答复方式", "是否解决", "承办科室",
                       "院内编号"]
    assert [r[0] for r in rows[1:]] == ["QC-E-0001", "QC-E-0002"]
    assert rows[1][1] == "2026-11-20 09:00:00" and rows[1][3:5] == ["TEL", "2"]
    assert rows[1][2] == "=已致歉，并调整排班"  # the reply as written ...
    assert ws.cell(row=2, column=3).data_type == "s"  # ... and a text cell, never a formula
    assert rows[1][6] == a and rows[2][6] == a

    csv_out = tmp_path / "replies.csv"
    run_cli(app, "hotline", "export-replies", str(csv_out), "--mapping", str(EXAMPLE),
            "--from", "2026-11-19", "--to", "2026-11-20", "--encoding", "gb18030")
    lines = csv_out.read_text(encoding="gb18030").splitlines()
    assert lines[0].startswith("工单编号,办结时间") and len(lines) == 3
    assert ",'=已致歉，并调整排班," in lines[1]  # CSV is untyped: a formula character is guarded

    wrong = run_cli(app, "hotline", "export-replies", str(csv_out), "--mapping", str(EXAMPLE),
                    "--from", "2026-11-20", "--to", "2026-11-19")
    assert wrong.exit_code == 1 and "--to" in wrong.output
