"""``hospital-complaints dicom mpps listen`` killed with SIGKILL in the middle of a stream:
every MPPS answered with success is stored, and applied exactly once, after the sender sends
again what was not answered (and some that were)."""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hospital_complaints.plugin_api import ExamEvent, ExamEventType
from pydicom.uid import generate_uid

from hc_dicom.mpps.store import MppsStore
from hc_dicom.tables import tables

TZ = ZoneInfo("Asia/Shanghai")
STEPS = 40


def _cli() -> str:
    found = shutil.which("hospital-complaints", path=str(Path(sys.executable).parent))
    assert found, "hospital-complaints is not installed in this environment"
    return found


def _start(db_url: str, key: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HC_")}
    env.update(HC_DATABASE_URL=db_url, HC_ENCRYPTION_KEYS=key, HC_TIMEZONE="Asia/Shanghai")
    process = subprocess.Popen([_cli(), "dicom", "mpps", "listen", "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    sel = selectors.DefaultSelector()
    sel.register(process.stderr, selectors.EVENT_READ)
    seen = b""
    deadline = time.monotonic() + 30
    while b"listening for MPPS" not in seen:
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError(f"the SCP did not start: {seen.decode(errors='replace')}")
        if sel.select(0.2):
            seen += os.read(process.stderr.fileno(), 4096)
    sel.close()
    log.write_bytes(seen)
    return process


def _send(port: int, messages: list[tuple[str, str, Any]], answered: dict[tuple[str, str], int],
          kill_after: int | None = None, kill: Any = None) -> None:
    """Send each message (own association per message, as many modalities do); record the
    status of each one answered. After ``kill_after`` successes, call ``kill``."""
    from pynetdicom import AE

    ae = AE(ae_title="CT2_AE")
    ae.add_requested_context("1.2.840.10008.3.1.2.3.3")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 5
    successes = 0
    for op, uid, ds in messages:
        assoc = ae.associate("127.0.0.1", port, ae_title="HCOMPLAINTS")
        if not assoc.is_established:
            continue
        try:
            if op == "create":
                status, _ = assoc.send_n_create(ds, "1.2.840.10008.3.1.2.3.3", uid)
            else:
                status, _ = assoc.send_n_set(ds, "1.2.840.10008.3.1.2.3.3", uid)
        finally:
            if assoc.is_established:
                assoc.release()
        if status and "Status" in status:
            answered[(op, uid)] = int(status.Status)
            if status.Status == 0:
                successes += 1
                if kill_after is not None and successes == kill_after and kill is not None:
                    kill()


@pytest.mark.slow
def test_every_mpps_answered_success_is_stored_exactly_once_across_a_kill_9(
        tmp_path: Path, app_for: Any, mpps: Any, unused_port: int) -> None:
    app = app_for(tmp_path)
    app.imaging.ingest([ExamEvent(accession_number=f"K-{i:03d}", event=ExamEventType.SCHEDULED,
                                  source="ris", occurred_at=datetime(2026, 10, 21, 8, 0,
                                                                     tzinfo=TZ))
                        for i in range(STEPS)])
    db_url = app.settings.database.url
    secret = app.settings.database.encryption_keys
    key = secret.get_secret_value() if hasattr(secret, "get_secret_value") else str(secret)
    assert key
    uids = [generate_uid() for _ in range(STEPS)]
    messages: list[tuple[str, str, Any]] = []
    for i, uid in enumerate(uids):
        messages.append(("create", uid,
                         mpps.create(f"K-{i:03d}", start_time=f"08{i % 60:02d}00")))
        messages.append(("set", uid, mpps.set("COMPLETED", end_time=f"09{i % 60:02d}00")))

    first = _start(db_url, key, unused_port, tmp_path / "scp1.log")
    answered: dict[tuple[str, str], int] = {}
    killed = threading.Event()

    def kill() -> None:
        first.send_signal(signal.SIGKILL)
        killed.set()

    try:
        _send(unused_port, messages, answered, kill_after=STEPS // 2, kill=kill)
    finally:
        if first.poll() is None:
            first.kill()
        first.wait(10)
    assert killed.is_set() and first.returncode == -signal.SIGKILL
    before_restart = dict(answered)
    assert 0 < sum(1 for s in before_restart.values() if s == 0) < len(messages)

    second = _start(db_url, key, unused_port, tmp_path / "scp2.log")
    try:
        # send again what was not answered success, plus the first four that were
        again = [m for m in messages if before_restart.get((m[0], m[1])) != 0]
        again += [m for m in messages if before_restart.get((m[0], m[1])) == 0][:4]
        again.sort(key=lambda m: messages.index(m))
        _send(unused_port, again, answered)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(15)

    assert all(answered.get((op, uid)) == 0 for op, uid, _ in messages), answered
    t = tables(app.store.prefix, app.store.schema).messages
    with app.store.read() as conn:
        applied = conn.execute(sa.select(t.c.applied_key).where(
            t.c.applied_key.is_not(None))).scalars().all()
    # one applied row per message: N-CREATE keyed by its step, N-SET by step and content
    assert len(applied) == len(set(applied)) == len(messages)
    stored = MppsStore(app).messages()
    assert {m.disposition for m in stored} <= {"applied", "duplicate"}
    for i in range(STEPS):
        exam = app.imaging.exam(f"K-{i:03d}")
        assert exam.started_at == datetime(2026, 10, 21, 8, i % 60, tzinfo=TZ)
        assert exam.completed_at == datetime(2026, 10, 21, 9, i % 60, tzinfo=TZ)
    assert MppsStore(app).pending() == []
    from hc_dicom.chain import MppsChainCheck

    assert MppsChainCheck().check(app.store) == []
