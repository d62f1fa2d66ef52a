"""Issue #17: ``hl7 import`` says by reason why messages gave no exam event; ``hl7 profile
suggest`` proposes a sender profile from a sample feed; ``hl7 replay`` applies the stored
raw messages again after the profile is fixed, and nothing twice."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

from hospital_complaints.storage.sql import KeyRing, SqlStore

from hc_hl7v2 import ExtractOptions, SqlSink
from hc_hl7v2.backfill import import_files, import_messages
from hc_hl7v2.profiles import from_data, load
from hc_hl7v2.replay import replay
from hc_hl7v2.suggest import render, sample

_spec = importlib.util.spec_from_file_location("hl7_feeds", Path(__file__).with_name("feeds.py"))
assert _spec is not None and _spec.loader is not None
feeds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(feeds)

EXE = Path(sys.executable).parent / "hospital-complaints"


def cerner_feed(n: int = 20) -> list[bytes]:
    """A day of one Cerner interface: orders numbered only in OBR-20."""
    return [feeds.cerner_order(f"CRN{i:04d}").replace(
        b"MR-25-0012044", f"MR-25-{i:07d}".encode()) for i in range(n)]


def test_import_summary_says_why_by_reason(sql_store: SqlStore, tmp_path: Path) -> None:
    feed = tmp_path / "feed.hl7"
    feed.write_bytes(b"".join([*cerner_feed(3), feeds.ihe_tq1_s(), feeds.stray_cr()]))
    summary = import_files([feed], SqlSink(sql_store), ExtractOptions())
    text = summary.render()
    assert summary.messages == 5 and len(summary.no_events) == 3 and summary.applied == 5
    assert "no exam event x3: no accession number" in text
    assert "warning x1: TQ1-7: not an HL7 date/time" in text
    assert "line break inside a field" in text
    assert "OKAFOR" not in text and "MRN4471" not in text


def test_profile_suggest_finds_the_accession_field_and_the_charset() -> None:
    pieces = [*cerner_feed(20), *(feeds.latin1_declared_ascii(f"L{i}") for i in range(4))]
    samples = sample(pieces)
    text = render(samples, "sample.hl7")
    data = tomllib.loads(text)  # the proposal is a valid profile file
    profiles = from_data(data)
    cerner = profiles.for_sender("CERNER", "MERCY")
    assert cerner is not None and cerner.fields.accession_number is not None
    assert cerner.fields.accession_number[0] == "OBR-20"
    assert "OBR-20 100% (20 of 20)" in text
    old = profiles.for_sender("OLDRIS", "SAINT-ELOI")
    assert old is not None and old.charset == "8859/1" and old.force_charset
    assert "ORC-9 date without time x20" in text
    assert "OKAFOR" not in text and "LEF" not in text and "MRN4471" not in text


def test_profile_suggest_leaves_a_feed_the_rules_read_alone() -> None:
    text = render(sample([feeds.ihe_tq1_s(f"I{i}") for i in range(5)]), "ihe.hl7")
    assert "accession_number = [" not in text
    assert "TQ1-7 unreadable x5" in text
    assert "ORC-3 100% (5 of 5)" in text  # a field that is a candidate twice counts once


def test_replay_applies_what_a_fixed_profile_gives_and_nothing_twice(
        sql_store: SqlStore) -> None:
    sink = SqlSink(sql_store)
    chunks = [(f"m{i}", raw) for i, raw in enumerate(
        [*cerner_feed(5), feeds.latin1_declared_ascii(), feeds.ihe_tq1_s()])]
    first = import_messages(chunks, sink, ExtractOptions())
    assert first.applied == 6 and len(first.rejected) == 1 and first.exam_events == 1
    assert sink.exams.exam("MR-25-0000003") is None

    fixed = ExtractOptions(profiles=from_data({"profile": [
        {"name": "cerner", "sending_application": "CERNER",
         "fields": {"accession_number": ["OBR-20"]}},
        {"name": "oldris", "sending_application": "OLDRIS", "charset": "8859/1",
         "force_charset": True}]}))
    dry = replay(sink, fixed, dry_run=True)
    assert dry.changed == 6 and sink.exams.exam("MR-25-0000003") is None
    done = replay(sink, fixed)
    assert (done.changed, done.now_usable, done.unchanged) == (6, 1, 1)
    exam = sink.exams.exam("MR-25-0000003")
    assert exam is not None and exam.modality == "MR" and exam.scheduled_at is not None
    assert sink.exams.exam("SE-77") is not None  # the Latin-1 message, rejected before
    again = replay(sink, fixed)
    assert again.changed == 0 and again.unchanged == 7  # nothing is applied twice
    stored = list(sink.read())
    assert len(stored) == 7  # the received rows are never changed or added to


def test_replay_of_one_sender_since_a_date(sql_store: SqlStore) -> None:
    from datetime import UTC, datetime, timedelta

    sink = SqlSink(sql_store)
    import_messages([("a", raw) for raw in cerner_feed(2)], sink, ExtractOptions())
    fixed = ExtractOptions(profiles=from_data({"profile": [
        {"name": "cerner", "fields": {"accession_number": ["OBR-20"]}}]}))
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert replay(sink, fixed, since=tomorrow).read == 0
    assert replay(sink, fixed, sender="IMPAX").read == 0
    assert replay(sink, fixed, sender="CERNER").changed == 2
    assert replay(sink, fixed, sender="CERNER^MERCY").changed == 0


def test_replay_keeps_a_later_message_s_values(sql_store: SqlStore) -> None:
    """A replayed old message must not overwrite what a later one said (merge in order)."""
    sink = SqlSink(sql_store)
    old = feeds.cerner_order("C1").replace(b"|NMR|", b"|BOGUS|")
    later = feeds.cerner_order("C2").replace(b"|NW|", b"|XO|").replace(
        b"^^^20251030093000", b"^^^20251031110000")  # rescheduled to the next day, 11:00
    profile = {"name": "c", "fields": {"accession_number": ["OBR-20"]}}
    opts = ExtractOptions(profiles=from_data({"profile": [profile]}))
    import_messages([("old", old), ("later", later)], sink, opts)
    assert sink.exams.exam("MR-25-0012044").scheduled_at.hour == 11  # type: ignore[union-attr]
    fixed = ExtractOptions(profiles=from_data({"profile": [
        {**profile, "modality_aliases": {"BOGUS": "MR"}}]}))
    done = replay(sink, fixed)
    assert done.changed == 1 and done.accessions == 1
    exam = sink.exams.exam("MR-25-0012044")
    assert exam is not None and exam.modality == "MR" and exam.scheduled_at is not None
    assert exam.scheduled_at.hour == 11  # the later message's, not the replayed one's


def test_cli_suggest_then_replay(tmp_path: Path) -> None:
    key = KeyRing.generate_key()
    env = {"HC_ENCRYPTION_KEYS": key, "PATH": "/usr/bin:/bin"}
    feed = tmp_path / "cerner.hl7"
    feed.write_bytes(b"".join(cerner_feed(4)))
    db = f"sqlite:///{tmp_path / 'hc.db'}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(EXE), *args], capture_output=True, text=True, env=env,
                              timeout=120)

    imported = run("--db", db, "hl7", "import", "--no-progress", str(feed))
    assert imported.returncode == 0, imported.stderr
    assert "no exam event x4: no accession number" in imported.stdout
    proposal = tmp_path / "profiles.toml"
    out = run("hl7", "profile", "suggest", str(feed), "--output", str(proposal))
    assert out.returncode == 0, out.stderr
    assert load(proposal).for_sender("CERNER", "MERCY") is not None
    replayed = run("--db", db, "hl7", "replay", "--sender", "CERNER",
                   "--profiles", str(proposal))
    assert replayed.returncode == 0, replayed.stderr
    assert "changed: 4" in replayed.stdout
    again = run("--db", db, "hl7", "replay", "--profiles", str(proposal), "--since",
                "2000-01-01")
    assert "changed: 0" in again.stdout and "unchanged: 4" in again.stdout
    bad = run("--db", db, "hl7", "replay", "--since", "yesterday")
    assert bad.returncode != 0 and "--since" in bad.stderr and "Traceback" not in bad.stderr
