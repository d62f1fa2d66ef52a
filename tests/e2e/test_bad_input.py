"""Bad input at the command line: a clear error (zh and en), never a traceback, nothing
half-written. Each case here ended in a Python traceback, or was accepted silently, in
release 0.1 (the security issue's list), plus the same class of defect found around them.

The commands run in-process through ``start()``, exactly as ``main()`` builds them, so the
whole catalogue runs in seconds; ``test_cli.py`` runs the installed console script.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from hospital_complaints.cli.main import cli, start

ENV_CLEAR = ("HC_DATABASE_URL", "HC_ENCRYPTION_KEYS", "HC_ENCRYPTION_KEY_FILE",
             "HC_REFERENCE_PREFIX", "HC_TIMEZONE", "HC_DISABLE_PLUGINS", "HC_DEBUG")
GOOD = {
    "channel": "front_desk", "received_at": "2026-11-20T08:30:00+08:00",
    "complainant": {"role": "patient", "name": "张三丰", "phone": "13812345678",
                    "consent_to_contact": True},
    "subject": "CT 检查等待两个多小时", "description": "预约 8:30，10:33 才开始检查。",
}


class Hc:
    """The command line on one database in a temporary folder."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder = folder
        self.db = f"sqlite:///{folder / 'hc.db'}"
        self.monkeypatch = monkeypatch
        for var in ENV_CLEAR:
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("HC_BLOB_DIR", str(folder / "blobs"))
        monkeypatch.chdir(folder)

    def __call__(self, *args: str, input: str | bytes | None = None,
                 env: dict[str, str] | None = None, db: bool = True) -> Result:
        with self.monkeypatch.context() as m:
            for k, v in (env or {}).items():
                m.setenv(k, v)
            try:
                state = start()
            except Exception as exc:  # start() fails only with our own, clear errors
                return _Failed(exc)  # type: ignore[return-value]
            argv = ["--db", self.db, *args] if db else list(args)
            return CliRunner().invoke(cli, argv, obj=state, input=input)

    def file(self, name: str, content: str | bytes) -> str:
        path = self.folder / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return str(path)

    def register(self, **overrides: Any) -> str:
        result = self("register", self.file("c.json", json.dumps({**GOOD, **overrides},
                                                                  ensure_ascii=False)))
        assert result.exit_code == 0, result.output
        return result.stdout.strip().splitlines()[-1]

    def blobs(self) -> list[Path]:
        root = self.folder / "blobs"
        return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


class _Failed:
    def __init__(self, exc: Exception) -> None:
        from hospital_complaints.errors import HospitalComplaintsError

        assert isinstance(exc, HospitalComplaintsError), repr(exc)
        self.exit_code = 1
        self.output = f"Error: {exc}"
        self.exception = SystemExit(1)


@pytest.fixture
def hc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hc]:
    yield Hc(tmp_path, monkeypatch)


def refused(result: Result, *needles: str, code: int | tuple[int, ...] = 1) -> str:
    """The command failed cleanly: no traceback, the expected exit code, and the message
    names what it should (English and Chinese where the error is ours)."""
    out = result.output
    assert "Traceback" not in out, out
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    codes = (code,) if isinstance(code, int) else code
    assert result.exit_code in codes, (result.exit_code, out)
    for needle in needles:
        assert needle in out, (needle, out)
    if result.exit_code == 1:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in out), f"no Chinese text: {out}"
    return out


# -- files that are not UTF-8, not JSON objects, or absurd -------------------------------------

def test_gb18030_utf8_bom_and_utf16_complaints_are_read(hc: Hc) -> None:
    text = json.dumps(GOOD, ensure_ascii=False)
    for name, data in (("gbk.json", text.encode("gb18030")),
                       ("bom.json", b"\xef\xbb\xbf" + text.encode("utf-8")),
                       ("u16.json", text.encode("utf-16"))):
        result = hc("register", hc.file(name, data))
        assert result.exit_code == 0, (name, result.output)
    listing = hc("list", "--format", "json")
    assert [json.loads(x)["subject"] for x in listing.stdout.splitlines()] == [
        GOOD["subject"]] * 3


