"""``hospital-complaints serve`` as an operator runs it: a process on loopback, health and
readiness, API keys from the CLI, and a graceful stop that lets a running upload finish."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from hospital_complaints.testing import complaint_draft

BIN = Path(sys.executable).parent / "hospital-complaints"
PDF = b"%PDF-1.4\n" + b"0" * 200_000 + b"\n%%EOF\n"

pytestmark = pytest.mark.slow


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HC_")}
    env.update({"HC_DATABASE_URL": f"sqlite:///{tmp_path / 'hc.db'}",
                "HC_BLOB_DIR": str(tmp_path / "blobs"), "HC_HTTP_SHUTDOWN_TIMEOUT": "20"})
    return env


def _listening(stderr: IO[str], deadline: float) -> str:
    while time.monotonic() < deadline:
        line = stderr.readline()
        if not line:
            break
        if line.startswith("{") and '"listening"' in line:
            url: str = json.loads(line)["url"]
            return url
    raise AssertionError("the server did not say where it listens")


def test_serve_answers_and_stops_gracefully(tmp_path: Path) -> None:
    env = _env(tmp_path)
    issued = subprocess.run([str(BIN), "http", "keys", "issue", "ops", "--scope", "intake",
                             "--scope", "cases:write", "--scope", "cases:read", "--role",
                             "complaint_officer"], env=env, capture_output=True, text=True,
                            cwd=tmp_path, timeout=60)
    assert issued.returncode == 0, issued.stderr
    headers = {"X-API-Key": issued.stdout.strip()}
    proc = subprocess.Popen([str(BIN), "serve", "--host", "127.0.0.1", "--port", "0"],
                            env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        url = _listening(proc.stderr, time.monotonic() + 30)
        tail: list[str] = []
        reader = threading.Thread(target=lambda: tail.extend(proc.stderr or []), daemon=True)
        reader.start()
        with httpx.Client(base_url=url, timeout=30) as c:
            health = c.get("/healthz")
            assert health.json() == {"status": "ok"} and "server" not in health.headers
            assert c.get("/readyz").json()["status"] == "ready"
            ref = c.post("/v1/cases", json=complaint_draft(), headers=headers).json()[
                "case"]["reference"]
            release = threading.Event()
            boundary = "stop-test"

            def body() -> Iterator[bytes]:
                yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                       "filename=\"late.pdf\"\r\n\r\n").encode() + PDF[:1000]
                release.wait(15)
                yield PDF[1000:] + f"\r\n--{boundary}--\r\n".encode()

            answer: dict[str, Any] = {}

            def upload() -> None:
                answer["r"] = c.post(f"/v1/cases/{ref}/attachments", content=body(), headers={
                    **headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})

            sender = threading.Thread(target=upload)
            sender.start()
            time.sleep(0.5)  # the upload is under way
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            release.set()  # ... and finishes after the server was told to stop
            sender.join(timeout=30)
        assert answer["r"].status_code == 201, answer["r"].text
        assert proc.wait(timeout=30) == 0
        reader.join(timeout=5)
        assert any('"stopped"' in line for line in tail)
        assert not any("Traceback" in line for line in tail)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/healthz", timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
