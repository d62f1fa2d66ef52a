"""Attachments over HTTP: a streamed multipart upload with the core's size and type checks,
and an audited download decided like identity."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from hospital_complaints.testing import complaint_draft

PDF = b"%PDF-1.4\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 2000 + b"%%EOF\n"


def _case(served: Any, headers: dict[str, str]) -> str:
    r = served.client.post("/v1/cases", json=complaint_draft(), headers=headers)
    ref: str = r.json()["case"]["reference"]
    return ref


def test_an_upload_is_stored_encrypted_and_read_back_audited(
        core: Callable[..., Any], serve: Callable[..., Any], key: Callable[..., Any]) -> None:
    app = core()
    served = serve(app)
    officer = key(app, "officer", roles=("complaint_officer",))
    ref = _case(served, officer)
    r = served.client.post(f"/v1/cases/{ref}/attachments", headers=officer,
                           files={"file": ("检查单 scan.pdf", PDF, "application/pdf")})
    assert r.status_code == 201, r.text
    attachment = r.json()["attachment"]
    assert attachment["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert attachment["media_type"] == "application/pdf"
    assert attachment["filename"] == "检查单 scan.pdf"
    stored = [p for p in (app.settings.attachments.blob_dir).rglob("*") if p.is_file()]
    assert stored and all(PDF[:200] not in p.read_bytes() for p in stored)  # encrypted
    listed = served.client.get(f"/v1/cases/{ref}/attachments", headers=officer).json()
    assert [a["sha256"] for a in listed["attachments"]] == [attachment["sha256"]]

    download = served.client.get(f"/v1/cases/{ref}/attachments/{attachment['sha256']}",
                                 params={"purpose": "核对检查单"}, headers=officer)
    assert download.status_code == 200, download.text
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''" in download.headers["content-disposition"]
    nurse = key(app, "nurse", roles=("nurse",), department="医患办")
    refused = served.client.get(f"/v1/cases/{ref}/attachments/{attachment['sha256']}",
                                params={"purpose": "看看"}, headers=nurse)
    assert refused.status_code == 403
    events = [e["type"] for e in served.client.get(f"/v1/cases/{ref}/history",
                                                   headers=officer).json()["events"]]
    assert events[-3:] == ["attachment_added", "attachment_viewed", "attachment_view_refused"]


def test_uploads_are_checked_like_every_attachment(core: Callable[..., Any],
                                                  serve: Callable[..., Any],
                                                  key: Callable[..., Any]) -> None:
    app = core(max_attachment_bytes=50_000)
    served = serve(app)
    officer = key(app)
    ref = _case(served, officer)
    c = served.client
    url = f"/v1/cases/{ref}/attachments"
    english = {**officer, "Accept-Language": "en"}
    program = c.post(url, headers=english, files={"file": ("x.exe", b"MZ\x90\x00" * 100,
                                                           "application/octet-stream")})
    assert program.status_code == 422 and "types" in program.json()["errors"][0]["allowed"]
    too_big = c.post(url, headers=english, files={"file": ("big.pdf", PDF * 2,
                                                           "application/pdf")})
    assert too_big.status_code == 413
    small = PDF[:20_000]
    assert c.post(url, headers=officer, files={"file": ("a.pdf", small)}).status_code == 201
    twice = c.post(url, headers=english, files={"file": ("again.pdf", small)})
    assert twice.status_code == 409
    no_file = c.post(url, headers=english, files={"other": ("a.pdf", small)})
    assert no_file.status_code == 422 and no_file.json()["errors"][0]["field"] == "file"
    as_json = c.post(url, headers=english, json={"file": "x"})
    assert as_json.status_code == 415
    types = [e["type"] for e in c.get(f"/v1/cases/{ref}/history", headers=officer).json()[
        "events"]]
    assert types.count("attachment_added") == 1


def test_an_upload_is_read_as_it_arrives(core: Callable[..., Any], serve: Callable[..., Any],
                                         key: Callable[..., Any]) -> None:
    """A chunked upload whose last part is held back: the server is already reading the
    file (the case was checked) before the client has sent all of it."""
    app = core()
    served = serve(app)
    officer = key(app)
    ref = _case(served, officer)
    boundary = "hc-boundary-7d1"
    release = threading.Event()
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            "filename=\"slow.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").encode()

    def body() -> Iterator[bytes]:
        yield head + PDF[:30_000]
        release.wait(10)
        yield PDF[30_000:] + f"\r\n--{boundary}--\r\n".encode()

    result: dict[str, Any] = {}

    def send() -> None:
        result["r"] = served.client.post(
            f"/v1/cases/{ref}/attachments", content=body(),
            headers={**officer, "Content-Type": f"multipart/form-data; boundary={boundary}"})

    sender = threading.Thread(target=send)
    sender.start()
    sender.join(timeout=1.0)
    assert sender.is_alive()  # waiting for the rest, not refused up front
    release.set()
    sender.join(timeout=20)
    assert result["r"].status_code == 201, result["r"].text
    assert result["r"].json()["attachment"]["size_bytes"] == len(PDF)
