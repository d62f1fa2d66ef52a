"""``hospital-complaints dicom ...``: sync from DICOMweb, search it, query the worklist, receive
MPPS, show where an exam's times came from, share de-identified images."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import threading
from datetime import date
from pathlib import Path
from typing import Any

import click
from hospital_complaints.plugin_api import FieldProblem, InvalidInput, cli_app, mask_value

from .settings import settings_of


def _app() -> Any:
    return cli_app(click.get_current_context())


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("dicom", [FieldProblem(option, value, "a date YYYY-MM-DD")],
                           [f"  - {option}：日期格式须为 YYYY-MM-DD"]) from None


def _actor(app: Any, given: str | None) -> str:
    actor = given or app.settings.actor
    if not actor:
        raise InvalidInput("dicom", [FieldProblem("--actor", "", "who does this (or HC_ACTOR)")],
                           ["  - --actor：请填写操作人（或设置 HC_ACTOR）"])
    return str(actor)


def _quiet_libraries() -> None:
    for noisy in ("alembic", "sqlalchemy", "pynetdicom", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@click.group("dicom")
def dicom_group() -> None:
    """PACS: DICOMweb sync and search, modality worklist, MPPS, viewer links, sharing."""


@dicom_group.command("sync")
@click.option("--since", help="First study date to read (YYYY-MM-DD); default: the last "
              "sync's day minus HC_DICOMWEB_LOOKBACK_DAYS.")
@click.option("--until", help="Last study date to read (YYYY-MM-DD); default: today.")
def sync_cmd(since: str | None, until: str | None) -> None:
    """Read studies and series from the DICOMweb server (HC_DICOMWEB_URL) into the exam
    table, day by day; each day is committed as it is read."""
    from .sync import QidoSync

    _quiet_libraries()
    sync = QidoSync(_app())
    try:
        report = sync.run(_day(since, "--since"), _day(until, "--until"))
    finally:
        sync.close()
    click.echo(report.render())


@dicom_group.command("find")
@click.option("--level", type=click.Choice(["studies", "series"]), default="studies",
              show_default=True)
@click.option("--accession", help="AccessionNumber; * and ? are wildcards.")
@click.option("--date", "day", help="StudyDate: YYYYMMDD or YYYYMMDD-YYYYMMDD.")
@click.option("--modality", help="ModalitiesInStudy (studies) or Modality (series).")
@click.option("--station", help="StationName (series level only); ? for a space: CT?3.")
@click.option("--study-uid", help="StudyInstanceUID.")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@click.option("--reveal-identity", is_flag=True, help="Show patient ids unmasked.")
def find_cmd(level: str, accession: str | None, day: str | None, modality: str | None,
             station: str | None, study_uid: str | None, limit: int,
             reveal_identity: bool) -> None:
    """Search the DICOMweb server (QIDO-RS) and print one JSON object per result."""
    from pydicom import Dataset

    from .qido import QidoClient

    filters: list[tuple[str, str]] = []
    for key, value in (("AccessionNumber", accession), ("StudyDate", day),
                       ("StudyInstanceUID", study_uid)):
        if value:
            filters.append((key, value))
    if modality:
        filters.append(("ModalitiesInStudy" if level == "studies" else "Modality", modality))
    if station:
        if level != "series":
            raise InvalidInput("dicom find", [FieldProblem(
                "--station", station, "--level series (StationName is a series attribute; at "
                "study level a server answers [] in silence)")],
                ["  - --station 仅用于 --level series（StationName 是序列级属性）"])
        filters.append(("StationName", station))
    fields = ["StationName", "SeriesDate", "SeriesTime", "PerformedProcedureStepStartDate",
              "PerformedProcedureStepStartTime"] if level == "series" else ["ModalitiesInStudy"]
    keywords = ("AccessionNumber", "StudyInstanceUID", "StudyDate", "StudyTime",
                "ModalitiesInStudy", "SeriesInstanceUID", "Modality", "StationName",
                "SeriesDate", "SeriesTime", "PerformedProcedureStepStartDate",
                "PerformedProcedureStepStartTime", "PatientID")
    with QidoClient.from_settings(settings_of(_app())) as client:
        for shown, obj in enumerate(
                client.search(level, filters, fields, page_size=min(limit, 500)), 1):
            ds = Dataset.from_json(obj)
            row: dict[str, Any] = {}
            for keyword in keywords:
                if keyword in ds and ds[keyword].value not in (None, ""):
                    value = ds[keyword].value
                    row[keyword] = ([str(v) for v in value] if keyword == "ModalitiesInStudy"
                                    and not isinstance(value, str) else str(value))
            if "PatientID" in row and not reveal_identity:
                row["PatientID"] = mask_value("id_number", row["PatientID"])
            click.echo(json.dumps(row, ensure_ascii=False))
            if shown >= limit:
                break


@dicom_group.group("worklist")
def worklist_group() -> None:
    """The modality worklist (C-FIND SCU)."""


@worklist_group.command("query")
@click.option("--host", help="Worklist SCP host (default: HC_DICOM_WORKLIST).")
@click.option("--port", type=click.IntRange(1, 65535), help="Worklist SCP port.")
@click.option("--called-ae", help="The SCP's AE title (default: HC_DICOM_WORKLIST_AE).")
@click.option("--from", "day_from", help="First scheduled day (YYYY-MM-DD); default today.")
@click.option("--to", "day_to", help="Last scheduled day (YYYY-MM-DD); default --from.")
@click.option("--station", help="ScheduledStationAETitle to match.")
@click.option("--modality", help="Modality to match.")
@click.option("--store", is_flag=True, help="Merge the items into the exam table as "
              "scheduled events.")
@click.option("--reveal-identity", is_flag=True, help="Show patient ids unmasked.")
def worklist_query_cmd(host: str | None, port: int | None, called_ae: str | None,
                       day_from: str | None, day_to: str | None, station: str | None,
                       modality: str | None, store: bool, reveal_identity: bool) -> None:
    """Ask the worklist for scheduled procedure steps; print one JSON object per item."""
    from . import worklist

    _quiet_libraries()
    app = _app()
    settings = settings_of(app)
    if host is None or port is None:
        default_host, default_port = settings.worklist_address()
        host, port = host or default_host, port or default_port
    zone = settings.tz(app.settings.timezone)
    first = _day(day_from, "--from") or app.clock.now().astimezone(zone).date()
    last = _day(day_to, "--to") or first
    items = list(worklist.query(host, port, called_ae=called_ae or settings.worklist_ae,
                                calling_ae=settings.ae_title, day_from=first, day_to=last,
                                zone=zone, station_ae=station, modality=modality,
                                charset=settings.worklist_charset))
    for item in items:
        row = item.as_row()
        if row.get("patient_id") and not reveal_identity:
            row["patient_id"] = mask_value("id_number", str(row["patient_id"]))
        click.echo(json.dumps(row, ensure_ascii=False))
    if store:
        from .store_events import store_scheduled

        stored, skipped = store_scheduled(app, items)
        click.echo(f"worklist: {len(items)} items, {stored} scheduled events stored, "
                   f"{skipped} without accession number or start time", err=True)


@dicom_group.group("mpps")
def mpps_group() -> None:
    """Modality Performed Procedure Step: receive, list, match."""


@mpps_group.command("listen")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=11112, show_default=True, type=click.IntRange(0, 65535))
@click.option("--ae-title", help="Our AE title (default: HC_DICOM_AE_TITLE).")
def mpps_listen_cmd(host: str, port: int, ae_title: str | None) -> None:
    """Receive N-CREATE / N-SET from modalities; answer success only after each is stored.

    Stop with Ctrl-C or SIGTERM: associations in progress are finished, then a summary is
    printed.
    """
    from .mpps.scp import MppsScp
    from .mpps.store import MppsStore

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    _quiet_libraries()
    app = _app()
    settings = settings_of(app)
    store = MppsStore(app)
    store.match_pending()
    title = ae_title or settings.ae_title
    scp = MppsScp(store, host=host, port=port, ae_title=title, callers=settings.callers)
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError):
            signal.signal(sig, lambda *_: stopping.set())
    scp.start()
    click.echo(f"listening for MPPS (DICOM) on {host}:{scp.port} as {title}", err=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        scp.stop()
    s = scp.stats
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(s.by_disposition.items())) or "none"
    click.echo(f"stopped: {s.received} MPPS messages ({kinds}); {s.store_failures} could not "
               "be stored", err=True)


@mpps_group.command("list")
@click.option("--pending", is_flag=True, help="Only milestones waiting for their exam.")
def mpps_list_cmd(pending: bool) -> None:
    """The performed procedure steps received (or the milestones still waiting)."""
    from .mpps.store import MppsStore

    store = MppsStore(_app())
    if pending:
        for r in store.pending():
            click.echo(json.dumps({"message": r.message_id, "step": r.sop_instance_uid,
                                   "accession_number": r.accession, "study_uid": r.study_uid,
                                   "waiting_since": r.since}))
        return
    for r in store.steps():
        click.echo(json.dumps({"step": r.sop_instance_uid, "status": r.status,
                               "station": r.station, "modality": r.modality,
                               "accession_numbers": json.loads(r.accessions),
                               "started_at": r.started_at, "ended_at": r.ended_at}))


@mpps_group.command("match")
def mpps_match_cmd() -> None:
    """Match waiting MPPS milestones to exams that have appeared since."""
    from .mpps.store import MppsStore

    store = MppsStore(_app())
    matched = store.match_pending()
    click.echo(f"mpps: {matched} waiting milestones matched; {len(store.pending())} still "
               "waiting")


@dicom_group.command("show")
@click.argument("accession")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def show_cmd(accession: str, fmt: str) -> None:
    """An exam's milestones, where each DICOM-given time came from, and its viewer link."""
    from .evidence import exam_sources

    info = exam_sources(_app(), accession)
    if fmt == "json":
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    click.echo(f"{info['accession_number']}  study {info['study_instance_uid'] or '-'}  "
               f"{info['modality'] or '-'} {info['station'] or '-'}")
    for m in info["milestones"]:
        source = f"  ({m['source_en']} / {m['source_zh']})" if m.get("source_en") else ""
        click.echo(f"  {m['milestone']:<20} {m['at']}{source}")
    for link in info["links"]:
        click.echo(f"  viewer: {link['url']}")


