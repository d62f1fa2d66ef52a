"""The report integration tests share the unit tests' fixtures (the demo's month on SQLite,
the random scenario), loaded by path from tests/unit/reports/conftest.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "unit" / "reports" / "conftest.py"
_NAME = "hc_report_unit_conftest"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_NAME, _PATH)
    assert _spec is not None and _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[_NAME] = _module
    _spec.loader.exec_module(_module)
_unit = sys.modules[_NAME]

demo_app = _unit.demo_app
demo_report = _unit.demo_report
scenario = _unit.scenario
new_app = _unit.new_app
rclock = _unit.rclock
make_app = _unit.make_app
new_plugins = _unit.new_plugins
