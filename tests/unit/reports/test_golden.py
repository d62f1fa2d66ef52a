"""Golden test: the demo's month, every number of every table, as JSON.

Set HC_UPDATE_GOLDEN=1 to rewrite the file after a deliberate change, and read the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

GOLDEN = Path(__file__).with_name("golden") / "demo-monthly-2026-11.json"


def test_the_demo_month_matches_the_golden_file(demo_report):
    data = demo_report.to_json()
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if os.environ.get("HC_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert json.loads(GOLDEN.read_text(encoding="utf-8")) == json.loads(text)


def test_the_demo_month_in_words(demo_report):
    """The numbers a reader checks first, by hand from the demo's story."""
    flow = {r[0]: r[1] for r in demo_report.table("flow").rows}
    assert flow["新受理 new"] == 7  # the 12345 call merged into the CT case is a case too
    assert flow["月末在办 open at month end"] == 1
    outcomes = {r[0]: r[1] for r in demo_report.table("outcomes").rows}
    assert outcomes["部分成立 partly upheld"] == 1
    assert outcomes["并单（并入他案办理） merged into another case"] == 1  # the 12345 call
    assert outcomes["无结果 no outcome"] == 0
    assert outcomes["投诉人撤回 withdrawn by the complainant"] == 1
    assert outcomes["转交其他机构 referred to another body"] == 1
    overdue = demo_report.table("overdue").rows
    assert [(r[0], r[2]) for r in overdue] == [("纪检监察室 discipline-inspection office",
                                                 "答复 respond")]
    faults = {r[0]: r for r in demo_report.table("faults").rows}
    assert faults["F-17"][7] == "达标 met" and faults["F-18"][7] == "未达标 missed"
