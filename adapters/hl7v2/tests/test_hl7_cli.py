"""``hospital-complaints hl7 ...`` run as a user runs it: inspect, import, listen."""

from __future__ import annotations

import asyncio
import json
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

from hl7.mllp import open_hl7_connection
from hospital_complaints.storage.sql import KeyRing, SqlStore

from hc_hl7v2 import SqlSink

EXE = Path(sys.executable).parent / "hospital-complaints"
FIXTURES = Path(__file__).parent / "fixtures"
KEY = KeyRing.generate_key()


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items()
         if k not in {"HC_DATABASE_URL", "HC_ENCRYPTION_KEY_FILE"}}
    e["HC_ENCRYPTION_KEYS"] = KEY
    return e


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, env=env(),
                          timeout=120, cwd=cwd)


def test_plugin_is_loaded_through_the_entry_point() -> None:
    out = run("plugins")
    assert out.returncode == 0, out.stderr
    assert "hl7v2" in out.stdout


def test_inspect_prints_one_json_object_per_event_masked() -> None:
    out = run("hl7", "inspect", str(FIXTURES / "omi_o23_scheduled.hl7"),
              str(FIXTURES / "odd_batch.hl7"), str(FIXTURES / "bad_time.hl7"),
              str(FIXTURES / "adt_a08_update.hl7"))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 6
    first = rows[0]
    assert first["event"] == "scheduled" and first["accession_number"] == "ACC20261121001"
    assert first["modality"] == "MR" and first["station"] == "MR3T_AE"
    assert first["scheduled_start"] == "2026-11-21T10:00:00+08:00"
    assert first["patient_id"] == "*******01"
    assert "P20261101" not in out.stdout + out.stderr
    assert rows[4]["error"].startswith("MSH-7")
    assert rows[5]["event"] is None and "ADT^A08" in rows[5]["note"]
    for row in rows[:4]:
        assert set(row) >= {"message_control_id", "message_type", "event", "accession_number",
                            "placer_order", "filler_order", "patient_id", "modality",
                            "station", "occurred_at", "scheduled_start"}


def test_inspect_reveal_identity() -> None:
    out = run("hl7", "inspect", "--reveal-identity", str(FIXTURES / "odd_gb18030.hl7"))
    assert json.loads(out.stdout)["patient_id"] == "P9005"


def test_import_stores_and_summarises(tmp_path: Path) -> None:
    db = tmp_path / "hc.db"
    files = [str(p) for p in sorted(FIXTURES.glob("*.hl7"))]
    out = run("--db", f"sqlite:///{db}", "hl7", "import", "--no-progress", *files)
    assert out.returncode == 0, out.stderr
    assert "messages: 37" in out.stdout
    assert "rejected: 6" in out.stdout
    assert "MSH-7" in out.stdout and "MSH-10" in out.stdout
    again = run("--db", f"sqlite:///{db}", "hl7", "import", "--no-progress", *files)
    assert "applied: 0" in again.stdout and "duplicates: 31" in again.stdout
    store = SqlStore(f"sqlite:///{db}", key_ring=KeyRing.parse(KEY))
    stored = list(SqlSink(store).read())
    store.dispose()
    assert len(stored) == 74


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_listen_acknowledges_and_stores(tmp_path: Path) -> None:
    db = tmp_path / "hc.db"
    port = _free_port()
    proc = subprocess.Popen([str(EXE), "--db", f"sqlite:///{db}", "hl7", "listen",
                             "--port", str(port)], env=env(), stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)

        async def talk() -> list[str]:
            reader, writer = await open_hl7_connection("127.0.0.1", port)
            codes = []
            for name in ("orm_o01_new_scheduled.hl7", "bad_time.hl7"):
                writer.writeblock((FIXTURES / name).read_bytes())
                await writer.drain()
                ack = await asyncio.wait_for(reader.readmessage(), 20)
                codes.append(str(ack.segment("MSA")[1]))
            writer.close()
            await writer.wait_closed()
            return codes

        assert asyncio.run(talk()) == ["AA", "AE"]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "P20261101" not in err
    store = SqlStore(f"sqlite:///{db}", key_ring=KeyRing.parse(KEY))
    stored = list(SqlSink(store).read())
    store.dispose()
    assert [m.disposition for m in stored] == ["applied", "rejected"]


def _listener(db: Path, *options: str) -> tuple[subprocess.Popen[str], int]:
    port = _free_port()
    proc = subprocess.Popen([str(EXE), "--db", f"sqlite:///{db}", "hl7", "listen",
                             "--port", str(port), *options], env=env(),
                            stderr=subprocess.PIPE, text=True)
    # wait for its "listening" line rather than probing the port: a probe would count
    # against --max-connections until the listener has noticed it closed
    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    deadline = time.monotonic() + 30
    seen = b""
    while time.monotonic() < deadline:  # raw reads: select() does not see Python's buffers
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            chunk = os.read(fd, 65536)
            seen += chunk
            if b"listening for HL7" in seen:
                return proc, port
            if not chunk and proc.poll() is not None:
                break
    raise AssertionError(f"the listener did not start: {seen.decode(errors='replace')[-2000:]}")


def test_listen_limits_are_options(tmp_path: Path) -> None:
    helped = run("hl7", "listen", "--help")
    for option, default in (("--max-frame-bytes", "4194304"), ("--idle-timeout", "300"),
                            ("--max-connections", "32")):
        assert option in helped.stdout and default in helped.stdout
    db = tmp_path / "hc.db"
    proc, port = _listener(db, "--max-frame-bytes", "2048", "--max-connections", "1")
    big = (FIXTURES / "orm_o01_new_scheduled.hl7").read_bytes() + b"NTE|1||" + b"x" * 10_000
    try:
        async def talk() -> tuple[str, bytes]:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"\x0b" + big + b"\x1c\x0d")
            await writer.drain()
            answer = await asyncio.wait_for(reader.readuntil(b"\x1c\x0d"), 20)
            other, other_writer = await asyncio.open_connection("127.0.0.1", port)
            try:  # over --max-connections: closed at once (EOF, or a reset)
                refused = await asyncio.wait_for(other.read(), 20)
            except ConnectionResetError:
                refused = b""
            other_writer.close()
            writer.close()
            await writer.wait_closed()
            return answer.decode(), refused

        answer, refused = asyncio.run(talk())
        assert "MSA|AR|" in answer and refused == b""
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "refused: 1 connections are open" in err  # logged
    store = SqlStore(f"sqlite:///{db}", key_ring=KeyRing.parse(KEY))
    [stored] = list(SqlSink(store).read())
    store.dispose()
    assert stored.raw == big[:2048] and stored.raw_length == len(big)
