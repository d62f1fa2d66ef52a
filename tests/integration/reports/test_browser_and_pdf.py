"""The HTML report in a real browser (headless Chromium through playwright-core, network
off): no console error, no request, every chart drawn with a size, the page's numbers equal
the JSON's; and the PDF printed by Chromium with a CJK font embedded."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from support import require_peer

JS = Path(__file__).resolve().parents[2] / "js"
CHROMIUM = os.environ.get("HC_CHROMIUM", "/usr/bin/chromium")


def _need_browser() -> None:
    if shutil.which("node") is None:
        require_peer("chromium", "node is not installed")
    if not (JS / "node_modules" / "playwright-core").is_dir():
        require_peer("chromium", f"npm packages missing: run `npm ci --prefix {JS}`")
    if not Path(CHROMIUM).exists():
        require_peer("chromium", f"{CHROMIUM} not found (apt-get install chromium)")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("HC_ARTIFACT_DIR") or tmp_path_factory.mktemp("artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def page(demo_app, demo_report, artifacts) -> dict:
    _need_browser()
    html = demo_app.reports.write(demo_report, "html", artifacts / "monthly-2026-11.html")
    shot = artifacts / "monthly-2026-11.png"
    done = subprocess.run(["node", str(JS / "check_report.mjs"), str(html), str(shot)],
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, "HC_CHROMIUM": CHROMIUM})
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 50_000  # kept as the test's artifact
    print(f"screenshot: {shot}")
    result: dict = json.loads(done.stdout)
    return result


@pytest.mark.peer("chromium")
def test_the_page_opens_offline_without_errors(page):
    assert page["console_errors"] == [] and page["page_errors"] == []
    assert page["requests"] == []


@pytest.mark.peer("chromium")
def test_every_chart_is_present_and_sized(page, demo_report):
    drawn = {c["id"]: c for c in page["charts"]}
    expected = {c.id for c in demo_report.charts()
                if any(t.chart is c and t.rows for t in demo_report.tables())
                or any(c in s.charts for s in demo_report.sections)}
    assert expected <= set(drawn)
    for chart in drawn.values():
        assert chart["width"] > 300 and chart["height"] > 80 and chart["marks"] > 0, chart


@pytest.mark.peer("chromium")
def test_the_numbers_on_the_page_equal_the_json(page, demo_report):
    data = demo_report.to_json()
    for section in data["sections"]:
        for table in section["tables"]:
            rows = page["tables"][table["id"]]
            assert len(rows) == len(table["rows"]), table["id"]
            cols = table["columns"]
            for shown, row in zip(rows, table["rows"], strict=True):
                trend = [v for c, v in zip(cols, row, strict=True) if c["group"] == "trend"]
                for c, v in zip(cols, row, strict=True):
                    if c["group"] == "trend":
                        continue
                    got = shown[c["key"]]["value"]
                    if isinstance(v, float):
                        assert got == pytest.approx(v, abs=1e-6), (table["id"], c["key"])
                    else:
                        assert got == v, (table["id"], c["key"])
                if trend:
                    assert shown["trend"] == pytest.approx(
                        [None if v is None else float(v) for v in trend], abs=1e-6)
                    assert shown["trend_box"] > 50


@pytest.mark.peer("chromium")
def test_the_pdf_is_printed_with_a_cjk_font(demo_app, demo_report, artifacts):
    _need_browser()
    pdf = demo_app.reports.write(demo_report, "pdf", artifacts / "monthly-2026-11.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 50_000
    fonts = {f.decode() for f in re.findall(rb"/BaseFont\s*/([A-Za-z0-9+\-]+)", data)}
    assert any(re.search(r"WenQuanYi|Noto.*CJK|SourceHan", f) for f in fonts), fonts


def test_pdf_without_chromium_says_what_to_install(demo_report, tmp_path):
    from hospital_complaints import ConfigError
    from hospital_complaints.reports.render import write_report

    with pytest.raises(ConfigError) as err:
        write_report(demo_report, "pdf", tmp_path / "r.pdf", chromium="no-such-chromium")
    assert "HC_REPORT_CHROMIUM" in str(err.value)
    assert list(tmp_path.iterdir()) == []
