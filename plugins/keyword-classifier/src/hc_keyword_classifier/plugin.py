"""The plugin module: what the entry point ``keyword_classifier`` loads.

Only hook implementations live here, as module-level functions marked with ``hookimpl``;
nothing is read or compiled at import time. The keyword table (and ``HC_KEYWORDS_FILE``) is
read on the first call.

Complaint text is personal health data: nothing here logs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hospital_complaints.plugin_api import hookimpl

if TYPE_CHECKING:
    from hospital_complaints.plugin_api import CategorySuggestion, Complaint, PluginSettings


@hookimpl
def hc_register_settings(register: Callable[[PluginSettings], None]) -> None:
    from .table import DECLARATION

    register(DECLARATION)


@hookimpl
def hc_suggest_categories(complaint: Complaint, app: Any) -> list[CategorySuggestion] | None:
    """Suggest categories from keywords in the subject, description and demands.

    Returns the suggestions, highest confidence first, or ``None`` when no keyword matched.
    """
    from .table import DECLARATION, KeywordSettings, current_classifier

    parts = (complaint.subject, complaint.description, complaint.demands)
    text = "\n".join(part for part in parts if part)
    if app is None:  # called without an application (a bare plugin manager)
        classifier = current_classifier()
    else:
        config = app.plugin_config(DECLARATION.id)
        if not isinstance(config, KeywordSettings):
            config = KeywordSettings.model_validate(config)
        classifier = current_classifier(config.keywords_file, configured=False)
    return classifier.classify(text) or None