@pytest.mark.parametrize("name,data,needles", [
    ("latin1.json", "{\"subject\": \"caf\xe9\xff\xfe\"}".encode("latin-1"), ("byte",)),
    ("image.json", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), ("byte",)),
    ("empty.json", b"", ("valid JSON",)),
    ("array.json", b"[1, 2]", ("JSON object",)),
    ("string.json", b"\"x\"", ("JSON object",)),
    ("null.json", b"null", ("JSON object",)),
    ("syntax.json", b"{\"subject\": }", ("line 1 column",)),
    ("deep.json", b"[" * 200_000 + b"]" * 200_000, ("nested",)),
    ("deep1000.json", b"{\"a\":" * 1000 + b"1" + b"}" * 1000, ("nested",)),
    ("unknown.json", json.dumps({**GOOD, "colour": "red"}).encode(), ("colour",
                                                                      "unknown field")),
    ("naive.json", json.dumps({**GOOD, "received_at": "2026-11-20T08:30"}).encode(),
     ("received_at", "timezone")),
    ("future.json", json.dumps({**GOOD, "received_at": "2099-01-01T08:00:00+08:00"}).encode(),
     ("received_at", "future")),
    ("long-name.json", json.dumps({**GOOD, "complainant": {
        "role": "patient", "name": "张" * 200_000}}).encode(), ("complainant.name", "200")),
    ("long-subject.json", json.dumps({**GOOD, "subject": "x" * 201}).encode(),
     ("subject", "200")),
    ("bad-phone.json", json.dumps({**GOOD, "complainant": {
        "role": "patient", "phone": "call 13812345678"}}).encode(), ("complainant.phone",)),
    ("bad-channel.json", json.dumps({**GOOD, "channel": "pigeon"}).encode(), ("channel",)),
    ("bad-kind.json", json.dumps({**GOOD, "kind": "rant"}).encode(), ("kind",)),
])
def test_bad_complaint_files(hc: Hc, name: str, data: bytes, needles: tuple[str, ...]) -> None:
    out = refused(hc("register", hc.file(name, data)), *needles)
    assert "13812345678" not in out and "张" * 50 not in out  # personal data is masked
    assert hc("list", "--format", "json").stdout == ""  # nothing stored


def test_register_options_and_paths(hc: Hc) -> None:
    good = hc.file("good.json", json.dumps(GOOD, ensure_ascii=False))
    refused(hc("register", "--encoding", "klingon", good), "--encoding", "klingon")
    refused(hc("register", "--encoding", "ascii", good), "byte")
    refused(hc("register", "--channel", "carrier_pigeon", good), "channel", "carrier_pigeon")
    refused(hc("register", str(hc.folder / "missing.json")), "missing.json")
    refused(hc("register", str(hc.folder)), code=2)  # a folder: click's usage error
    ok = hc("register", "-", input=json.dumps(GOOD, ensure_ascii=False).encode("gb18030"))
    assert ok.exit_code == 0, ok.output


def test_register_says_when_the_complaint_was_registered_before(hc: Hc) -> None:
    good = hc.file("good.json", json.dumps(GOOD, ensure_ascii=False))
    first = json.loads(hc("register", "--idempotency-key", "desk-7781", "--format", "json",
                          good).stdout)
    again = hc("register", "--idempotency-key", "desk-7781", good)
    assert first["created"] is True and first["state"] == "registered"
    assert again.exit_code == 0 and "already registered" in again.stdout
    assert first["reference"] in again.stdout


def test_stored_markup_is_shown_as_text(hc: Hc) -> None:
    """Regression: a subject such as ``[/bold] [link=http://x]y[/link]`` made ``list`` and
    ``show`` crash for everyone once it was stored."""
    subject = "[/bold] [link=http://x]y[/link] :smile: <script>alert(1)</script>"
    ref = hc.register(subject=subject)
    for args in (("list",), ("show", ref, "--history"), ("list", "--open")):
        result = hc(*args)
        assert result.exit_code == 0, result.output
        assert "[/bold]" in result.output.replace("\n", "") or args[0] == "list"
    shown = hc("show", ref)
    assert "[link=http://x]y[/link]" in shown.output and ":smile:" in shown.output


