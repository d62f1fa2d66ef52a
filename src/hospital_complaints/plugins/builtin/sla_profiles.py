"""Built-in plugin: the deadline policies of :mod:`hospital_complaints.sla.profiles`
(entry point ``sla_profiles``; block it with ``HC_DISABLE_PLUGINS=sla_profiles``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import hookimpl

if TYPE_CHECKING:
    from ...sla.policy import SlaPolicy


@hookimpl
def hc_register_sla_policies(register: Callable[[SlaPolicy], None]) -> None:
    from ...sla.profiles import builtin_policies

    for policy in builtin_policies():
        register(policy)
