"""Drawing a :class:`~..build.model.Report` in a format: HTML, PDF, XLSX, CSV, JSON.

Every writer writes to a temporary file beside the target and renames it at the end, so a
failed or interrupted run never leaves half a report under the target's name.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ...errors import FieldProblem, InvalidInput
from ..build.model import Report

FORMATS = ("html", "pdf", "xlsx", "csv", "json")


def _writer(fmt: str, chromium: str | None) -> Callable[[Report, Path], None]:
    if fmt == "html":
        from .html import write_html

        return write_html
    if fmt == "json":
        from .jsonout import write_json

        return write_json
    if fmt == "csv":
        from .csvout import write_csv

        return write_csv
    if fmt == "xlsx":
        from .xlsx import write_xlsx

        return write_xlsx
    if fmt == "pdf":
        from .pdf import write_pdf

        return lambda report, path: write_pdf(report, path, chromium=chromium)
    raise InvalidInput("report format", [FieldProblem("format", fmt,
                                                      f"one of: {', '.join(FORMATS)}")],
                       [f"  - format：不支持的格式 {fmt!r}；可选：{', '.join(FORMATS)}"])


def write_report(report: Report, fmt: str, out: Path, *, chromium: str | None = None) -> Path:
    """Write ``report`` as ``fmt`` to ``out`` (all of it, or nothing under that name)."""
    write = _writer(fmt.lower(), chromium)
    out = Path(out)
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidInput("report output", [FieldProblem(
            "OUT", str(out), "a file in an existing folder")],
            [f"  - OUT：目录 {folder} 不存在"])
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(report, tmp)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)  # a report holds no personal data: the usual permissions
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
