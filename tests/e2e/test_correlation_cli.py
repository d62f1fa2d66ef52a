"""``hospital-complaints exams ...`` and ``correlate`` run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = Path(sys.executable).parent / "hospital-complaints"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "imaging"


def run(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"HC_DATABASE_URL", "HC_ENCRYPTION_KEYS", "HC_ENCRYPTION_KEY_FILE"}}
    return subprocess.run([str(EXE), "--db", f"sqlite:///{db}", *args], capture_output=True,
                          text=True, env=env, timeout=120, cwd=db.parent)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("imaging") / "hc.db"
    for cmd, name in (("import", "exams.csv"), ("import-faults", "faults.csv"),
                      ("import-roster", "roster.csv")):
        result = run("exams", cmd, str(EXAMPLES / name), db=path)
        assert result.returncode == 0, result.stderr
    complaint = path.parent / "c.json"
    complaint.write_text(json.dumps({
        "channel": "front_desk", "received_at": "2026-11-16T11:00:00+08:00",
        "complainant": {"role": "relative", "name": "陈建国"},
        "patient": {"patient_id": "P0012345"}, "subject": "CT 等待太久",
        "description": "等了两个小时",
        "exam_links": [{"accession_number": "CT20261116-0042"}]}), encoding="utf-8")
    assert run("register", str(complaint), db=path).stdout.strip() == "HC-20261116-0001"
    return path


def test_import_reports_rejected_rows_with_line_and_column(db):
    again = run("exams", "import", str(EXAMPLES / "exams.csv"), db=db)
    assert again.returncode == 0
    assert "read 15 rows, imported 14, rejected 1, flagged 1" in again.stdout
    assert "line 16, column scheduled_start" in again.stderr
    listing = run("exams", "show", "CT20261116-0047", "--format", "json", db=db)
    assert json.loads(listing.stdout)["flags"] == ["out_of_order:arrived>started"]


def test_correlate_one_complaint(db):
    result = run("correlate", "--complaint", "HC-20261116-0001", db=db)
    assert result.returncode == 0, result.stderr
    assert "CT2 was down 08:10–09:40 (fault F-17)" in result.stdout.replace("\n", "")
    pack = json.loads(run("correlate", "--complaint", "HC-20261116-0001", "--format", "json",
                          db=db).stdout)
    assert pack["metrics"][0]["minutes"] == 132
    assert "等待 132 分钟" in pack["finding_zh"]


def test_unknown_complaint_or_exam_exits_1(db):
    result = run("correlate", "--complaint", "HC-19990101-0001", db=db)
    assert result.returncode == 1 and "no complaint with reference" in result.stderr
    exam = run("correlate", "--complaint", "HC-20261116-0001", "--accession", "NOPE", db=db)
    assert exam.returncode == 1 and "no imaging record for exam NOPE" in exam.stderr


def test_accept_needs_an_investigation_then_records_evidence(db):
    refused = run("correlate", "--complaint", "HC-20261116-0001", "--accept", db=db)
    assert refused.returncode == 1 and "add_evidence" in refused.stderr
    for cmd, data in (("acknowledge", '{"method": "phone", "message": "ok"}'),
                      ("start_investigation", '{"team": [{"name": "Z", "role": "qc"}]}')):
        assert run("act", "HC-20261116-0001", cmd, "--data", data, db=db).returncode == 0
    accepted = run("correlate", "--complaint", "HC-20261116-0001", "--accept", db=db)
    assert accepted.returncode == 0, accepted.stderr
    assert "recorded 3 evidence items" in accepted.stdout


def test_summary_json(db):
    result = run("correlate", "--summary", "--from", "2026-11-01", "--to", "2026-11-30",
                 "--format", "json", db=db)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    ct = next(r for r in summary["rates"]["modality"] if r["key"] == "CT")
    assert ct["complaints"] == 1
    assert {f["fault_id"] for f in summary["faults"]} == {"F-17", "F-18"}
    bad = run("correlate", "--summary", "--from", "Nov 1", "--to", "2026-11-30", db=db)
    assert bad.returncode == 1 and "YYYY-MM-DD" in bad.stderr