# -- commands ----------------------------------------------------------------------------------

@pytest.mark.parametrize("data,needles", [
    ("[1, 2]", ("--data", "object")),
    ("\"x\"", ("--data", "object")),
    ("null", ("--data", "object")),
    ("3", ("--data", "object")),
    ("{bad json", ("line 1",)),
    ("[" * 100_000 + "]" * 100_000, ("nested",)),
    ("{\"method\": \"phone\", \"message\": \"ok\", \"colour\": 1}", ("colour",)),
    ("{\"method\": \"carrier pigeon\", \"message\": \"ok\"}", ("method",)),
])
def test_bad_command_data(hc: Hc, data: str, needles: tuple[str, ...]) -> None:
    ref = hc.register()
    refused(hc("act", ref, "acknowledge", "--data", data), *needles)
    assert json.loads(hc("list", "--format", "json").stdout)["version"] == 2  # unchanged


def test_commands_only_the_service_issues_are_refused_by_every_door(hc: Hc) -> None:
    """Regression: ``act REF add_attachment --data {...}`` stored a forged attachment record
    (any path, hash, type, size) and ``record_deadline_alert`` was reachable too."""
    ref = hc.register()
    forged = json.dumps({"attachment": {"reference": "/etc/passwd", "sha256": "a" * 64,
                                        "media_type": "application/pdf", "size_bytes": 1}})
    for command in ("add_attachment", "record_deadline_alert", "reveal_identity",
                    "refuse_identity", "register"):
        refused(hc("act", ref, command, "--data", forged), command, code=2)
    from hospital_complaints import InvalidInput
    from hospital_complaints.domain.commands import AddAttachment, Attachment

    state = start()
    state.db_url = hc.db
    from hospital_complaints.cli.context import get_service

    class Ctx:
        def find_root(self) -> Any:
            return self

        obj = state

    service = get_service(Ctx())  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="only the service issues"):
        service.execute(ref, AddAttachment(attachment=Attachment(
            reference="/etc/passwd", sha256="a" * 64)), actor="x")
    with pytest.raises(InvalidInput, match="one of: acknowledge"):
        service.execute(ref, ("record_deadline_alert", {}), actor="x")
    assert service.get(ref).version == 2


def test_references_states_and_departments(hc: Hc) -> None:
    ref = hc.register(exam_links=[{"accession_number": "CT1"}])
    assert hc("show", ref.lower()).exit_code == 0  # references are case-insensitive
    assert hc("act", f"  {ref.lower()} ", "acknowledge", "--set", "method=phone",
              "--set", "message=已收到").exit_code == 0
    refused(hc("show", "HC-20991231-0001"), "HC-20991231-0001")
    refused(hc("list", "--state", "bogus"), "bogus", "registered", code=2)
    for name in ("影像科", "影像科 imaging department", "radiology", "ＲＡＤＩＯＬＯＧＹ"):
        found = hc("list", "--department", name, "--format", "json").stdout.splitlines()
        assert len(found) == 1, name  # shown in the table as 影像科
    assert hc("list", "--department", "超声科", "--format", "json").stdout == ""
    refused(hc("act", ref, "close"), "close", "allowed")
    refused(hc("act", ref, "classify", "--set", "noequals"), "key=value")
    refused(hc("act", ref, "classify", "--expected-version", "1", "--set",
               "severity=1"), "version")


# -- attachments -------------------------------------------------------------------------------

