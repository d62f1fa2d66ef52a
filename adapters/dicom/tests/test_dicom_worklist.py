"""The modality worklist SCU against real worklist SCPs: DCMTK's ``wlmscpfs`` and Orthanc's
worklist plugin, both serving ``.wl`` files written by pydicom."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import support
from hospital_complaints.testing import run_cli
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from hc_dicom import worklist
from hc_dicom.errors import DicomError

TZ = ZoneInfo("Asia/Shanghai")


def write_item(folder: Path, accession: str, *, start_date: str = "20261022",
               start_time: str = "093000", station: str = "CT2_AE", modality: str = "CT",
               tz_offset: str | None = None) -> None:
    """One worklist item as a ``.wl`` file."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.31"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.AccessionNumber = accession
    ds.PatientName = "Zhang^San=张^三"
    ds.PatientID = "P0099"
    ds.StudyInstanceUID = generate_uid()
    ds.RequestedProcedureID = "RP-" + accession
    ds.RequestedProcedureDescription = "CT chest 胸部"
    if tz_offset:
        ds.TimezoneOffsetFromUTC = tz_offset
    step = Dataset()
    step.ScheduledStationAETitle = station
    step.ScheduledStationName = "CT-2"
    step.Modality = modality
    step.ScheduledProcedureStepStartDate = start_date
    step.ScheduledProcedureStepStartTime = start_time
    step.ScheduledProcedureStepDescription = "chest"
    step.ScheduledProcedureStepID = "SPS-" + accession
    ds.ScheduledProcedureStepSequence = [step]
    ds.save_as(folder / f"{accession}.wl", enforce_file_format=True)


@pytest.fixture
def wlmscpfs(tmp_path: Path, unused_port: int) -> Any:
    """DCMTK's worklist SCP on a free port, AE title WLM, serving tmp_path/WLM."""
    exe = shutil.which("wlmscpfs")
    if exe is None:
        support.require_peer("dcmtk", "install the Debian package dcmtk (wlmscpfs)")
    folder = tmp_path / "WLM"  # wlmscpfs: the folder is named after the called AE title
    folder.mkdir()
    (folder / "lockfile").write_bytes(b"")  # without it every query is refused
    port = unused_port
    process = subprocess.Popen([str(exe), "-dfp", str(tmp_path), str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    yield folder, port
    process.terminate()
    process.wait(10)


def _items(port: int, called: str, **kwargs: Any) -> list[worklist.WorklistItem]:
    return list(worklist.query("127.0.0.1", port, called_ae=called, calling_ae="HCOMPLAINTS",
                               zone=TZ, **kwargs))


@pytest.mark.peer("dcmtk")
def test_wlmscpfs_items_become_scheduled_exams(tmp_path: Path, wlmscpfs: Any,
                                               app_for: Any) -> None:
    folder, port = wlmscpfs
    write_item(folder, "WL-1", start_time="093000")
    write_item(folder, "WL-2", start_time="100000", station="MR1_AE", modality="MR")
    write_item(folder, "WL-3", start_date="20261023")
    items = _items(port, "WLM", day_from=date(2026, 10, 22), day_to=date(2026, 10, 22))
    assert sorted(i.accession or "" for i in items) == ["WL-1", "WL-2"]
    one = next(i for i in items if i.accession == "WL-1")
    assert one.scheduled_start == datetime(2026, 10, 22, 9, 30, tzinfo=TZ)
    assert (one.station_ae, one.modality, one.requested_procedure) == ("CT2_AE", "CT",
                                                                       "CT chest 胸部")
    only_mr = _items(port, "WLM", day_from=date(2026, 10, 22), day_to=date(2026, 10, 22),
                     modality="MR")
    assert [i.accession for i in only_mr] == ["WL-2"]
    app = app_for(tmp_path / "db", worklist=f"127.0.0.1:{port}", worklist_ae="WLM")
    result = run_cli(app, "dicom", "worklist", "query", "--from", "2026-10-22", "--store")
    assert result.exit_code == 0, result.output
    assert "P0099" not in result.stdout  # patient ids masked
    assert "2 scheduled events stored" in result.output
    exam = app.imaging.exam("WL-1")
    assert exam.scheduled_at == datetime(2026, 10, 22, 9, 30, tzinfo=TZ)
    assert (exam.station, exam.modality) == ("CT2_AE", "CT")


@pytest.mark.peer("orthanc")
def test_orthancs_worklist_plugin_is_read_the_same_way(orthanc: Any) -> None:
    write_item(orthanc.worklists, "OW-1", start_time="081500", tz_offset="+0000")
    items = _items(orthanc.dicom_port, "ORTHANC", day_from=date(2026, 10, 22),
                   day_to=date(2026, 10, 22))
    found = [i for i in items if i.accession == "OW-1"]
    assert len(found) == 1
    assert found[0].scheduled_start == datetime(2026, 10, 22, 16, 15, tzinfo=TZ)
    assert found[0].to_event() is not None


def test_a_worklist_that_refuses_us_is_a_clear_error(unused_port: int) -> None:
    with pytest.raises(DicomError) as info:
        _items(unused_port, "NOBODY", day_from=date(2026, 10, 22), day_to=date(2026, 10, 22),
               timeout=2)
    assert "HC_DICOM_WORKLIST_AE" in info.value.en and info.value.zh
