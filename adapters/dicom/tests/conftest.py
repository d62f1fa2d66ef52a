"""Real peers for the DICOM adapter's tests: Orthanc (with its DICOMweb and worklist plugins)
started on free loopback ports, DCMTK's ``wlmscpfs``, and DICOM objects written by pydicom.

Each peer is started by the test session that needs it and stopped at its end. A missing peer
is ``support.require_peer`` (a skip, or a failure in CI where ``HC_REQUIRE_PEERS=1``).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import support
from hospital_complaints.plugin_api import FixedClock
from hospital_complaints.testing import make_app
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

import hc_dicom.plugin as dicom_plugin

TZ = ZoneInfo("Asia/Shanghai")
#: the tests' "now": the day after the generated studies
NOW = datetime(2026, 10, 22, 9, 0, tzinfo=TZ)
ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
PLUGINS = Path("/usr/share/orthanc/plugins")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Orthanc:
    """A running Orthanc: its DICOMweb root, HTTP client, ports and worklist folder."""

    process: subprocess.Popen[bytes]
    http_port: int
    dicom_port: int
    folder: Path
    auth: tuple[str, str] | None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb(self) -> str:
        return f"{self.base}/dicom-web"

    @property
    def worklists(self) -> Path:
        return self.folder / "worklists"

    def upload(self, data: bytes) -> None:
        r = httpx.post(f"{self.base}/instances", content=data, auth=self.auth, timeout=30)
        r.raise_for_status()

    def clear(self) -> None:
        for pid in httpx.get(f"{self.base}/patients", auth=self.auth, timeout=30).json():
            httpx.delete(f"{self.base}/patients/{pid}", auth=self.auth, timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_orthanc(folder: Path, *, users: dict[str, str] | None = None) -> Orthanc:
    if not Path(ORTHANC).exists() or not (PLUGINS / "libOrthancDicomWeb.so").exists():
        support.require_peer("orthanc", "install Debian packages orthanc, orthanc-dicomweb")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "worklists").mkdir(exist_ok=True)
    http_port, dicom_port = free_port(), free_port()
    config = {
        "Name": "hc-test", "StorageDirectory": str(folder / "db"),
        "IndexDirectory": str(folder / "db"), "Plugins": [str(PLUGINS)],
        "HttpPort": http_port, "DicomPort": dicom_port, "RemoteAccessAllowed": False,
        "AuthenticationEnabled": bool(users), "RegisteredUsers": users or {},
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}, "DefaultEncoding": "Utf8",
        "Worklists": {"Enable": True, "Database": str(folder / "worklists")},
        "DicomAlwaysAllowFindWorklist": True, "DicomAet": "ORTHANC",
        "StableAge": 1, "HttpTimeout": 30,
    }
    (folder / "orthanc.json").write_text(json.dumps(config), encoding="utf-8")
    log = (folder / "orthanc.out").open("wb")
    process = subprocess.Popen([ORTHANC, f"--logdir={folder}", str(folder / "orthanc.json")],
                               stdout=log, stderr=subprocess.STDOUT)
    auth = next(iter(users.items())) if users else None
    server = Orthanc(process, http_port, dicom_port, folder, auth)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Orthanc exited: see {folder / 'orthanc.out'}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.base}/system", auth=auth, timeout=2).status_code == 200:
                return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError("Orthanc did not answer within 20 s")


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    """Orthanc without authentication (one per test session; tests upload their own
    accession numbers)."""
    server = start_orthanc(tmp_path_factory.mktemp("orthanc"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def orthanc_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    """Orthanc with HTTP basic authentication (user ``radiology``)."""
    server = start_orthanc(tmp_path_factory.mktemp("orthanc-auth"),
                           users={"radiology": "s3cret-pw"})
    yield server
    server.stop()


def ct_image(accession: str, *, study_date: str = "20261021", study_time: str = "083000",
             station: str = "CT2", modality: str = "CT", series_date: str | None = None,
             series_time: str | None = None, pps_date: str | None = None,
             pps_time: str | None = None, study_uid: str | None = None,
             series_uid: str | None = None, patient_id: str = "P0099",
             patient_name: str = "Zhang^San", tz_offset: str | None = None,
             extra: dict[str, Any] | None = None) -> bytes:
    """A small DICOM image (Part 10 bytes) as a modality writes it."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.PatientID = patient_id
    ds.PatientName = patient_name
    ds.AccessionNumber = accession
    ds.StudyDate = study_date
    ds.StudyTime = study_time
    ds.Modality = modality
    ds.StationName = station
    if series_date:
        ds.SeriesDate = series_date
        ds.SeriesTime = series_time or ""
    if pps_date:
        ds.PerformedProcedureStepStartDate = pps_date
        ds.PerformedProcedureStepStartTime = pps_time or ""
    if tz_offset:
        ds.TimezoneOffsetFromUTC = tz_offset
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Rows = ds.Columns = 2
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelRepresentation = 0
    ds.PixelData = b"\x00\x01\x02\x03"
    for key, value in (extra or {}).items():
        setattr(ds, key, value)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