@dicom_group.command("share")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--case", "case_ref", required=True, help="The complaint the files are for.")
@click.option("--to", "destination", required=True,
              type=click.Choice(["complainant", "hotline", "export"]))
@click.option("--out", "out_dir", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the de-identified files.")
@click.option("--purpose", required=True, help="Why the files leave the hospital.")
@click.option("--actor", help="Who shares (default: HC_ACTOR).")
@click.option("--confirm-burned-in", is_flag=True, help="I have looked at the images that "
              "may show text in their pixels and they may be shared.")
@click.option("--reason", default="", help="Why sharing those images is acceptable "
              "(required with --confirm-burned-in).")
def share_cmd(files: tuple[Path, ...], case_ref: str, destination: str, out_dir: Path,
              purpose: str, actor: str | None, confirm_burned_in: bool, reason: str) -> None:
    """De-identify DICOM FILES (PS3.15 Basic profile) for a case and write them to --out.

    Images whose pixels may carry text (BurnedInAnnotation YES, screenshots, ultrasound,
    photographs ...) are shared only with --confirm-burned-in and --reason. Every attempt
    is recorded (`dicom disclosures`).
    """
    from .deid.share import Confirmation, share

    app = _app()
    who = _actor(app, actor)
    if confirm_burned_in and not reason.strip():
        raise InvalidInput("dicom share", [FieldProblem(
            "--reason", reason, "why sharing images that may show text is acceptable")],
            ["  - --reason：确认共享含文字图像时须说明理由"])
    confirmation = Confirmation(who, reason) if confirm_burned_in else None
    inputs = [(f"file {i + 1}", p.read_bytes()) for i, p in enumerate(files)]
    result = share(app, case_ref, inputs, destination=destination, out_dir=out_dir,
                   actor=who, purpose=purpose, confirmation=confirmation)
    for p, path in zip(result.prepared, result.files, strict=True):
        counts = ", ".join(f"{k} {v}" for k, v in sorted(p.removal.counts().items()))
        click.echo(f"{path}  ({counts})")
    click.echo(f"shared {len(result.files)} de-identified file(s) with {destination}; "
               f"recorded as disclosure {result.record_id}", err=True)


@dicom_group.command("disclosures")
@click.option("--case", "case_ref", help="Only this case.")
def disclosures_cmd(case_ref: str | None) -> None:
    """Every recorded sharing of DICOM files (and refusal), one JSON object each."""
    from .deid.share import disclosures

    for row in disclosures(_app(), case_ref):
        for f in row.get("files", []):
            f["deidentification"] = f["deidentification"]["counts"]
        click.echo(json.dumps(row, ensure_ascii=False))
