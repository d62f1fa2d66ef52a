"""Signing for a work order (签收) with the time limit the order itself carried.

The platform prints a deadline (办理时限) and a time-limit class (时限等级) on each order.
The core records them when the order is signed (``sign_work_order`` ``due`` /
``time_limit_class``); the connector keeps them from the pull or the import until then, and
:func:`sign_fields` gives them to whoever signs (``hotline sign REF``, a HIS screen).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .store import store_for

if TYPE_CHECKING:
    from hospital_complaints.plugin_api import App, Event


def sign_fields(app: App, reference: str) -> dict[str, Any]:
    """``sign_work_order`` fields with the order's own deadline and class, if it had any."""
    rows = store_for(app).tickets_of(reference)
    fields: dict[str, Any] = {}
    if rows:
        row = rows[0]
        if row.due is not None:
            fields["due"] = row.due.isoformat()
        if row.time_limit_class:
            fields["time_limit_class"] = row.time_limit_class
    return fields


def sign(app: App, reference: str, *, actor: str, note: str | None = None) -> Event:
    fields = sign_fields(app, reference)
    if note:
        fields["note"] = note
    return app.complaints.execute(reference, ("sign_work_order", fields), actor=actor)