def test_attachments_bad_and_refused_write_no_blob(hc: Hc) -> None:
    ref = hc.register()
    if os.path.exists("/dev/zero"):
        refused(hc("attach", ref, "/dev/zero"), "20,971,520")  # streamed, stopped at the limit
    refused(hc("attach", ref, hc.file("empty.txt", b"")), "non-empty")
    refused(hc("attach", ref, hc.file("prog.bin", b"\x7fELF\x02\x01\x01" + bytes(100))),
            "types")
    refused(hc("attach", ref, str(hc.folder)), code=2)
    refused(hc("attach", "HC-20991231-0001", hc.file("ok.txt", b"hello")), "HC-20991231-0001")
    assert hc.blobs() == []
    hc("act", ref, "withdraw", "--set", "reason=resolved at the desk")
    refused(hc("attach", ref, hc.file("late.pdf", b"%PDF-1.7\n...")), "add_attachment",
            "withdrawn")
    assert hc.blobs() == []  # a refused attachment writes no blob


# -- settings and databases --------------------------------------------------------------------

@pytest.mark.parametrize("env,needles", [
    ({"HC_REFERENCE_PREFIX": "hc"}, ("HC_REFERENCE_PREFIX", "'hc'")),
    ({"HC_REFERENCE_PREFIX": "影像"}, ("HC_REFERENCE_PREFIX", "影像")),
    ({"HC_REFERENCE_PREFIX": "\"HC\""}, ("HC_REFERENCE_PREFIX",)),
    ({"HC_REFERENCE_PREFIX": "ABCDEFGHIJK"}, ("HC_REFERENCE_PREFIX",)),
    ({"HC_TIMEZONE": "Mars/Olympus"}, ("HC_TIMEZONE", "Mars/Olympus")),
    ({"HC_ENCRYPTION_KEYS": "not-a-key"}, ("HC_ENCRYPTION_KEYS",)),
    ({"HC_ENCRYPTION_KEYS": "c2hvcnQ"}, ("32",)),
    ({"HC_ENCRYPTION_KEY_FILE": "/nonexistent/keyfile"}, ("/nonexistent/keyfile",)),
])
def test_bad_settings(hc: Hc, env: dict[str, str], needles: tuple[str, ...]) -> None:
    refused(hc("list", env=env), *needles)


@pytest.mark.parametrize("url,needles", [
    ("sqlite:////nonexistent/dir/x.db", ("/nonexistent/dir",)),
    ("mysql+mysqldb://root@127.0.0.1/test", ("driver", "hospital-complaints[mariadb]")),
    ("oracle://scott@127.0.0.1/orcl", ("unsupported database",)),
    ("not a url", ("not valid",)),
    ("postgresql://nobody:secret@127.0.0.1:1/none", ("cannot connect",)),
])
def test_bad_database_urls(hc: Hc, url: str, needles: tuple[str, ...]) -> None:
    env = {} if url.startswith("sqlite") else {"HC_ENCRYPTION_KEYS": _key()}
    out = refused(hc("--db", url, "list", db=False, env=env), *needles)
    assert "secret" not in out


def test_a_moved_key_file_is_noticed_and_no_new_key_is_made(hc: Hc) -> None:
    """Regression: with the .key file moved away, any command created a fresh key and
    ``register`` then wrote under it."""
    hc.register()
    key = hc.folder / "hc.db.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    needed = key.read_text().strip()
    key.rename(hc.folder / "elsewhere.key")
    out = refused(hc("register", hc.file("c2.json", json.dumps(GOOD))), "key id",
                  "key file")
    assert not key.exists()
    assert needed not in out
    other = hc.folder / "other.key"
    other.write_text(_key() + "\n")
    other.chmod(0o600)
    refused(hc("list", env={"HC_ENCRYPTION_KEY_FILE": str(other)}), "key id",
            "belongs to another database")
    (hc.folder / "elsewhere.key").rename(key)
    assert len(hc("list", "--format", "json").stdout.splitlines()) == 1  # nothing was written
    assert hc("audit", "verify").exit_code == 0


def _key() -> str:
    from hospital_complaints.storage.keys import KeyRing

    return KeyRing.generate_key()


# -- imaging imports and analytics -------------------------------------------------------------

