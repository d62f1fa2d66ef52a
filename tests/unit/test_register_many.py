"""Bulk registration (``register --many``) as a hospital moving its old complaints in: JSON
lines or Excel's CSV, a bad line reported by number and skipped while the rest are stored,
idempotency keys so that running the file again stores nothing twice, historical times
accepted and future ones refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hospital_complaints.testing import make_app, run_cli


def line(i: int, **extra: Any) -> dict[str, Any]:
    return {"channel": "front_desk", "received_at": f"2025-03-{1 + i % 28:02d}T09:00:00+08:00",
            "complainant": {"role": "patient", "name": "王五", "phone": f"1380000{i:04d}",
                            "consent_to_contact": True},
            "subject": "报告出得慢", "description": f"历史投诉 {i}",
            "idempotency_key": f"old-{i}", **extra}


def test_jsonl_good_lines_are_stored_bad_ones_named_and_a_rerun_adds_nothing(
        tmp_path: Path) -> None:
    app = make_app(sql=tmp_path)
    rows = [json.dumps(line(i), ensure_ascii=False) for i in range(30)]
    rows.insert(5, "{not json")
    rows.insert(9, json.dumps(line(99, received_at="2035-01-01T09:00:00+08:00")))
    rows.insert(12, json.dumps({**line(98), "channel": "carrier pigeon"}, ensure_ascii=False))
    path = tmp_path / "old.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    first = run_cli(app, "register", "--many", str(path))
    assert first.exit_code == 1
    assert "registered 30, already registered 0 (idempotency keys), refused 3" in first.stdout
    err = first.stderr
    assert "line 6:" in err and "one JSON object per line" in err
    assert "line 10:" in err and "must not be in the future" in err
    assert "line 13:" in err and "channel" in err and "carrier pigeon" in err
    assert "1380000" not in err  # a refused line's personal data is not echoed
    assert len(app.complaints.list_cases()) == 30
    again = run_cli(app, "register", "--many", str(path), "--format", "json")
    result = json.loads(again.stdout)
    assert result["registered"] == [] and len(result["existing"]) == 30
    assert len(app.complaints.list_cases()) == 30
    case = app.complaints.get(result["existing"][0]["reference"])
    assert case.complaint.received_at.year == 2025  # a historical time is kept


def test_csv_from_excel_with_dotted_columns_and_several_values(tmp_path: Path) -> None:
    app = make_app(sql=tmp_path)
    text = ("idempotency_key,channel,received_at,complainant.role,complainant.name,"
            "complainant.phone,complainant.consent_to_contact,subject,description,categories,"
            "accession_numbers\n"
            "k1,front_desk,2025-06-01T10:00:00+08:00,relative,陈建国,13912345678,是,"
            "CT 等待太久,等了两个小时,process_management;communication,CT001;CT002\n"
            "k2,hotline,2025-06-02T10:00:00+08:00,patient,李四,13800001111,maybe,x,y,,\n")
    for encoding, name in (("utf-8-sig", "excel.csv"), ("gb18030", "gbk.csv")):
        (tmp_path / name).write_bytes(text.encode(encoding))
    done = run_cli(app, "register", "--many", str(tmp_path / "excel.csv"))
    assert done.exit_code == 1, done.output
    assert "registered 1" in done.stdout and "refused 1" in done.stdout
    assert "line 3:" in done.stderr and "true or false" in done.stderr
    [summary] = app.complaints.list_cases()
    case = app.complaints.get(summary.reference)
    assert case.complaint.complainant.consent_to_contact is True
    assert [c.value for c in case.complaint.categories] == ["process_management",
                                                            "communication"]
    assert [x.accession_number for x in case.complaint.exam_links] == ["CT001", "CT002"]
    gbk = run_cli(app, "register", "--many", str(tmp_path / "gbk.csv"), "--format", "json")
    assert json.loads(gbk.stdout)["existing"][0]["reference"] == summary.reference


def test_a_key_twice_in_one_file_is_refused_on_its_second_line(tmp_path: Path) -> None:
    app = make_app(sql=tmp_path)
    path = tmp_path / "dup.jsonl"
    path.write_text("\n".join(json.dumps(line(i % 2)) for i in range(4)), encoding="utf-8")
    done = run_cli(app, "register", "--many", str(path))
    assert "registered 2" in done.stdout and "refused 2" in done.stdout
    assert "line 1 has it" in done.stderr
