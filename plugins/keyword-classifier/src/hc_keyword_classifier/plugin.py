"""The plugin module: what the entry point ``keyword_classifier`` loads.

Only hook implementations live here, as module-level functions marked with ``hookimpl``;
nothing is read or compiled at import time. The keyword table (and ``HC_KEYWORDS_FILE``) is
read on the first call.

Complaint text is personal health data: nothing here logs it.
"""

from __future__ import annotations

from hospital_complaints.domain.complaint import CategorySuggestion, Complaint
from hospital_complaints.plugins import hookimpl

from .table import current_classifier


@hookimpl
def hc_suggest_categories(complaint: Complaint) -> list[CategorySuggestion] | None:
    """Suggest categories from keywords in the subject, description and demands.

    Returns the suggestions, highest confidence first, or ``None`` when no keyword matched.
    """
    parts = (complaint.subject, complaint.description, complaint.demands)
    text = "\n".join(part for part in parts if part)
    return current_classifier().classify(text) or None