def test_exam_imports_as_hospitals_have_them(hc: Hc) -> None:
    header = "accession_number,modality,station,scheduled_start,started_at\n"
    row = "CT1,CT,CT室一号,2026-11-16T08:30:00+08:00,2026-11-16T09:00:00+08:00\n"
    ok = hc("exams", "import", hc.file("gbk.csv", (header + row).encode("gb18030")))
    assert ok.exit_code == 0 and "imported 1" in ok.output, ok.output  # says what it did
    bom = hc.file("bom.csv", b"\xef\xbb\xbf" + (header + row.replace("CT1", "CT2")
                                                 ).encode("utf-8"))
    quiet = hc("exams", "import", "--quiet", bom)  # --quiet: only rejected rows, here none
    assert (quiet.exit_code, quiet.output) == (0, ""), quiet.output
    assert "imported 1" in hc("exams", "import", "--quiet", "--summary", bom).output
    refused(hc("exams", "import", hc.file("bin.csv", b"\x00\xff\xfe\x00" * 100)), "byte")
    refused(hc("exams", "import", hc.file("x.txt", "a")), ".csv")
    refused(hc("exams", "import", str(hc.folder / "nope.csv")), "nope.csv")
    refused(hc("exams", "import", hc.file("h.csv", "accession_number,colour\nA,red\n")),
            "colour")
    rows = [{"accession_number": "CT3", "modality": "CT", "device": "CT2",
             "scheduled": "2026-11-16T08:00:00+08:00"}]
    out = hc("exams", "import", hc.file("e.json", json.dumps(rows))).output
    # 'device' is the old name of 'station' (read); 'scheduled' is unknown: never dropped
    assert "rejected 1" in out and "column scheduled" in out and "column device" not in out
    faults = [{"fault_id": "F1", "device": "CT2", "reported_at": "2026-11-16T08:00:00+08:00",
               "restored": "2026-11-16T09:00:00+08:00"}]
    out = hc("exams", "import-faults", hc.file("f.jsonl",
                                               "\n".join(json.dumps(f) for f in faults))).output
    assert "rejected 1" in out and "restored" in out
    refused(hc("exams", "import", hc.file("deep.json", "[" * 5000 + "]" * 5000)), "nested")


def test_correlate_arguments(hc: Hc) -> None:
    refused(hc("correlate", "--summary", "--from", "2026-11-22", "--to", "2026-11-16"),
            "--from", "--to")
    refused(hc("correlate", "--summary", "--from", "22/11/2026", "--to", "2026-11-30"),
            "--from", "YYYY-MM-DD")
    refused(hc("correlate"), code=2)
    refused(hc("exams", "show", "NO-SUCH-ACC"), "NO-SUCH-ACC")


def test_export_and_keys_commands(hc: Hc) -> None:
    hc.register()
    refused(hc("export", "--format", "xlsx-of-doom"), "xlsx-of-doom", "jsonl")
    existing = hc.file("k.key", "x")
    refused(hc("keys", "generate", "--file", existing), "exists")
    refused(hc("keys", "generate", "--file", "/nonexistent/dir/k.key"), "/nonexistent/dir")


def test_nothing_was_half_written(hc: Hc) -> None:
    """After a run of failures, the database holds exactly the good cases and verifies."""
    ref = hc.register()
    for data in ("[1]", "null", "{\"method\": \"x\"}"):
        hc("act", ref, "acknowledge", "--data", data)
    hc("attach", ref, hc.file("bad.bin", b"\x7fELF"))
    hc("register", hc.file("bad.json", b"[" * 10_000))
    verify = hc("audit", "verify")
    assert verify.exit_code == 0 and "ok: 2 events" in verify.output, (
        verify.output, hc("show", ref, "--history").output)


def test_an_unexpected_error_is_not_a_traceback(hc: Hc,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from hospital_complaints.services import service as service_module

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise KeyError("boom")

    monkeypatch.setattr(service_module.ComplaintService, "list_cases", broken)
    out = refused(hc("list"), "internal error (KeyError)", "HC_DEBUG", code=2)
    assert "boom" not in out


CATALOGUE: list[Callable[..., Any]] = [
    test_bad_complaint_files, test_register_options_and_paths, test_bad_command_data,
    test_commands_only_the_service_issues_are_refused_by_every_door, test_bad_settings,
    test_bad_database_urls, test_exam_imports_as_hospitals_have_them,
]
