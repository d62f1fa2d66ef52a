"""Built-in plugin: the deadline policies of :mod:`hospital_complaints.sla.profiles`
(entry point ``sla_profiles``; block it with ``HC_DISABLE_PLUGINS=sla_profiles``)."""

from __future__ import annotations

from collections.abc import Callable

from ...sla.policy import SlaPolicy
from ...sla.profiles import builtin_policies
from .. import hookimpl


@hookimpl
def hc_register_sla_policies(register: Callable[[SlaPolicy], None]) -> None:
    for policy in builtin_policies():
        register(policy)
