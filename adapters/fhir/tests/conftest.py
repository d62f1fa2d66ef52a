"""Fixtures: the Node validators (Medplum validateResource + FHIR.js) and a real FHIR server
(Medplum fhir-router over a MemoryRepository), each started once per session."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import require_peer

JS = Path(__file__).resolve().parents[1] / "js"


def _need_node() -> None:
    if shutil.which("node") is None:
        require_peer("medplum", "node is not installed")
    if not (JS / "node_modules" / "@medplum" / "core").is_dir() or \
            not (JS / "node_modules" / "fhir").is_dir():
        require_peer("medplum", f"npm packages missing: run `npm ci --prefix {JS}`")


@pytest.fixture(scope="session")
def _validator_process() -> Iterator[subprocess.Popen[str]]:
    _need_node()
    proc = subprocess.Popen(["node", str(JS / "validate.js")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, encoding="utf-8")
    yield proc
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def js_errors(_validator_process: subprocess.Popen[str]) -> Callable[[Any], list[Any]]:
    """Validate one resource with Medplum and FHIR.js: returns their errors (not warnings)."""
    proc = _validator_process

    def validate(resource: Any) -> list[Any]:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(resource, ensure_ascii=False) + "\n")
        proc.stdin.flush()
        result: dict[str, Any] = json.loads(proc.stdout.readline())
        return [i for k in ("medplum", "fhirjs") for i in result[k]
                if i["severity"] in ("error", "fatal")]

    return validate


class Server:
    def __init__(self, *args: str) -> None:
        _need_node()
        self.proc = subprocess.Popen(["node", str(JS / "server.js"), *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.port = json.loads(self.proc.stdout.readline())["port"]
        self.base = f"http://127.0.0.1:{self.port}/fhir/R4/"

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def fhir_server() -> Iterator[Server]:
    server = Server()
    yield server
    server.stop()


@pytest.fixture
def start_server() -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(*args: str) -> Server:
        s = Server(*args)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
