"""Every public name of a package whose names are imported on first use resolves, in a
fresh interpreter per package (a name must not resolve only because a test elsewhere
imported its module first), and dir() lists them."""

from __future__ import annotations

import subprocess
import sys

import pytest

PACKAGES = ["hospital_complaints", "hospital_complaints.plugin_api",
            "hospital_complaints.services", "hospital_complaints.reports.build",
            "hospital_complaints.settings", "hc_dicom", "hc_fhir", "hc_hl7v2", "hc_hotline",
            "hc_keyword_classifier", "hc_notify"]

CHECK = """
import importlib, sys
name = sys.argv[1]
module = importlib.import_module(name)
missing = []
for public in module.__all__:
    try:
        getattr(module, public)
    except Exception as exc:
        missing.append(f"{public}: {type(exc).__name__}: {exc}")
assert set(module.__all__) <= set(dir(module)), "dir() lists every public name"
print("\\n".join(missing))
"""


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves_in_a_fresh_interpreter(package: str) -> None:
    done = subprocess.run([sys.executable, "-c", CHECK, package], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "", done.stdout