@pytest.fixture
def image() -> Any:
    """``image(accession, **attributes)``: a DICOM image as bytes (see ``ct_image``)."""
    return ct_image


def dicom_app(tmp_path: Path, **settings: Any) -> Any:
    """An application on SQLite with this plugin and ``[plugins.dicom]`` ``settings``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    return make_app(dicom_plugin, sql=tmp_path, clock=FixedClock(NOW),
                    plugin_settings={"dicom": settings})


@pytest.fixture
def app_for() -> Any:
    """``app_for(tmp_path, **settings)``: see ``dicom_app``."""
    return dicom_app


MPPS_SOP_CLASS = "1.2.840.10008.3.1.2.3.3"


def mpps_create(accession: str | None, *, start_date: str = "20261021",
                start_time: str = "083000", study_uid: str | None = None,
                station_ae: str = "CT2_AE", modality: str = "CT",
                tz_offset: str | None = None, patient_id: str = "P0099",
                status: str = "IN PROGRESS", accessions: list[str] | None = None) -> Dataset:
    """An N-CREATE attribute list as a modality sends it."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Zhang^San"
    ds.PatientID = patient_id
    items = []
    for acc in (accessions if accessions is not None else [accession]):
        item = Dataset()
        item.AccessionNumber = acc or ""
        item.StudyInstanceUID = study_uid or generate_uid()
        item.RequestedProcedureID = "RP1"
        item.RequestedProcedureDescription = "CT chest"
        item.ScheduledProcedureStepID = "SPS1"
        items.append(item)
    ds.ScheduledStepAttributesSequence = items
    ds.PerformedProcedureStepID = "PPS1"
    ds.PerformedStationAETitle = station_ae
    ds.PerformedStationName = "CT-2"
    ds.PerformedProcedureStepStartDate = start_date
    ds.PerformedProcedureStepStartTime = start_time
    ds.PerformedProcedureStepEndDate = ""
    ds.PerformedProcedureStepEndTime = ""
    ds.PerformedProcedureStepStatus = status
    ds.Modality = modality
    if tz_offset:
        ds.TimezoneOffsetFromUTC = tz_offset
    return ds


def mpps_set(status: str = "COMPLETED", *, end_date: str = "20261021",
             end_time: str = "084500", tz_offset: str | None = None) -> Dataset:
    """An N-SET modification list."""
    ds = Dataset()
    ds.PerformedProcedureStepStatus = status
    ds.PerformedProcedureStepEndDate = end_date
    ds.PerformedProcedureStepEndTime = end_time
    if tz_offset:
        ds.TimezoneOffsetFromUTC = tz_offset
    return ds


class MppsSender:
    """An independent MPPS sender (pynetdicom SCU in the test process): no DCMTK tool sends
    N-CREATE. ``create``/``set`` return the answer's status (``None``: no answer)."""

    def __init__(self, port: int, host: str = "127.0.0.1", calling: str = "CT2_AE") -> None:
        from pynetdicom import AE

        self.ae = AE(ae_title=calling)
        self.ae.add_requested_context(MPPS_SOP_CLASS)
        self.ae.acse_timeout = self.ae.dimse_timeout = self.ae.network_timeout = 10
        self.host, self.port = host, port
        self.assoc: Any = None

    def __enter__(self) -> MppsSender:
        self.assoc = self.ae.associate(self.host, self.port, ae_title="HCOMPLAINTS")
        if not self.assoc.is_established:
            raise RuntimeError("MPPS association refused")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.assoc is not None and self.assoc.is_established:
            self.assoc.release()

    def create(self, ds: Dataset, uid: str) -> Any:
        status, _ = self.assoc.send_n_create(ds, MPPS_SOP_CLASS, uid)
        return status

    def set(self, ds: Dataset, uid: str) -> Any:
        status, _ = self.assoc.send_n_set(ds, MPPS_SOP_CLASS, uid)
        return status


@pytest.fixture
def mpps() -> Any:
    """Builders and the sender: ``mpps.create(...)``, ``mpps.set(...)``, ``mpps.Sender``."""

    class Kit:
        create = staticmethod(mpps_create)
        set = staticmethod(mpps_set)
        Sender = MppsSender

    return Kit


@pytest.fixture
def unused_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    return free_port()
