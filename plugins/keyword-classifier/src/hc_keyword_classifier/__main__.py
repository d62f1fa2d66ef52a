"""Check a keyword file, or try the classifier on a text, before a site relies on it.

    python -m hc_keyword_classifier check [FILE]     # default: the file in HC_KEYWORDS_FILE
    python -m hc_keyword_classifier classify TEXT    # with the configured table

Exit status 0 when the file is usable, 2 (and the problems on stderr) when it is not.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hospital_complaints.plugin_api import ConfigError, label

from .matcher import KeywordClassifier
from .table import KEYWORDS_FILE_ENV, configured_table, current_classifier, read_keyword_file


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hc_keyword_classifier",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a keyword file and show the table size")
    check.add_argument("file", nargs="?", help=f"keyword file (default: ${KEYWORDS_FILE_ENV})")
    classify = commands.add_parser("classify", help="show the suggestions for a text")
    classify.add_argument("text")
    args = parser.parse_args(argv)

    try:
        if args.command == "check":
            table = read_keyword_file(args.file) if args.file else configured_table()
            for category, words in table.items():
                print(f"{category.value:<20} {len(words):>4}  {label(category)}")
            print(f"{'total':<20} {len(KeywordClassifier(table)):>4}  distinct keywords")
        else:
            for s in current_classifier().classify(args.text):
                print(f"{s.category.value:<20} {s.confidence:.3f}  {', '.join(s.matched)}")
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
