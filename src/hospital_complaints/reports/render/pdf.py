"""PDF: the HTML page printed by headless Chromium (Debian ``chromium``).

Chromium runs with an empty profile in a temporary folder, no sandbox (it runs as a
service user), and with its background network features off; the page itself forbids any
fetch (its Content-Security-Policy), so printing needs no network. Chinese text needs a CJK
font on the machine (Debian ``fonts-wqy-microhei`` or ``fonts-noto-cjk``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ...errors import ConfigError
from ..build.model import Report
from .html import report_html

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-default-apps", "--disable-extensions", "--mute-audio",
    "--disable-features=OptimizationGuideModelDownloading,OptimizationHintsFetching,"
    "OptimizationTargetPrediction,OptimizationHints,NetworkTimeServiceQuerying",
    "--component-updater=url-source=http://127.0.0.1:9/", "--no-pdf-header-footer",
)
TIMEOUT_S = 120


def find_chromium(configured: str | None) -> str:
    """The Chromium to print with: ``HC_REPORT_CHROMIUM``, else the first on ``PATH``."""
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise ConfigError(
                f"HC_REPORT_CHROMIUM: {configured!r} is not an executable program",
                f"HC_REPORT_CHROMIUM：{configured!r} 不是可执行程序")
        return found
    for name in CANDIDATES:
        found = shutil.which(name)
        if found is not None:
            return found
    raise ConfigError(
        "PDF reports are printed by headless Chromium, which is not installed: install it "
        "(Debian: apt-get install chromium fonts-wqy-microhei) or set HC_REPORT_CHROMIUM to "
        "its path; the html format needs nothing",
        "PDF 报表由无界面 Chromium 打印，但未安装：请安装（Debian：apt-get install chromium "
        "fonts-wqy-microhei）或设置 HC_REPORT_CHROMIUM；html 格式无需任何依赖")


def write_pdf(report: Report, path: Path, *, chromium: str | None = None) -> None:
    program = find_chromium(chromium)
    with tempfile.TemporaryDirectory(prefix="hc-report-") as tmp:
        folder = Path(tmp)
        page = folder / "report.html"
        page.write_text(report_html(report), encoding="utf-8")
        out = folder / "report.pdf"
        profile = folder / "profile"
        profile.mkdir()
        try:
            done = subprocess.run(
                [program, *FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={out}",
                 page.as_uri()], capture_output=True, timeout=TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise ConfigError(f"Chromium ({program}) did not print the PDF within "
                              f"{TIMEOUT_S} s", f"Chromium（{program}）未能在 {TIMEOUT_S} 秒内"
                              "打印 PDF") from None
        if not out.is_file() or out.stat().st_size == 0 or \
                out.read_bytes()[:5] != b"%PDF-":
            last = (done.stderr or b"").decode("utf-8", "replace").strip().splitlines()[-1:]
            raise ConfigError(
                f"Chromium ({program}) did not write a PDF (exit status {done.returncode}"
                f"{': ' + last[0][:200] if last else ''})",
                f"Chromium（{program}）未生成 PDF（退出码 {done.returncode}）")
        shutil.copyfile(out, path)
