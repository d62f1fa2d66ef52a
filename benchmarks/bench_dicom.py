"""PACS adapter benchmark: QIDO-RS sync from a real Orthanc, and MPPS SCP throughput.

    python benchmarks/bench_dicom.py                # 10,000 studies, 1,000 MPPS steps
    python benchmarks/bench_dicom.py --studies 2000 --steps 300

Side by side in one run:

1. **QIDO sync** of N studies (one series each, spread over 5 study dates) from Orthanc
   (started here, on free loopback ports; Debian ``orthanc`` + ``orthanc-dicomweb``) into the
   exam table of a new SQLite database (``QidoSync.run``: study and series pages, start-time
   decision and provenance, merge, one transaction per day), against the ceiling: a plain
   loop that fetches the same JSON pages with httpx and does nothing with them. Runs
   alternate (ceiling, sync, ceiling, sync) and each keeps its best.
2. **MPPS SCP** with durable commits: ``hospital-complaints dicom mpps listen`` as its own
   process on a new SQLite database, and a pynetdicom sender here sending, over one
   association, an N-CREATE (IN PROGRESS) and an N-SET (COMPLETED) per step for known exams:
   messages per second and the answer latency percentiles. Every answer is success only
   after the commit.

Figures vary with the machine's load (printed at the start and the end): compare within a
run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import hc_dicom.plugin as dicom_plugin
import httpx
from hc_dicom.qido import build_query
from hc_dicom.studies import SERIES_FIELDS, STUDY_FIELDS
from hc_dicom.sync import QidoSync
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from hospital_complaints.plugin_api import ExamEvent, ExamEventType, FixedClock
from hospital_complaints.testing import make_app

TZ = ZoneInfo("Asia/Shanghai")
DAYS = [date(2026, 10, d) for d in range(16, 21)]
MPPS = "1.2.840.10008.3.1.2.3.3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def image(i: int) -> bytes:
    day = DAYS[i % len(DAYS)].strftime("%Y%m%d")
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID, ds.PatientName = f"P{i % 3000:05d}", "Bench^Patient"
    ds.AccessionNumber = f"B{i:06d}"
    ds.StudyDate, ds.StudyTime = day, f"{8 + (i % 10):02d}{i % 60:02d}00"
    ds.SeriesDate, ds.SeriesTime = day, f"{8 + (i % 10):02d}{i % 60:02d}30"
    ds.PerformedProcedureStepStartDate = day
    ds.PerformedProcedureStepStartTime = f"{8 + (i % 10):02d}{i % 60:02d}10"
    ds.Modality, ds.StationName = ("CT", "MR", "DX")[i % 3], f"ST{i % 7}"
    ds.SeriesNumber = ds.InstanceNumber = 1
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def start_orthanc(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    exe = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
    folder.mkdir(parents=True, exist_ok=True)
    port, dicom = free_port(), free_port()
    config = {"Name": "bench", "StorageDirectory": str(folder / "db"),
              "IndexDirectory": str(folder / "db"),
              "Plugins": ["/usr/share/orthanc/plugins/"], "HttpPort": port,
              "DicomPort": dicom, "RemoteAccessAllowed": False,
              "AuthenticationEnabled": False, "DefaultEncoding": "Utf8",
              "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}}
    (folder / "orthanc.json").write_text(json.dumps(config))
    process = subprocess.Popen([exe, f"--logdir={folder}", str(folder / "orthanc.json")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/system", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit("Orthanc did not start (apt-get install orthanc orthanc-dicomweb)")


def upload(base: str, n: int) -> float:
    started = time.perf_counter()

    def send(chunk: range) -> None:
        with httpx.Client(timeout=60) as client:
            for i in chunk:
                client.post(f"{base}/instances", content=image(i)).raise_for_status()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(send, [range(0, n, 2), range(1, n, 2)]))
    return time.perf_counter() - started


def ceiling(dicomweb: str, page: int) -> tuple[float, int, int]:
    """The same pages as the sync, fetched with a plain httpx client, nothing done with
    them."""
    started = time.perf_counter()
    sent = results = 0
    with httpx.Client(headers={"Accept": "application/dicom+json"}) as session:
        for day in DAYS:
            when = day.strftime("%Y%m%d")
            for path, fields in (("studies", STUDY_FIELDS), ("series", SERIES_FIELDS)):
                offset = 0
                while True:
                    query = build_query({"StudyDate": when}, fields, limit=page, offset=offset)
                    rows = session.get(f"{dicomweb}/{path}?{query}", timeout=60).json()
                    sent += 1
                    results += len(rows)
                    if len(rows) < page:
                        break
                    offset += len(rows)
    return time.perf_counter() - started, sent, results


def sync_once(dicomweb: str, page: int, folder: Path) -> tuple[float, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    app = make_app(dicom_plugin, sql=folder, clock=FixedClock(datetime(2026, 10, 21, 9,
                                                                       tzinfo=TZ)),
                   plugin_settings={"dicom": {"dicomweb_url": dicomweb,
                                              "dicomweb_page_size": page}})
    app.store  # noqa: B018 - open and migrate before the clock starts
    sync = QidoSync(app)
    started = time.perf_counter()
    report = sync.run(DAYS[0], DAYS[-1])
    elapsed = time.perf_counter() - started
    sync.close()
    app.close()
    return elapsed, report


def bench_qido(n: int, page: int, work: Path) -> None:
    process, base = start_orthanc(work / "orthanc")
    try:
        took = upload(base, n)
        print(f"uploaded {n} studies to Orthanc in {took:.1f} s (setup, not measured)")
        dicomweb = f"{base}/dicom-web"
        best_ceiling = best_sync = float("inf")
        report = None
        for run in range(2):
            c, sent, results = ceiling(dicomweb, page)
            s, report = sync_once(dicomweb, page, work / f"sync{run}")
            print(f"  run {run + 1}: ceiling (plain httpx, pages only) {c:.2f} s "
                  f"({sent} requests, {results} results); sync {s:.2f} s")
            best_ceiling, best_sync = min(best_ceiling, c), min(best_sync, s)
        assert report is not None
        print(f"QIDO sync of {report.studies} studies / {report.series} series, page size "
              f"{page}: best {best_sync:.2f} s = {report.studies / best_sync:,.0f} studies/s; "
              f"ceiling best {best_ceiling:.2f} s = {n / best_ceiling:,.0f} studies/s; "
              f"sync / ceiling = {best_sync / best_ceiling:.2f}x")
        print(f"  {report.render()}")
    finally:
        process.terminate()
        process.wait(15)


def bench_mpps(steps: int, work: Path, nodelay: bool = True) -> None:
    folder = work / ("mpps" if nodelay else "mpps-nagle")
    folder.mkdir(parents=True, exist_ok=True)
    app = make_app(dicom_plugin, sql=folder)
    app.imaging.ingest([ExamEvent(accession_number=f"M{i:06d}", event=ExamEventType.SCHEDULED,
                                  source="ris", occurred_at=datetime(2026, 10, 21, 8,
                                                                     tzinfo=TZ))
                        for i in range(steps)])
    secret = app.settings.database.encryption_keys
    key = secret.get_secret_value() if hasattr(secret, "get_secret_value") else str(secret)
    url = app.settings.database.url
    app.close()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HC_")}
    env.update(HC_DATABASE_URL=url, HC_ENCRYPTION_KEYS=key)
    cli = shutil.which("hospital-complaints", path=str(Path(sys.executable).parent))
    assert cli
    scp = subprocess.Popen([cli, "dicom", "mpps", "listen", "--port", str(port)], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert scp.stderr is not None
    sel = selectors.DefaultSelector()
    sel.register(scp.stderr, selectors.EVENT_READ)
    seen = b""
    while b"listening for MPPS" not in seen:
        if scp.poll() is not None:
            raise SystemExit(seen.decode(errors="replace"))
        if sel.select(0.5):
            seen += os.read(scp.stderr.fileno(), 4096)
    drain = threading.Thread(target=lambda: [None for _ in iter(
        lambda: os.read(scp.stderr.fileno(), 65536), b"")], daemon=True)  # type: ignore[union-attr]
    drain.start()
    from pynetdicom import AE

    ae = AE(ae_title="CT2_AE")
    ae.add_requested_context(MPPS)
    latencies: list[float] = []
    ok = 0
    try:
        assoc = ae.associate("127.0.0.1", port, ae_title="HCOMPLAINTS")
        assert assoc.is_established
        if nodelay:  # as DCMTK-based modalities do; pynetdicom's SCU does not by default
            assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        started = time.perf_counter()
        for i in range(steps):
            uid = generate_uid()
            create = Dataset()
            item = Dataset()
            item.AccessionNumber, item.StudyInstanceUID = f"M{i:06d}", generate_uid()
            create.ScheduledStepAttributesSequence = [item]
            create.PatientID = f"P{i:05d}"
            create.PerformedProcedureStepStartDate = "20261021"
            create.PerformedProcedureStepStartTime = "083000"
            create.PerformedProcedureStepStatus = "IN PROGRESS"
            create.Modality = "CT"
            done = Dataset()
            done.PerformedProcedureStepStatus = "COMPLETED"
            done.PerformedProcedureStepEndDate = "20261021"
            done.PerformedProcedureStepEndTime = "084500"
            for operation, ds in (("create", create), ("set", done)):
                t0 = time.perf_counter()
                if operation == "create":
                    status, _ = assoc.send_n_create(ds, MPPS, uid)
                else:
                    status, _ = assoc.send_n_set(ds, MPPS, uid)
                latencies.append(time.perf_counter() - t0)
                ok += int(bool(status) and status.Status == 0)
        elapsed = time.perf_counter() - started
        assoc.release()
    finally:
        scp.send_signal(signal.SIGTERM)
        scp.wait(30)
    q = statistics.quantiles(latencies, n=100)
    sender = "TCP_NODELAY" if nodelay else "Nagle (pynetdicom default)"
    print(f"MPPS SCP, durable commits (SQLite, WAL), sender {sender}: {len(latencies)} messages "
          f"({ok} answered success) in {elapsed:.2f} s = {len(latencies) / elapsed:,.0f} "
          f"msgs/s; answer latency p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", type=int, default=10_000)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=1_000)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="bench-dicom-") as tmp:
        work = Path(tmp)
        bench_qido(args.studies, args.page, work)
        bench_mpps(args.steps, work)
        bench_mpps(max(args.steps // 10, 20), work, nodelay=False)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
