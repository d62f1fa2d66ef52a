"""Shared fixtures. Fakes here are real classes (FixedClock, InMemoryStore), never mocks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support import NOW

from hospital_complaints import FixedClock, HCPluginManager, Settings, build_service
from hospital_complaints.app import App, bootstrap
from hospital_complaints.plugins.builtin import (
    default_exporters,
    default_intake,
    default_routing,
    sla_profiles,
)
from hospital_complaints.services.service import ComplaintService
from hospital_complaints.settings import DatabaseSettings


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def builtin_plugins(*, trace: bool = False) -> HCPluginManager:
    """Only the core's own built-ins, so unit tests do not depend on what else is installed."""
    pm = HCPluginManager(trace=trace)
    for module, name in ((default_intake, "default_intake"), (default_routing, "default_routing"),
                         (default_exporters, "default_exporters"),
                         (sla_profiles, "sla_profiles")):
        pm.register(module, name=name)
    return pm


@pytest.fixture
def plugins() -> HCPluginManager:
    return builtin_plugins()


@pytest.fixture
def service(clock: FixedClock, plugins: HCPluginManager) -> ComplaintService:
    return build_service(Settings(), clock=clock, plugins=plugins)


@pytest.fixture
def service_factory(clock: FixedClock) -> Callable[..., ComplaintService]:
    """Another in-memory service with the built-ins (``trace=True`` traces hook calls)."""

    def make(*, trace: bool = False) -> ComplaintService:
        return build_service(Settings(), clock=clock, plugins=builtin_plugins(trace=trace))

    return make


@pytest.fixture
def app(clock: FixedClock, plugins: HCPluginManager) -> App:
    """An in-memory application (``memory://``) with the core's built-in plugins."""
    return bootstrap(Settings(database=DatabaseSettings(url="memory://")), clock=clock,
                     plugins=plugins)
