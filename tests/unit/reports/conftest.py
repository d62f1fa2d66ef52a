"""Fixtures of the report tests: applications with the built-in reports, in memory and on
SQLite, and the random scenario (``scenario.py``, loaded by path)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest
from support import NOW

from hospital_complaints import FixedClock, HCPluginManager, Settings
from hospital_complaints.app import App, bootstrap
from hospital_complaints.plugins.builtin import (
    default_exporters,
    default_intake,
    default_reports,
    default_routing,
    sla_profiles,
)
from hospital_complaints.reports.build import Report
from hospital_complaints.settings import DatabaseSettings

HERE = Path(__file__).resolve().parent


def load_scenario() -> ModuleType:
    name = "hc_report_test_scenario"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / "scenario.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def report_plugins() -> HCPluginManager:
    """The core's built-ins with the reports, nothing else installed."""
    pm = HCPluginManager()
    for module, name in ((default_intake, "default_intake"), (default_routing, "default_routing"),
                         (default_exporters, "default_exporters"),
                         (sla_profiles, "sla_profiles"), (default_reports, "default_reports")):
        pm.register(module, name=name)
    return pm


def make_app(url: str, clock: FixedClock, **settings: object) -> App:
    return bootstrap(Settings(database=DatabaseSettings(url=url), **settings),  # type: ignore[arg-type]
                     clock=clock, plugins=report_plugins())


@pytest.fixture
def new_app() -> Callable[..., App]:
    """``new_app(url, clock, **settings)``: another application with the reports."""
    return make_app


@pytest.fixture
def new_plugins() -> Callable[[], HCPluginManager]:
    return report_plugins


@pytest.fixture
def scenario() -> ModuleType:
    return load_scenario()


@pytest.fixture
def rclock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def mem_app(rclock: FixedClock) -> App:
    return make_app("memory://", rclock)


@pytest.fixture
def sql_app(tmp_path: Path, rclock: FixedClock) -> Iterator[App]:
    app = make_app(f"sqlite:///{tmp_path / 'reports.db'}", rclock)
    yield app
    app.close()


DEMO_NOW = datetime(2026, 12, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="session")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The demo's week (cases, exams, faults, roster) on SQLite, seen on 3 December 2026."""
    from hospital_complaints.demo.scenario import WEEK_START, demo_imaging, run_scenario

    clock = FixedClock(WEEK_START)
    app = make_app(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}", clock)
    run_scenario(app.complaints, clock)
    exams, faults, shifts = demo_imaging()
    app.imaging.add_exams(exams)
    app.imaging.add_faults(faults)
    app.imaging.add_shifts(shifts)
    app.imaging.refresh_links()
    clock.set(DEMO_NOW)
    yield app
    app.close()


@pytest.fixture(scope="session")
def demo_report(demo_app: App) -> Report:
    return demo_app.reports.monthly("2026-11")
