"""``python -m hc_fhir terminology [FOLDER]``: regenerate schemas/fhir/."""

from __future__ import annotations

import sys
from pathlib import Path

from .terminology import write_terminology


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "terminology":
        print("usage: python -m hc_fhir terminology [FOLDER]", file=sys.stderr)
        return 2
    for path in write_terminology(Path(argv[1] if len(argv) > 1 else "schemas/fhir")):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
