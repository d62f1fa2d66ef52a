"""The MLLP listener under a hostile or broken sender: peak memory (a script, not a test).

    .venv/bin/python adapters/hl7v2/benchmarks/bench_mllp_abuse.py
    .venv/bin/python adapters/hl7v2/benchmarks/bench_mllp_abuse.py --git-rev <commit>

Runs ``hospital-complaints --db sqlite:///<tmp> hl7 listen`` as its own process, exactly as
deployed (defaults unless ``--listen-arg`` is given), and reads the process's resident memory
from ``/proc/PID/status`` (``VmRSS`` now, ``VmHWM`` the peak so far):

0. after one good message was acknowledged (the listener warmed up: database open, modules
   loaded);
1. after one unusable frame of ``--frame-mb`` MB (default 12) was answered: a complete MLLP
   frame whose content is an MSH and then short lines, the last one broken (``--content
   segments``, the tokeniser's worst case), or one byte repeated (``--content junk``);
2. after ``--frames`` (default 12) frames of that size were cut off: each on its own
   connection, sent at the same time, the start block and the content but no end block, then
   the connection closed; measured once the listener stored all of them (rows in
   ``hc_hl7_messages``).

``--git-rev REV`` runs the adapter's code as it was at that commit (``git show``, into a
temporary directory put first on the listener's ``PYTHONPATH``): the way to measure the
listener before a change. Linux only (``/proc``).

Peak memory (VmHWM) measured on the 2-core development VM, defaults, ``--content segments``:
before the limits (commit 102c140) 89 MiB warmed up, 487 MiB after the 12 MB frame,
5,013 MiB after the twelve cut-off frames; after them 90, 95 and 141 MiB (``junk``: 154 and
638 MiB before, 95 and 135 MiB after). docs/hl7v2.md has the table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ADAPTER_SRC = Path("adapters/hl7v2/src/hc_hl7v2")
EXE = Path(sys.executable).parent / "hospital-complaints"
GOOD = (b"MSH|^~\\&|RIS|RADHOSP|PACS|RADHOSP|20261120083000||ORM^O01|ABUSE0001|P|2.3.1\r"
        b"PID|||P0001||TEST^PATIENT\r"
        b"ORC|NW|PLC1|FIL1||SC||^^^20261120093000||20261120083000\r"
        b"OBR|1|PLC1|FIL1|CT^CT Chest|||||||||||||||ACC-ABUSE-1|RP1||||CT\r")


def unusable(size: int, content: str) -> bytes:
    """``size`` bytes a receiver cannot use. ``segments``: an ORM's MSH, then short
    Z-segments and a broken last line (the tokeniser works through all of it before it finds
    the fault: the worst case for memory); ``junk``: not HL7 at all (refused at once)."""
    if content == "junk":
        return b"Z" * size
    head = GOOD.split(b"\r", 1)[0] + b"\r"
    line = b"ZZZ|1|2\r"
    tail = b"\x01broken\r"
    return head + line * ((size - len(head) - len(tail)) // len(line)) + tail


def status(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of ``pid`` in KiB."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def mib(kib: int) -> str:
    return f"{kib / 1024:,.0f} MiB"


def export_rev(rev: str, into: Path) -> Path:
    """The adapter's package as of ``rev``, written under ``into`` (for ``PYTHONPATH``)."""
    listing = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", rev,
                              str(ADAPTER_SRC)], capture_output=True, text=True, check=True)
    for name in listing.stdout.split():
        target = into / Path(name).relative_to(ADAPTER_SRC.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{name}"],
                                          capture_output=True, check=True).stdout)
    return into


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rows(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=30) as conn:
            return int(conn.execute("SELECT count(*) FROM hc_hl7_messages").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0


async def exchange(port: int, data: bytes, timeout: float) -> bytes:
    """Send ``data`` on a new connection and read one answer (or EOF)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        try:
            return await asyncio.wait_for(reader.readuntil(b"\x1c\x0d"), timeout)
        except asyncio.IncompleteReadError as exc:
            return exc.partial
    finally:
        writer.close()
        await writer.wait_closed()


async def cut_off(port: int, data: bytes) -> None:
    """Send ``data`` (a frame without its end block), then close the connection."""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frame-mb", type=float, default=12.0)
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--content", choices=["segments", "junk"], default="segments",
                    help="segments: an MSH, then short segments, the last one broken; "
                         "junk: one byte repeated (not HL7 at all)")
    ap.add_argument("--git-rev", help="measure the adapter's code of this commit")
    ap.add_argument("--listen-arg", action="append", default=[],
                    help="an option for `hl7 listen` (repeatable), e.g. "
                         "--listen-arg=--max-frame-bytes=16777216")
    args = ap.parse_args(argv)

    from hospital_complaints.storage.sql import KeyRing

    size = int(args.frame_mb * 1_000_000)
    body = unusable(size, args.content)
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items()
               if k not in {"HC_DATABASE_URL", "HC_ENCRYPTION_KEY_FILE"}}
        env["HC_ENCRYPTION_KEYS"] = KeyRing.generate_key()
        code = "working tree"
        if args.git_rev:
            src = export_rev(args.git_rev, Path(tmp) / "src")
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src),
                                                              env.get("PYTHONPATH")]))
            code = f"commit {args.git_rev}"
        db = Path(tmp) / "abuse.db"
        port = free_port()
        proc = subprocess.Popen([str(EXE), "--db", f"sqlite:///{db}", "hl7", "listen",
                                 "--port", str(port), *args.listen_arg],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)
        try:
            def up() -> bool:
                with socket.socket() as s:
                    return s.connect_ex(("127.0.0.1", port)) == 0
            if not wait_until(up, 60):
                raise SystemExit("the listener did not start")
            print(f"listener: {code}, pid {proc.pid}, options {args.listen_arg or 'defaults'}, "
                  f"content {args.content}")
            ack = asyncio.run(exchange(port, b"\x0b" + GOOD + b"\x1c\x0d", 60))
            assert b"MSA|AA" in ack, ack
            s0 = status(proc.pid)
            print(f"0. warmed up (1 message)        : RSS {mib(s0['VmRSS'])}, "
                  f"peak {mib(s0['VmHWM'])}")

            t = time.monotonic()
            ack = asyncio.run(exchange(port, b"\x0b" + body + b"\x1c\x0d", 300))
            s1 = status(proc.pid)
            answer = ack[ack.find(b"MSA|"):][:7].decode("ascii", "replace") or "no answer"
            print(f"1. one {args.frame_mb:g} MB unusable frame     : RSS {mib(s1['VmRSS'])}, "
                  f"peak {mib(s1['VmHWM'])} ({answer}, {time.monotonic() - t:.1f} s)")

            before = rows(db)
            t = time.monotonic()

            async def cut_all() -> None:
                await asyncio.gather(*(cut_off(port, b"\x0b" + body)
                                       for _ in range(args.frames)))
            asyncio.run(cut_all())
            stored = wait_until(lambda: rows(db) >= before + args.frames, 600)
            s2 = status(proc.pid)
            print(f"2. {args.frames} cut-off {args.frame_mb:g} MB frames      : "
                  f"RSS {mib(s2['VmRSS'])}, peak {mib(s2['VmHWM'])} "
                  f"({rows(db) - before} stored{'' if stored else ', NOT ALL'}, "
                  f"{time.monotonic() - t:.1f} s)")
        finally:
            proc.terminate()
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


if __name__ == "__main__":
    main()
