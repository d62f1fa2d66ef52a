"""The public pages in a real browser: headless Chromium (Debian's, driven by playwright-core)
on a phone-sized viewport submits a complaint and opens the status link; axe-core finds no
serious accessibility violation; nothing is fetched from anywhere but the server; a stored
subject such as ``<script>alert(1)</script>`` or ``[/bold]`` shows as text."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support import require_peer

JS = Path(__file__).resolve().parents[1] / "js"
CHROMIUM = "/usr/bin/chromium"
SUBJECT = "<script>alert(1)</script> [/bold] 等待太久"

pytestmark = [pytest.mark.peer("chromium"), pytest.mark.slow]


def _browse(base: str, lang: str, home: Path) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        require_peer("chromium", f"{CHROMIUM} is missing (apt-get install -y chromium)")
    if shutil.which("node") is None or not (JS / "node_modules" / "playwright-core").is_dir() \
            or not (JS / "node_modules" / "axe-core").is_dir():
        require_peer("playwright-core", f"npm packages missing: run `npm ci --prefix {JS}`")
    done = subprocess.run(
        ["node", str(JS / "browser.mjs"), json.dumps({
            "base": base, "lang": lang, "subject": SUBJECT,
            "message": "预约 8:30，10:33 才开始检查，没有人解释原因。"})],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(home)})
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_patient_submits_on_a_phone_and_follows_the_status_link(service: Any,
                                                                   officer: dict[str, str],
                                                                   lang: str,
                                                                   tmp_path: Path) -> None:
    result = _browse(service.url, lang, tmp_path)
    for page in ("form", "receipt", "status"):
        serious = [v for v in result["pages"][page] if v["impact"] in ("serious", "critical")]
        assert not serious, (page, serious)
        assert result["overflow"][page] is False, f"{page} is wider than the phone"
    assert result["external"] == []  # works with no network beyond the server
    assert result["dialogs"] == []  # the stored <script> never ran
    assert result["status_subject"] == SUBJECT  # shown as the characters typed
    assert result["status_html_has_script_tag"] is False
    assert result["status_state"] == ("已登记" if lang == "zh" else "registered")
    ref = result["reference"]
    case = service.client.get(f"/v1/cases/{ref}", headers=officer).json()
    assert case["complaint"]["subject"] == SUBJECT
    assert case["summary"]["channel"] == "web_form"
