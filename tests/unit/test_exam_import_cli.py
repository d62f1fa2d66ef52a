"""``hospital-complaints exams import ...`` as a user runs it: ``--quiet`` is quiet (only the
rejected rows, on standard error; the summary line only with ``--summary``), old files with
``device`` still import, and the output says ``station``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hospital_complaints.cli.main import cli, start
from hospital_complaints.correlation.evidence import EvidencePack
from hospital_complaints.correlation.summary import FaultRow

ENV_CLEAR = ("HC_DATABASE_URL", "HC_ENCRYPTION_KEYS", "HC_ENCRYPTION_KEY_FILE",
             "HC_TIMEZONE", "HC_DISABLE_PLUGINS", "HC_DEBUG")
EXAMS = ("accession_number,modality,station,arrived_at,started_at\n"
         "CT1,CT,CT2,2026-11-16T08:00:00+08:00,2026-11-16T08:20:00+08:00\n"
         "CT2,C7,CT2,2026-11-16T08:00:00+08:00,2026-11-16T08:20:00+08:00\n"
         "CT3,CT,CT2,2026-11-16T09:00:00+08:00,2026-11-16T08:50:00+08:00\n")
SUMMARY = "exams: read 3 rows, imported 2, rejected 1, flagged 1"


@pytest.fixture
def hc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for var in ENV_CLEAR:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HC_BLOB_DIR", str(tmp_path / "blobs"))
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'hc.db'}"

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", db, *args], obj=start())

    run("exams", "show", "nothing")  # creates the database and its key file first
    return run


def test_quiet_prints_only_the_rejected_rows(hc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "e.csv"
    f.write_text(EXAMS, encoding="utf-8")
    quiet = hc("exams", "import", "--quiet", str(f))
    assert quiet.exit_code == 0
    assert quiet.stdout == ""
    assert quiet.stderr.splitlines() == [
        "rejected 拒绝: line 3, column modality: 'C7': expected a DICOM modality code of 2-4 "
        "letters, e.g. CT, MR, DX, US (第 3 行 modality 列：检查类型应为 2-4 个字母的 DICOM "
        "代码，如 CT、MR、DX、US)"]
    asked = hc("exams", "import", "--quiet", "--summary", str(f))
    assert asked.stdout.splitlines() == [SUMMARY + " (读取 3 行，导入 2，拒绝 1，标记 1)"]
    loud = hc("exams", "import", str(f))
    assert "flagged 标记: line 4, exam CT3: out_of_order:arrived>started" in loud.stdout
    assert SUMMARY in loud.stdout
    assert SUMMARY not in hc("exams", "import", "--no-summary", str(f)).stdout
    good = tmp_path / "good.csv"
    good.write_text(EXAMS.splitlines()[0] + "\n" + EXAMS.splitlines()[1] + "\n",
                    encoding="utf-8")
    silent = hc("exams", "import", "--quiet", str(good))
    assert (silent.exit_code, silent.stdout, silent.stderr) == (0, "", "")


def test_old_device_files_import_and_the_output_says_station(hc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    exams = tmp_path / "e.csv"
    exams.write_text(EXAMS, encoding="utf-8")
    faults = tmp_path / "f.csv"  # the header of files written before the rename
    faults.write_text("fault_id,device,modality,reported_at,restored_at\n"
                      "F-1,CT2,CT,2026-11-16T07:50:00+08:00,2026-11-16T08:10:00+08:00\n",
                      encoding="gb18030")
    roster = tmp_path / "r.csv"
    roster.write_bytes(b"\xef\xbb\xbf" + (
        "staff,role,start,end,device\n"
        "技师 T07,technologist,2026-11-16T08:00:00+08:00,2026-11-16T12:00:00+08:00,CT2\n"
    ).encode())
    for cmd, path, imported in (("import", exams, 2), ("import-faults", faults, 1),
                                ("import-roster", roster, 1)):
        result = hc("exams", cmd, "--quiet", "--summary", str(path))
        assert result.exit_code == 0 and f"imported {imported}," in result.stdout, result.output
    summary = hc("correlate", "--summary", "--from", "2026-11-16", "--to", "2026-11-16",
                 "--format", "json")
    assert summary.exit_code == 0, summary.output
    (fault,) = json.loads(summary.stdout)["faults"]
    assert (fault["station"], fault["exams_on_station"]) == ("CT2", 1)
    assert "device" not in fault and "exams_on_device" not in fault
    text = hc("correlate", "--summary", "--from", "2026-11-16", "--to", "2026-11-16")
    assert "station/mod" in text.stdout


def test_packs_and_summaries_saved_with_the_old_names_still_read() -> None:
    old_row = {"fault_id": "F-1", "device": "CT2", "modality": "CT",
               "reported_at": "2026-11-16T07:50:00+08:00", "restored_at": None,
               "urgent": False, "response_min": None, "response_target_min": 120,
               "response_met": None, "downtime_min": None, "exams_on_device": 3,
               "exams_of_modality": 5, "complaints": 1}
    row = FaultRow.model_validate(old_row)
    assert (row.station, row.exams_on_station, row.device, row.exams_on_device) == (
        "CT2", 3, "CT2", 3)
    pack = {"complaint_ref": "HC-1", "accession_number": "A", "study_instance_uid": None,
            "modality": "CT", "station": "CT2", "room": None, "timeline": [], "flags": [],
            "metrics": [], "finding_zh": "-", "finding_en": "-",
            "faults": [{"fault_id": "F-1", "device": "CT2", "same_device": True,
                        "reported_at": "2026-11-16T07:50:00+08:00",
                        "responder_on_site_at": None, "restored_at": None, "urgent": False,
                        "cause": None, "action": None, "acceptance": None,
                        "response_min": None, "response_target_min": 30,
                        "response_met": None}],
            "staff": [{"staff": "T07", "role": "technologist",
                       "start": "2026-11-16T08:00:00+08:00",
                       "end": "2026-11-16T12:00:00+08:00", "device": "CT2"}]}
    loaded = EvidencePack.model_validate(pack)
    assert loaded.faults[0].station == "CT2" and loaded.faults[0].same_station
    assert loaded.staff[0].station == "CT2"
    again = json.loads(loaded.model_dump_json())
    assert again["faults"][0]["station"] == "CT2" and "device" not in again["faults"][0]
