"""The source folders of an earlier git revision, for benchmarks that time today's code
beside it (``--git-rev REV``): ``bench_cli_startup``, ``bench_hl7``, ``bench_intake``."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def export_rev(rev: str, parts: tuple[str, ...], into: Path) -> list[Path]:
    """``parts`` (folders of the repository) as of ``rev``, unpacked under ``into``
    (``git archive``): their paths, in the order given, e.g. for PYTHONPATH."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", rev, *parts], check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return [into / part for part in parts]
