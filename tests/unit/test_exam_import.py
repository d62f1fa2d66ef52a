"""Exam imports as hospitals have them, and the plain-row bulk path: the derived values of a
row equal what ExamRecord computes, files from Excel (BOM, GB18030, Excel times, any case,
the old ``device`` name), per-row errors naming line, column and value (in-memory
repository; tests/integration/correlation/test_exam_import_sql.py runs the SQL side)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter, ValidationError

from hospital_complaints.correlation import ExamRecord, InMemoryImagingRepository, import_file
from hospital_complaints.correlation.exam_rows import (
    MILESTONE_NAMES,
    LocalClock,
    derive,
    flags_of,
    hundredths,
    merge_rows,
    record_of,
)
from hospital_complaints.correlation.importers import (
    _UID_SHAPE,
    _ExamParser,
    _RowError,
    parse_time,
)
from hospital_complaints.correlation.records import local_parts
from hospital_complaints.domain.complaint import DicomUID
from hospital_complaints.errors import InvalidInput

TZ = ZoneInfo("Asia/Shanghai")
ZONES = [TZ, ZoneInfo("America/New_York"), ZoneInfo("Europe/London"),
         ZoneInfo("Asia/Kathmandu"), ZoneInfo("Australia/Lord_Howe"), ZoneInfo("UTC")]


def random_times(rng: random.Random, base: int) -> list[int | None]:
    """Ten milestones around ``base``: mostly in order, some missing, some out of order."""
    t = base
    out: list[int | None] = []
    for _ in MILESTONE_NAMES:
        t += rng.choice((0, 1, 59, 60, 61, 600, 3599, 7200))
        out.append(t)
    for i in range(10):
        roll = rng.random()
        if roll < 0.25:
            out[i] = None
        elif roll < 0.35:
            out[i] = base + rng.randrange(-7200, 7200)
    return out


def reference(times: list[int | None], tz: ZoneInfo) -> tuple[object, ...]:
    """What ExamRecord (and the SQL store's ``_row``) make of the same milestones."""
    at = [None if s is None else datetime.fromtimestamp(s, UTC) for s in times]
    e = ExamRecord("A", **{f"{n}_at": v for n, v in zip(MILESTONE_NAMES, at, strict=True)})
    w = e.window
    a = e.anchor
    return (None if w is None else int(w[0].timestamp()),
            None if w is None else int(w[1].timestamp()),
            *(local_parts(a, tz) if a else (None,) * 4),
            e.minutes("wait"), e.minutes("slip"), e.minutes("report"),
            ",".join(e.flags)[:400] or None)


@pytest.mark.parametrize("tz", ZONES, ids=str)
def test_derived_values_equal_exam_record(tz: ZoneInfo) -> None:
    rng = random.Random(str(tz))
    clock = LocalClock(tz)
    # around the year's offset changes too (New York, London, Lord Howe's half hour)
    bases = [int(datetime(2026, m, d, h, tzinfo=tz).timestamp())
             for m, d in ((3, 8), (3, 29), (4, 5), (10, 4), (10, 25), (11, 1), (12, 31))
             for h in (0, 1, 2, 3, 23)]
    bases += [rng.randrange(1_700_000_000, 1_800_000_000) for _ in range(300)]
    for base in bases:
        for _ in range(8):
            times = random_times(rng, base)
            assert derive(times, clock) == reference(times, tz), (times, tz)


def test_flags_of_the_usual_exam_are_none_and_others_as_exam_record() -> None:
    usual = [0, 10, 20, 30, 40, 50, 60, None, None, None]
    assert flags_of(usual) is None
    assert flags_of([0, 10, 25, 20, 40, 50, 60, None, None, None]) == (
        "out_of_order:arrived>started")
    assert flags_of([None, None, None, 30, None, None, 60, None, None, None]) == (
        "missing:arrived,missing:completed")


def test_merge_rows_like_exam_record_merged() -> None:
    old = ("A", "1.2", "CT", "CT1", None, "h1", "ris", *range(10))
    new = ("A", None, "MR", None, "R2", None, "csv", None, 5, *[None] * 8)
    merged = merge_rows(old, new)
    assert merged == ("A", "1.2", "MR", "CT1", "R2", "h1", "csv", 0, 5, *range(2, 10))
    tz = TZ
    a, b = record_of(old, tz), record_of(new, tz)
    assert record_of(merged, tz) == a.merged(b)


def test_uid_shape_is_the_domain_rule() -> None:
    uid = TypeAdapter(DicomUID)
    for value in ("1.2.840.10008.1", "0", "1.2.03", "1..2", "1.2.", ".1", "1.2a", "1" * 64,
                  "1" * 65, "1.2.156.112605.20261116.42", "10.0.1"):
        try:
            ok = uid.validate_python(value) == value
        except ValidationError:
            ok = False
        assert (_UID_SHAPE.fullmatch(value) is not None) is ok, value


HEADER = "accession_number,modality,station,scheduled_start,arrived_at,started_at\n"
ROW = ("CT1,CT,CT室一号,2026-11-16T08:30:00+08:00,2026-11-16T08:20:00+08:00,"
       "2026-11-16T09:00:00+08:00\n")


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    f = tmp_path / name
    f.write_bytes(data)
    return f


@pytest.mark.parametrize(("encoding", "prefix"), [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"),
                                                  ("gb18030", b"")], ids=["utf8", "bom", "gbk"])
def test_csv_from_excel_for_every_kind(tmp_path: Path, encoding: str, prefix: bytes) -> None:
    repo = InMemoryImagingRepository()
    exams = _write(tmp_path, "e.csv", prefix + (HEADER + ROW).encode(encoding))
    assert import_file(repo, exams, "exams").imported == 1
    exam = repo.exam("CT1")
    assert exam is not None and exam.station == "CT室一号" and exam.minutes("wait") == 40
    faults = _write(tmp_path, "f.csv", prefix + (
        "fault_id,station,reported_at,restored_at,cause\n"
        "F-1,CT室一号,2026-11-16T08:00:00+08:00,2026-11-16T08:40:00+08:00,球管打火\n"
    ).encode(encoding))
    assert import_file(repo, faults, "faults").imported == 1
    roster = _write(tmp_path, "r.csv", prefix + (
        "staff,role,start,end,station,班组\n"
        "技师 T07,technologist,2026-11-16T08:00:00+08:00,2026-11-16T12:00:00+08:00,CT室一号,CT\n"
    ).encode(encoding))
    assert import_file(repo, roster, "roster").imported == 1
    t = datetime(2026, 11, 16, 8, 30, tzinfo=TZ)
    (fault,) = repo.faults_between(t, t)
    assert fault.cause == "球管打火" and fault.device == "CT室一号"
    (shift,) = repo.shifts_between(t, t)
    assert shift.device == "CT室一号" and shift.extra == {"班组": "CT"}


def test_old_device_name_and_any_case_are_read(tmp_path: Path) -> None:
    repo = InMemoryImagingRepository()
    old = _write(tmp_path, "old.csv", (
        b"Accession_Number, Modality ,DEVICE,started_at\n"
        b"X1,ct,CT2,2026-11-16T09:00:00+08:00\n"))
    assert import_file(repo, old, "exams").imported == 1
    x1 = repo.exam("X1")
    assert x1 is not None and (x1.station, x1.modality) == ("CT2", "CT")
    faults = _write(tmp_path, "f.csv", (
        b"fault_id,device,reported_at\nF-9,CT2,2026-11-16T08:00:00+08:00\n"))
    assert import_file(repo, faults, "faults").imported == 1
    jsonl = _write(tmp_path, "f.jsonl", json.dumps(
        {"fault_id": "F-10", "device": "CT3", "reported_at": "2026-11-16T08:00:00+08:00"}
    ).encode())
    assert import_file(repo, jsonl, "faults").imported == 1
    roster = _write(tmp_path, "r.json", json.dumps([
        {"staff": "T1", "role": "tech", "start": "2026-11-16T08:00:00+08:00",
         "end": "2026-11-16T12:00:00+08:00", "device": "CT2"}]).encode())
    assert import_file(repo, roster, "roster").imported == 1
    t = datetime(2026, 11, 16, 9, tzinfo=TZ)
    assert {f.device for f in repo.faults_between(t, t)} == {"CT2", "CT3"}
    assert [s.device for s in repo.shifts_between(t, t)] == ["CT2"]


def test_station_and_device_together_are_refused(tmp_path: Path) -> None:
    both = _write(tmp_path, "b.csv", b"accession_number,station,device\nX1,CT1,CT2\n")
    with pytest.raises(InvalidInput, match="station given twice"):
        import_file(InMemoryImagingRepository(), both, "exams")
    record = _write(tmp_path, "b.jsonl", json.dumps(
        {"accession_number": "X1", "station": "CT1", "device": "CT2"}).encode())
    report = import_file(InMemoryImagingRepository(), record, "exams")
    assert report.imported == 0 and report.rejected[0].column == "station"


def test_excel_times_and_the_timezone_option(tmp_path: Path) -> None:
    f = _write(tmp_path, "e.csv", (
        b"accession_number,arrived_at,started_at\n"
        b"X1,2026/11/16 8:05,2026/11/16 08:25:30\n"
        b"X2,2026/13/16 8:05,2026-11-16\n"))
    assert import_file(InMemoryImagingRepository(), f, "exams").rejected[0].reason.startswith(
        "the time has no UTC offset")
    repo = InMemoryImagingRepository()
    report = import_file(repo, f, "exams", tz=TZ)
    assert report.imported == 1
    (problem,) = report.rejected
    assert (problem.line, problem.column, problem.value) == (3, "arrived_at", "2026/13/16 8:05")
    assert "2026/11/16 8:21" in problem.reason
    x1 = repo.exam("X1")
    assert x1 is not None and x1.started_at == datetime(2026, 11, 16, 8, 25, 30, tzinfo=TZ)
    assert parse_time(" 2026/1/2 ", TZ) == datetime(2026, 1, 2, tzinfo=TZ)


def test_row_problems_name_line_column_and_value(tmp_path: Path) -> None:
    f = _write(tmp_path, "e.csv", (
        "accession_number,study_instance_uid,modality,started_at\n"
        "X1,1.2.03,CTXYZ,yesterday\n"
        ",1.2.3,CT,2026-11-16T09:00:00+08:00\n"
        f"{'A' * 201},,,\n"
        "X4\n").encode())
    repo = InMemoryImagingRepository()
    report = import_file(repo, f, "exams")
    assert report.read == 4 and report.imported == 1 and report.rejected_rows == 3
    got = {(p.line, p.column, p.value) for p in report.rejected}
    assert got == {(2, "study_instance_uid", "1.2.03"), (2, "modality", "CTXYZ"),
                   (2, "started_at", "yesterday"), (3, "accession_number", ""),
                   (4, "accession_number", "A" * 201)}
    assert all(p.reason and p.reason_zh != "取值无效" for p in report.rejected)
    assert "第 3 行 accession_number 列：必填" in str(
        next(p for p in report.rejected if p.line == 3))
    assert "line 2, column modality: 'CTXYZ': expected a DICOM modality code" in str(
        next(p for p in report.rejected if p.column == "modality"))
    assert repo.exam("X4") is not None  # a short row: the missing cells are empty


def test_a_bad_csv_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    f = _write(tmp_path, "e.csv", b"accession_number,room\nX1,\"" + b"a" * 200_000 + b"\"\n")
    with pytest.raises(InvalidInput, match="line 2"):
        import_file(InMemoryImagingRepository(), f, "exams")


def test_progress_is_reported(tmp_path: Path) -> None:
    rows = "".join(f"A{i},CT\n" for i in range(4500))
    f = _write(tmp_path, "e.csv", ("accession_number,modality\n" + rows).encode())
    seen: list[int] = []
    report = import_file(InMemoryImagingRepository(), f, "exams", on_progress=seen.append)
    assert report.imported == 4500 and seen == [2000, 4000, 4500]


def test_in_memory_rows_keep_only_the_patient_hash(tmp_path: Path) -> None:
    f = _write(tmp_path, "e.csv", b"accession_number,patient_id\nX1, P0012345 \n")
    repo = InMemoryImagingRepository()
    import_file(repo, f, "exams")
    x1 = repo.exam("X1")
    assert x1 is not None and x1.patient_id is None
    assert x1.patient_hash == repo.hasher.hash("P0012345")
    assert "P0012345" not in repr(x1)


def test_times_are_kept_to_the_second(tmp_path: Path) -> None:
    f = _write(tmp_path, "e.csv", b"accession_number,arrived_at,started_at\n"
               b"X1,2026-11-16 08:00:00.900+08:00,2026-11-16 08:10:00.100+08:00\n")
    repo = InMemoryImagingRepository()
    import_file(repo, f, "exams")
    x1 = repo.exam("X1")
    assert x1 is not None and x1.minutes("wait") == 10
    assert x1.arrived_at == datetime(2026, 11, 16, 8, tzinfo=TZ)
    assert x1.started_at is not None and x1.started_at - x1.arrived_at == timedelta(minutes=10)


def test_long_texts_are_refused_not_cut_and_patient_ids_never_shown(tmp_path: Path) -> None:
    long_id = "P" + "7" * 300
    f = _write(tmp_path, "e.csv", (
        "accession_number,station,room,patient_id,started_at\n"
        f"X1,{'站' * 201},R1,P1,2026-11-16T09:00:00+08:00\n"
        f"X2,CT1,{'r' * 201},P2,2026-11-16T09:00:00+08:00\n"
        f"X3,CT1,R1,{long_id},bad time\n"
        f"X4,CT1,R1,{long_id},2026-11-16T09:00:00+08:00\n").encode())
    repo = InMemoryImagingRepository()
    report = import_file(repo, f, "exams")
    assert {(p.line, p.column) for p in report.rejected} == {
        (2, "station"), (3, "room"), (4, "started_at")}
    assert all(p.reason_zh == "最长 200 个字符" for p in report.rejected if p.line < 4)
    assert repo.exam("X1") is None and repo.exam("X2") is None  # nothing stored cut short
    x4 = repo.exam("X4")
    assert x4 is not None and x4.patient_hash == repo.hasher.hash(long_id)  # the whole id
    assert not any(long_id[:20] in str(p) for p in report.rejected)


def _time_cells(rng: random.Random) -> list[str]:
    """Time cells of every shape: the usual ISO 8601 (offsets, Z, none, a space), around the
    days a zone changes its offset, with fractions, short forms, Excel's and wrong ones."""
    out = ["2026-11-16T08:21:00+08:00", "2026-11-16 08:21:00+08:00", "2026-11-16T08:21:00Z",
           "2026-11-16T08:21:00", "2026-11-16T08:21:00-05:30", "2026-11-16T08:21:00.5+08:00",
           "2026-11-16T08:21+08:00", "2026-11-16T24:00:00+08:00", "2026-11-16T23:59:60Z",
           "2026-11-16T08:21:00+24:00", "2026-02-30T08:21:00Z", "2026/11/16 8:21",
           "2026-11-16", "2026-11-16T08:21:00+08", "0001-01-01T00:00:00+08:00",
           "9999-12-31T23:59:59-08:00", "1969-12-31T23:59:59Z", "２026-11-16T08:21:00Z",
           "2026-11-16T0８:21:00Z", "2026-11-16x08:21:00Z", "2026-11-16T08:21:00+08:00 "]
    days = ["2026-03-08", "2026-03-29", "2026-10-04", "2026-10-25", "2026-11-01", "2026-11-16",
            "2026-04-05"]
    for _ in range(3000):
        day = rng.choice(days)
        clock = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
        out.append(f"{day}{rng.choice('T ')}{clock}{rng.choice(['', 'Z', '+08:00', '-03:30'])}")
    return out


@pytest.mark.parametrize("tz", [*ZONES, None], ids=str)
def test_times_read_without_parsing_equal_parse_time(tz: ZoneInfo | None) -> None:
    """The parser's day and clock caches give what parse_time gives, to the second, for
    every time it reads (also on the days a zone changes its offset), and the same reason
    for every time it refuses."""
    parser = _ExamParser({"accession_number": 0, "started_at": 1}, tz, "t.csv")
    cells = _time_cells(random.Random(7))
    for _ in range(2):  # the second round reads from the caches
        for v in cells:
            try:
                want: object = int(parse_time(v, tz).timestamp())
            except (ValueError, OverflowError) as exc:
                want = str(exc)
            try:
                got: object = parser.parse(2, ["A", v])[7 + 3]
            except _RowError as err:
                got = err.problems[0].reason
            assert got == want, (v, tz)
    assert parser._days and parser._clock


def test_hundredths_of_minutes_equal_rounding() -> None:
    rng = random.Random(3)
    for d in [*range(-200_000, 200_000), *(rng.randrange(-10**10, 10**10) for _ in range(10**5))]:
        assert hundredths(d) / 100 == round(d / 60, 2), d


def test_the_fast_patient_hash_equals_the_hasher() -> None:
    from hospital_complaints.correlation.records import PatientHasher

    hasher = PatientHasher([b"k1", b"k2"])
    fast = hasher.fast()
    for pid in ("P0012345", " P0012345 ", "病人 甲", "x" * 300):
        assert fast(pid) == hasher.hash(pid)


@pytest.mark.parametrize("key_length", [0, 1, 32, 63, 64, 65, 200])
def test_the_reused_hmac_state_gives_the_standard_digests(key_length: int) -> None:
    """Patient hashes and row seals of a bulk import copy one keyed HMAC-SHA256 state per
    message: the same digests as ``hmac.digest`` for short, block-sized and long keys, and
    for messages one after another (no state left over from the one before)."""
    import hmac

    from hospital_complaints.correlation.records import hmac_sha256_hex

    key = bytes(range(256))[:key_length]
    mac = hmac_sha256_hex(key)
    for message in (b"", b"a", "病人 甲".encode(), bytes(range(256)) * 5):
        assert mac(message) == hmac.digest(key, message, "sha256").hex()
